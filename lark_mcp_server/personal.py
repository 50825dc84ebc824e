"""Tools only a signed-in person can use: Lark serves these APIs to user tokens only.

`search_documents` searches the documents and wiki pages the person can open; `list_my_tasks`
lists the tasks they are responsible for. Through the bot they answer with a tool error that
points to the signed-in integration (`needs_user=True`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field

from .formatting import PageToken, iso_from_unix, page, page_size_arg
from .lark_client import LarkCall
from .registry import ToolSet
from .task import TASKS, _task

TOOLS = ToolSet()

_HIGHLIGHT = re.compile(r"</?em>")


def _plain(text: Any) -> str | None:
    """Lark marks search hits with <em>...</em>; the agent wants plain text."""
    if not isinstance(text, str):
        return None
    return _HIGHLIGHT.sub("", text).strip() or None


def _hit(unit: dict[str, Any]) -> dict[str, Any]:
    meta = unit.get("result_meta") or {}
    types = meta.get("doc_types")
    return {
        "title": _plain(unit.get("title_highlighted")) or _plain(meta.get("title")),
        "kind": str(unit.get("entity_type") or "").lower() or None,
        "type": (types[0] if isinstance(types, list) and types else types) or None,
        "token": meta.get("token"),
        "url": meta.get("url"),
        "summary": _plain(unit.get("summary_highlighted")),
        "owner": meta.get("owner_name"),
        "updated": iso_from_unix(meta.get("update_time"), None),
    }


@TOOLS.tool(
    title="Search my documents",
    description="Search the documents and wiki pages you can open by words in their title or "
    "text (signed in only).",
    read_only=True,
    needs_user=True,
)
async def search_documents(
    lark: LarkCall,
    query: Annotated[
        str,
        Field(min_length=1, max_length=30, description="Words to look for (Lark allows 30 chars)."),
    ],
    page_size: page_size_arg(10, 20) = 10,
    page_token: PageToken = None,
) -> dict[str, Any]:
    data = await lark.post(
        "/open-apis/search/v2/doc_wiki/search",
        json={
            "query": query,
            "page_size": page_size,
            "page_token": page_token,
            # Both filters present (even empty) searches documents and wiki pages alike.
            "doc_filter": {},
            "wiki_filter": {},
        },
        idempotent=True,  # a read, despite the POST
    )
    documents = [_hit(unit) for unit in data.get("res_units") or []]
    return page({"total": data.get("total"), "documents": documents}, data)


@TOOLS.tool(
    title="List my tasks",
    description="List the tasks you are responsible for, open or completed (signed in only).",
    read_only=True,
    needs_user=True,
)
async def list_my_tasks(
    lark: LarkCall,
    completed: Annotated[
        bool | None, Field(description="true: only completed; false: only open; omit: all.")
    ] = None,
    page_size: page_size_arg(50, 100) = 50,
    page_token: PageToken = None,
) -> dict[str, Any]:
    data = await lark.get(
        TASKS,
        params={
            "type": "my_tasks",
            "completed": None if completed is None else str(completed).lower(),
            "page_size": page_size,
            "page_token": page_token,
            "user_id_type": "open_id",
        },
    )
    tasks = [_task(item, None) for item in data.get("items") or []]
    return page({"tasks": tasks}, data)
