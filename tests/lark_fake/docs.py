"""docx/v1 documents and blocks, wiki/v2 spaces and nodes, drive/v1 folder listings."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .errors import LarkError, field_error
from .paging import paginate
from .routing import Call, Endpoint
from .seed import BLOCK_KEYS

if TYPE_CHECKING:
    from .fake import FakeLark

DOCX_INVALID = 1770001  # "invalid param"
DOCX_NOT_FOUND = 1770002  # "not found"
WIKI_NOT_FOUND = 131005  # "not found"
DRIVE_NOT_FOUND = 1061003  # "not found."
DIVIDER = 22


def _document(fake: FakeLark, document_id: str) -> dict[str, Any]:
    doc = fake.documents.get(document_id)
    if doc is None:
        raise LarkError(DOCX_NOT_FOUND, "not found", status=404)
    return doc


def _summary(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "document_id": doc["document_id"],
        "revision_id": doc["revision_id"],
        "title": doc["title"],
    }


def block_text(block: dict[str, Any]) -> str:
    """The plain text raw_content shows for a block (text runs, mentions, equations)."""
    key = BLOCK_KEYS.get(block["block_type"])
    if key is None:
        return ""
    parts = []
    for element in block[key].get("elements", []):
        if "text_run" in element:
            parts.append(element["text_run"].get("content", ""))
        elif "mention_user" in element:
            parts.append("@" + element["mention_user"].get("user_id", ""))
        elif "mention_doc" in element:
            parts.append(
                element["mention_doc"].get("title", element["mention_doc"].get("token", ""))
            )
        elif "equation" in element:
            parts.append(element["equation"].get("content", ""))
    return "".join(parts)


def raw_content(doc: dict[str, Any]) -> str:
    """Title line, then one line per block in document order (what Lark's raw_content returns)."""
    lines = [doc["title"], *(block_text(b) for b in doc["blocks"] if b["block_type"] != DIVIDER)]
    return "\n".join(lines) + "\n"


async def create_document(fake: FakeLark, call: Call) -> dict[str, Any]:
    title = call.body.get("title", "")
    if not isinstance(title, str) or len(title) > 800:
        raise field_error("title", "title must be a string of at most 800 characters")
    folder = call.body.get("folder_token") or ""
    if not isinstance(folder, str):
        raise field_error("folder_token", "folder_token must be a string")
    if folder and folder not in fake.drive_files:
        raise LarkError(DOCX_NOT_FOUND, f"not found: folder_token {folder}", status=404)
    doc = {
        "document_id": fake.new_id("doxcnC", 16),
        "title": title,
        "revision_id": 1,
        "blocks": [],
        "folder_token": folder,
    }
    fake.documents[doc["document_id"]] = doc
    now = str(int(time.time()))
    parent = folder or fake.root_folder_token
    fake.drive_files[parent].append(
        {
            "token": doc["document_id"],
            "name": title or "Untitled",
            "type": "docx",
            "parent_token": parent,
            "url": f"https://example.feishu.cn/docx/{doc['document_id']}",
            "created_time": now,
            "modified_time": now,
            "owner_id": fake.app_id,
        }
    )
    fake.record_write("document", doc)
    return {"document": _summary(doc)}


async def get_document(fake: FakeLark, call: Call) -> dict[str, Any]:
    return {"document": _summary(_document(fake, call.params["document_id"]))}


async def get_raw_content(fake: FakeLark, call: Call) -> dict[str, Any]:
    return {"content": raw_content(_document(fake, call.params["document_id"]))}


async def list_blocks(fake: FakeLark, call: Call) -> dict[str, Any]:
    doc = _document(fake, call.params["document_id"])
    page_block = {
        "block_id": doc["document_id"],
        "parent_id": "",
        "block_type": 1,
        "page": {"elements": [{"text_run": {"content": doc["title"]}}], "style": {}},
        "children": [b["block_id"] for b in doc["blocks"] if b["parent_id"] == doc["document_id"]],
    }
    items = [page_block, *doc["blocks"]]
    page, has_more, token = paginate(items, call.query, scope=f"blocks:{doc['document_id']}")
    return {"items": page, "page_token": token, "has_more": has_more}


def _validate_block(i: int, child: Any) -> tuple[int, str]:
    where = f"children[{i}]"
    if not isinstance(child, dict):
        raise field_error(where, "each child must be a block object")
    block_type = child.get("block_type")
    if not isinstance(block_type, int) or isinstance(block_type, bool):
        raise field_error(f"{where}.block_type", "block_type is required and must be an integer")
    if block_type == DIVIDER:
        return block_type, "divider"
    key = BLOCK_KEYS.get(block_type)
    if key is None:
        raise LarkError(
            DOCX_INVALID,
            f"invalid param: block_type {block_type} is not supported "
            "here (the fake knows text, heading1-9, bullet, ordered, code, quote, "
            "todo and divider)",
        )
    body = child.get(key)
    if not isinstance(body, dict) or not isinstance(body.get("elements"), list):
        raise LarkError(
            DOCX_INVALID,
            f'invalid param: block_type {block_type} needs "{key}": {{"elements": [...]}}',
        )
    for element in body["elements"]:
        if not isinstance(element, dict) or not element:
            raise LarkError(DOCX_INVALID, "invalid param: every element must be an object")
        run = element.get("text_run")
        if run is not None and not isinstance(run.get("content"), str):
            raise LarkError(DOCX_INVALID, "invalid param: text_run.content must be a string")
    return block_type, key


def _insert_position(doc: dict[str, Any], parent_id: str, index: int) -> int:
    blocks = doc["blocks"]
    siblings = [n for n, b in enumerate(blocks) if b["parent_id"] == parent_id]
    if index == -1 or index == len(siblings):
        # After the parent's last descendant.
        inside = {parent_id}
        pos = next((n + 1 for n, b in enumerate(blocks) if b["block_id"] == parent_id), 0)
        for n, b in enumerate(blocks):
            if b["parent_id"] in inside:
                inside.add(b["block_id"])
                pos = n + 1
        return pos
    return siblings[index]


async def create_children(fake: FakeLark, call: Call) -> dict[str, Any]:
    doc = _document(fake, call.params["document_id"])
    parent_id = call.params["block_id"]
    if parent_id != doc["document_id"] and not any(
        b["block_id"] == parent_id for b in doc["blocks"]
    ):
        raise LarkError(DOCX_NOT_FOUND, f"not found: block {parent_id}", status=404)
    revision = call.query.get("document_revision_id", "-1")
    if revision not in ("-1", str(doc["revision_id"])):
        raise LarkError(DOCX_INVALID, "invalid param: document_revision_id is not the latest")
    children = call.body.get("children")
    if not isinstance(children, list) or not 1 <= len(children) <= 50:
        raise field_error("children", "children must be a list of 1 to 50 blocks")
    index = call.body.get("index", -1)
    siblings = sum(1 for b in doc["blocks"] if b["parent_id"] == parent_id)
    if not isinstance(index, int) or isinstance(index, bool) or not -1 <= index <= siblings:
        raise LarkError(DOCX_INVALID, f"invalid param: index must be -1..{siblings}")
    client_token = call.query.get("client_token") or None
    if (hit := fake.remembered("block", client_token)) is not None:
        return hit
    made = []
    for i, child in enumerate(children):
        block_type, key = _validate_block(i, child)
        body = child.get(key) or {}
        block = {
            "block_id": fake.new_id("doxcnB", 16),
            "parent_id": parent_id,
            "block_type": block_type,
            key: {**body, "style": body.get("style", {})} if key != "divider" else {},
        }
        made.append(block)
    pos = _insert_position(doc, parent_id, index)
    doc["blocks"][pos:pos] = made
    doc["revision_id"] += 1
    for block in made:
        fake.record_write("block", {**block, "document_id": doc["document_id"]})
    data = {
        "children": made,
        "document_revision_id": doc["revision_id"],
        "client_token": client_token or "",
    }
    fake.remember("block", client_token, data)
    return data


# ------------------------------------------------------------------ wiki


def _public_node(node: dict[str, Any]) -> dict[str, Any]:
    return dict(node)


async def get_node(fake: FakeLark, call: Call) -> dict[str, Any]:
    token = call.query.get("token") or ""
    if not token:
        raise field_error("token", "token is required")
    obj_type = call.query.get("obj_type", "wiki")
    key = "node_token" if obj_type == "wiki" else "obj_token"
    for node in fake.wiki_nodes:
        if node[key] == token and (obj_type == "wiki" or node["obj_type"] == obj_type):
            return {"node": _public_node(node)}
    raise LarkError(WIKI_NOT_FOUND, "not found", status=404)


async def list_spaces(fake: FakeLark, call: Call) -> dict[str, Any]:
    page, has_more, token = paginate(fake.wiki_spaces, call.query, scope="spaces", maximum=50)
    return {"items": page, "page_token": token, "has_more": has_more}


def _space(fake: FakeLark, space_id: str) -> dict[str, Any]:
    for space in fake.wiki_spaces:
        if space["space_id"] == space_id:
            return space
    raise LarkError(WIKI_NOT_FOUND, "not found", status=404)


async def get_space(fake: FakeLark, call: Call) -> dict[str, Any]:
    return {"space": _space(fake, call.params["space_id"])}


async def list_nodes(fake: FakeLark, call: Call) -> dict[str, Any]:
    space = _space(fake, call.params["space_id"])
    parent = call.query.get("parent_node_token") or ""
    in_space = [n for n in fake.wiki_nodes if n["space_id"] == space["space_id"]]
    if parent and not any(n["node_token"] == parent for n in in_space):
        raise LarkError(WIKI_NOT_FOUND, "not found", status=404)
    nodes = [_public_node(n) for n in in_space if n["parent_node_token"] == parent]
    page, has_more, token = paginate(
        nodes, call.query, scope=f"nodes:{space['space_id']}:{parent}", maximum=50
    )
    return {"items": page, "page_token": token, "has_more": has_more}


# ------------------------------------------------------------------ drive


async def list_files(fake: FakeLark, call: Call) -> dict[str, Any]:
    folder = call.query.get("folder_token") or fake.root_folder_token
    files = fake.drive_files.get(folder)
    if files is None:
        raise LarkError(DRIVE_NOT_FOUND, "not found.", status=404)
    order = call.query.get("order_by", "EditedTime")
    if order not in ("EditedTime", "CreatedTime"):
        raise field_error("order_by", "order_by must be EditedTime or CreatedTime")
    direction = call.query.get("direction", "DESC")
    if direction not in ("ASC", "DESC"):
        raise field_error("direction", "direction must be ASC or DESC")
    key = "modified_time" if order == "EditedTime" else "created_time"
    ordered = sorted(files, key=lambda f: (int(f[key]), f["token"]), reverse=direction == "DESC")
    page, has_more, token = paginate(ordered, call.query, scope=f"files:{folder}", maximum=200)
    data: dict[str, Any] = {"files": page, "has_more": has_more}
    if has_more:
        data["next_page_token"] = token
    return data


def endpoints() -> list[Endpoint]:
    docx = "/open-apis/docx/v1/documents"
    wiki = "/open-apis/wiki/v2/spaces"
    return [
        Endpoint("POST", docx, create_document),
        Endpoint("GET", f"{docx}/{{document_id}}", get_document),
        Endpoint("GET", f"{docx}/{{document_id}}/raw_content", get_raw_content),
        Endpoint("GET", f"{docx}/{{document_id}}/blocks", list_blocks),
        Endpoint("POST", f"{docx}/{{document_id}}/blocks/{{block_id}}/children", create_children),
        Endpoint("GET", f"{wiki}/get_node", get_node),
        Endpoint("GET", wiki, list_spaces),
        Endpoint("GET", f"{wiki}/{{space_id}}", get_space),
        Endpoint("GET", f"{wiki}/{{space_id}}/nodes", list_nodes),
        Endpoint("GET", "/open-apis/drive/v1/files", list_files),
    ]
