"""drive/v1 file comments: list a document's comments, add a whole-document comment.

`GET /drive/v1/files/{file_token}/comments` takes `file_type` (required: doc, docx, sheet,
file, slides), optional `is_whole`, `is_solved`, `page_size` (max 100), `page_token`,
`user_id_type`, and answers `items` of comments with their `reply_list`. `POST` on the same
path (`file_type` doc or docx) takes `reply_list.replies[0].content.elements` and answers the
new comment. Lark offers no idempotency key for it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .errors import LarkError, field_error, user_id_type
from .paging import paginate
from .routing import Call, Endpoint

if TYPE_CHECKING:
    from .fake import FakeLark

FILE_NOT_FOUND = 1069307  # "file not exist"


def _document(fake: FakeLark, call: Call, types: tuple[str, ...]) -> str:
    file_type = call.query.get("file_type")
    if file_type not in types:
        raise field_error("file_type", f"file_type must be one of {', '.join(types)}")
    token = call.params["file_token"]
    if token not in fake.documents:
        raise LarkError(FILE_NOT_FOUND, "file not exist", status=404)
    return token


def _flag(call: Call, name: str) -> bool | None:
    raw = call.query.get(name)
    if raw in (None, ""):
        return None
    if raw not in ("true", "false"):
        raise field_error(name, f"{name} must be true or false")
    return raw == "true"


async def list_comments(fake: FakeLark, call: Call) -> dict[str, Any]:
    token = _document(fake, call, ("doc", "docx", "sheet", "file", "slides"))
    user_id_type(call.query)
    solved, whole = _flag(call, "is_solved"), _flag(call, "is_whole")
    items = [
        c
        for c in fake.comments.get(token, [])
        if (solved is None or c["is_solved"] == solved)
        and (whole is None or c["is_whole"] == whole)
    ]
    page, more, next_token = paginate(items, call.query, scope=f"comments:{token}", maximum=100)
    return {"items": page, "has_more": more, "page_token": next_token}


async def create_comment(fake: FakeLark, call: Call) -> dict[str, Any]:
    token = _document(fake, call, ("doc", "docx"))
    user_id_type(call.query)
    replies = (call.body.get("reply_list") or {}).get("replies")
    if not isinstance(replies, list) or not replies or not isinstance(replies[0], dict):
        raise field_error("reply_list.replies", "reply_list.replies is required")
    elements = (replies[0].get("content") or {}).get("elements")
    if not isinstance(elements, list) or not elements:
        raise field_error("reply_list.replies.content.elements", "elements is required")
    for element in elements:
        kind = element.get("type") if isinstance(element, dict) else None
        if kind not in ("text_run", "docs_link", "person") or not isinstance(
            element.get(kind), dict
        ):
            raise field_error("elements.type", "type must be text_run, docs_link or person")
    now = int(time.time())
    author = call.user or "ou_bot_fake"
    comment = {
        "comment_id": fake.new_id("69161068227", 8),
        "user_id": author,
        "create_time": now,
        "update_time": now,
        "is_solved": False,
        "is_whole": True,
        "has_more": False,
        "reply_list": {
            "replies": [
                {
                    "reply_id": fake.new_id("69161068228", 8),
                    "user_id": author,
                    "create_time": now,
                    "update_time": now,
                    "content": {"elements": elements},
                }
            ]
        },
    }
    fake.comments.setdefault(token, []).append(comment)
    fake.record_write("comment", {"document": token, **comment})
    return comment


def endpoints() -> list[Endpoint]:
    path = "/open-apis/drive/v1/files/{file_token}/comments"
    return [Endpoint("GET", path, list_comments), Endpoint("POST", path, create_comment)]
