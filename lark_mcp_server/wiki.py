"""Wiki: the spaces the app can see and the page tree inside each."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from .formatting import PageToken, page, page_size_arg
from .lark_client import LarkCall
from .paths import WIKI_NODE_TOKEN, WIKI_SPACE_ID
from .registry import ToolSet

TOOLS = ToolSet()


async def wiki_node(lark: LarkCall, token: str) -> dict[str, Any]:
    """The node behind a wiki page token: what it hosts (obj_type) and that object's token."""
    data = await lark.get(
        "/open-apis/wiki/v2/spaces/get_node", params={"token": token, "obj_type": "wiki"}
    )
    return data.get("node") or {}


@TOOLS.tool(
    title="List wiki spaces",
    description="List the wiki spaces the app can read, with their space_id.",
    read_only=True,
)
async def list_wiki_spaces(
    lark: LarkCall,
    page_size: page_size_arg(20, 50) = 20,
    page_token: PageToken = None,
) -> dict[str, Any]:
    data = await lark.get(
        "/open-apis/wiki/v2/spaces", params={"page_size": page_size, "page_token": page_token}
    )
    spaces = [
        {
            "space_id": item.get("space_id"),
            "name": item.get("name"),
            "description": item.get("description"),
            "visibility": item.get("visibility"),
        }
        for item in data.get("items") or []
    ]
    return page({"spaces": spaces}, data)


@TOOLS.tool(
    title="List wiki nodes",
    description="List the pages of a wiki space (top level, or under a parent page). obj_token "
    "opens a docx with get_document, a bitable with list_base_tables.",
    read_only=True,
)
async def list_wiki_nodes(
    lark: LarkCall,
    space_id: Annotated[str, Field(min_length=1, description="The space, from list_wiki_spaces.")],
    parent_node_token: Annotated[
        str | None, Field(description="List the children of this page; default: top level.")
    ] = None,
    page_size: page_size_arg(20, 50) = 20,
    page_token: PageToken = None,
) -> dict[str, Any]:
    space = WIKI_SPACE_ID.segment("space_id", space_id)
    parent = (parent_node_token or "").strip()
    parent_node_token = WIKI_NODE_TOKEN.check("parent_node_token", parent) if parent else None
    data = await lark.get(
        "/open-apis/wiki/v2/spaces/{space_id}/nodes",
        space,
        params={
            "parent_node_token": parent_node_token,
            "page_size": page_size,
            "page_token": page_token,
        },
    )
    nodes = [
        {
            "node_token": item.get("node_token"),
            "title": item.get("title"),
            "obj_type": item.get("obj_type"),
            "obj_token": item.get("obj_token"),
            "has_children": item.get("has_child") or None,
        }
        for item in data.get("items") or []
    ]
    return page({"space_id": space_id.strip(), "nodes": nodes}, data)
