"""Comments on docx documents: read them with their replies, add a whole-document comment.

Lark keeps comments in Drive (`drive/v1/files/{token}/comments?file_type=docx`); a comment is a
thread whose first reply is the comment itself and the rest are the answers to it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from .docs import DocumentArg, resolve_document
from .formatting import PageToken, iso_from_unix, page, page_size_arg
from .lark_client import LarkCall
from .paths import DOCUMENT_FILE
from .registry import ToolSet

TOOLS = ToolSet()

COMMENTS = "/open-apis/drive/v1/files/{file_token}/comments"


def _text(reply: dict[str, Any]) -> str:
    """A reply's elements as text: text runs, @mentions as their open_id, links as URLs."""
    parts = []
    for element in (reply.get("content") or {}).get("elements") or []:
        kind = element.get("type")
        if kind == "text_run":
            parts.append(str((element.get("text_run") or {}).get("text") or ""))
        elif kind == "person":
            parts.append("@" + str((element.get("person") or {}).get("user_id") or ""))
        elif kind == "docs_link":
            parts.append(str((element.get("docs_link") or {}).get("url") or ""))
    return "".join(parts)


def _reply(reply: dict[str, Any]) -> dict[str, Any]:
    return {
        "by": reply.get("user_id"),
        "time": iso_from_unix(reply.get("create_time"), None),
        "text": _text(reply),
    }


def _comment(item: dict[str, Any]) -> dict[str, Any]:
    replies = [_reply(r) for r in (item.get("reply_list") or {}).get("replies") or []]
    first = replies.pop(0) if replies else {}
    return {
        "comment_id": item.get("comment_id"),
        **first,
        "quote": item.get("quote"),
        "solved": item.get("is_solved") or None,
        "replies": replies,
        "more_replies": item.get("has_more") or None,
    }


@TOOLS.tool(
    title="List document comments",
    description="Read the comments on a docx document (by id or docx/wiki URL), each with its "
    "replies.",
    read_only=True,
)
async def list_document_comments(
    lark: LarkCall,
    document: DocumentArg,
    solved: Annotated[
        bool | None, Field(description="true: only resolved; false: only open; omit: all.")
    ] = None,
    page_size: page_size_arg(20, 100) = 20,
    page_token: PageToken = None,
) -> dict[str, Any]:
    document_id, _ = await resolve_document(lark, document)
    data = await lark.get(
        COMMENTS,
        DOCUMENT_FILE.segment("document", document_id),
        params={
            "file_type": "docx",
            "is_solved": None if solved is None else str(solved).lower(),
            "user_id_type": "open_id",
            "page_size": page_size,
            "page_token": page_token,
        },
    )
    comments = [_comment(item) for item in data.get("items") or [] if isinstance(item, dict)]
    return page({"comments": comments}, data)


@TOOLS.tool(
    title="Add document comment",
    description="Comment on a whole docx document (by id or docx/wiki URL).",
    read_only=False,
)
async def add_document_comment(
    lark: LarkCall,
    document: DocumentArg,
    text: Annotated[str, Field(min_length=1, max_length=10000, description="Comment text.")],
) -> dict[str, Any]:
    document_id, _ = await resolve_document(lark, document)
    # Lark takes no idempotency key for a comment: the client does not resend it after an
    # ambiguous failure, so a flaky network can fail this call but never comment twice.
    data = await lark.post(
        COMMENTS,
        DOCUMENT_FILE.segment("document", document_id),
        params={"file_type": "docx", "user_id_type": "open_id"},
        json={
            "reply_list": {
                "replies": [
                    {"content": {"elements": [{"type": "text_run", "text_run": {"text": text}}]}}
                ]
            }
        },
    )
    return {"comment_id": data.get("comment_id"), "time": iso_from_unix(data.get("create_time"))}
