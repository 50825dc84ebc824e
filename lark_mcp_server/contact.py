"""People: find users' open_ids from their emails or mobile numbers."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from .lark_client import LarkCall
from .registry import ToolSet

TOOLS = ToolSet()


@TOOLS.tool(
    title="Find users",
    description="Look up users' open_ids by email and/or mobile number (for messages, events).",
    read_only=True,
    app_only=True,  # Lark serves this lookup to the app's token only
)
async def find_users(
    lark: LarkCall,
    emails: Annotated[
        list[str] | None, Field(max_length=50, description="Email addresses (up to 50).")
    ] = None,
    mobiles: Annotated[
        list[str] | None,
        Field(max_length=50, description="Mobile numbers, +86... for outside mainland China."),
    ] = None,
) -> dict[str, Any]:
    emails = [e.strip() for e in emails or [] if e.strip()]
    mobiles = [m.strip() for m in mobiles or [] if m.strip()]
    if not emails and not mobiles:
        raise ToolError("Give at least one of emails or mobiles.")
    data = await lark.post(
        "/open-apis/contact/v3/users/batch_get_id",
        params={"user_id_type": "open_id"},
        json={"emails": emails or None, "mobiles": mobiles or None, "include_resigned": False},
        idempotent=True,
    )
    users, not_found = [], []
    for item in data.get("user_list") or []:
        key = {"email": item["email"]} if item.get("email") else {"mobile": item.get("mobile")}
        if item.get("user_id"):
            users.append({**key, "open_id": item["user_id"]})
        else:
            not_found.append(next(iter(key.values())))
    return {"users": users, "not_found": not_found}
