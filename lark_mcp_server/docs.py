"""Documents (docx): create, read as plain text, append. Wiki links resolve to their docx."""

from __future__ import annotations

import re
from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from .lark_client import LarkCall
from .paths import BLOCK_ID, DOCUMENT_ID, FOLDER_TOKEN, WIKI_NODE_TOKEN, shown, split_url
from .registry import ToolSet
from .wiki import wiki_node

TOOLS = ToolSet()

MAX_CHILDREN = 50  # Lark's limit of blocks per "create children" request

DocumentArg = Annotated[
    str,
    Field(
        min_length=1,
        description="Document id, or its docx/wiki URL (https://<tenant>.feishu.cn/docx/<id>).",
    ),
]
_CONTENT = Field(
    min_length=1,
    max_length=100_000,
    description="Text to write, one paragraph per line. Lines starting with '# ', '## ' or "
    "'### ' become headings, '- ' bullets, '1. ' numbered items.",
)
ContentArg = Annotated[str, _CONTENT]

# docx block types: https://open.feishu.cn/document/docs/docs/data-structure/block
_PREFIXES: tuple[tuple[str, int, str], ...] = (
    ("### ", 5, "heading3"),
    ("## ", 4, "heading2"),
    ("# ", 3, "heading1"),
    ("- ", 12, "bullet"),
    ("* ", 12, "bullet"),
)
_ORDERED = re.compile(r"^\d+[.)] ")


def blocks_from_text(content: str) -> list[dict[str, Any]]:
    """Plain text with light markdown as docx blocks: one block per non-empty line."""
    blocks = []
    for raw in content.splitlines():
        line = raw.rstrip()
        if not line.strip():
            continue
        block_type, key, text = 2, "text", line
        for prefix, kind, name in _PREFIXES:
            if line.startswith(prefix):
                block_type, key, text = kind, name, line[len(prefix) :]
                break
        else:
            if _ORDERED.match(line):
                block_type, key, text = 13, "ordered", _ORDERED.sub("", line, count=1)
        blocks.append(
            {"block_type": block_type, key: {"elements": [{"text_run": {"content": text}}]}}
        )
    return blocks


async def resolve_document(lark: LarkCall, document: str) -> tuple[str, str | None]:
    """A document argument (id, docx URL or wiki URL) as (docx document_id, title if known)."""
    value = document.strip()
    if "://" not in value and "/" not in value:
        if not re.fullmatch(DOCUMENT_ID.pattern, value):
            raise ToolError(
                f"document {shown(value)} is neither a document id "
                f"({DOCUMENT_ID.shape}) nor a docx/wiki URL."
            )
        return value, None
    parts = [p for p in split_url("document", value).path.split("/") if p]
    for kind in ("docx", "docs", "wiki"):
        if kind in parts and parts.index(kind) + 1 < len(parts):
            token = parts[parts.index(kind) + 1]
            break
    else:
        raise ToolError(
            f"document URL {shown(value)} is not a docx or wiki link "
            "(expected .../docx/<id> or .../wiki/<token>)."
        )
    if kind != "wiki":
        return DOCUMENT_ID.check("document", token), None
    node = await wiki_node(lark, WIKI_NODE_TOKEN.check("document", token))
    if node.get("obj_type") not in (None, "docx"):
        raise ToolError(
            f"The wiki page {token} is a {node.get('obj_type')}, not a docx document; only docx "
            "documents can be read or written with these tools."
        )
    if not node.get("obj_token"):
        raise ToolError(f"Lark returned no document for the wiki page {token}.")
    return str(node["obj_token"]), node.get("title")


async def append_blocks(lark: LarkCall, document_id: str, blocks: list[dict[str, Any]]) -> int:
    """Append blocks at the end of the document body, 50 per request, each with its own key."""
    # The document's root block has the document's id.
    document, body = (
        DOCUMENT_ID.segment("document", document_id),
        BLOCK_ID.segment("document", document_id),
    )
    for start in range(0, len(blocks), MAX_CHILDREN):
        await lark.post(
            "/open-apis/docx/v1/documents/{document_id}/blocks/{block_id}/children",
            document,
            body,
            params={"document_revision_id": -1, "client_token": lark.new_key()},
            json={"children": blocks[start : start + MAX_CHILDREN], "index": -1},
            idempotent=True,
        )
    return len(blocks)


@TOOLS.tool(
    title="Create document",
    description="Create a Lark docx document, optionally with initial text; returns its id.",
    read_only=False,
)
async def create_document(
    lark: LarkCall,
    title: Annotated[str, Field(min_length=1, max_length=800, description="Document title.")],
    content: Annotated[str | None, _CONTENT] = None,
    folder_token: Annotated[
        str | None,
        Field(description="Drive folder to create it in; default: the app's own root folder."),
    ] = None,
) -> dict[str, Any]:
    blocks = blocks_from_text(content) if content else []
    folder = (folder_token or "").strip()
    folder_token = FOLDER_TOKEN.check("folder_token", folder) if folder else None
    # docx create takes no idempotency key: lark_client will not repeat it after an ambiguous
    # failure, so a flaky network can fail this call but never create two documents.
    data = await lark.post(
        "/open-apis/docx/v1/documents", json={"title": title, "folder_token": folder_token}
    )
    doc = data.get("document") or {}
    document_id = doc.get("document_id")
    if not document_id:
        raise ToolError("Lark created no document (no document_id in its answer).")
    added = await append_blocks(lark, document_id, blocks) if blocks else 0
    return {"document_id": document_id, "title": doc.get("title") or title, "blocks_added": added}


@TOOLS.tool(
    title="Get document",
    description="Read a docx document (by id or docx/wiki URL) as plain text.",
    read_only=True,
)
async def get_document(lark: LarkCall, document: DocumentArg) -> dict[str, Any]:
    document_id, title = await resolve_document(lark, document)
    data = await lark.get(
        "/open-apis/docx/v1/documents/{document_id}/raw_content",
        DOCUMENT_ID.segment("document", document_id),
    )
    return {"document_id": document_id, "title": title, "content": data.get("content") or ""}


@TOOLS.tool(
    title="Append to document",
    description="Add text at the end of a docx document (by id or docx/wiki URL).",
    read_only=False,
)
async def append_to_document(
    lark: LarkCall, document: DocumentArg, content: ContentArg
) -> dict[str, Any]:
    blocks = blocks_from_text(content)
    if not blocks:
        raise ToolError("content has no text to append (only blank lines).")
    document_id, _ = await resolve_document(lark, document)
    added = await append_blocks(lark, document_id, blocks)
    return {"document_id": document_id, "blocks_added": added}
