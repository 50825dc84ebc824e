"""People: find users' open_ids from their emails or mobile numbers; one person's profile."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from .lark_client import LarkCall, LarkError
from .paths import OPEN_ID, USER_OPEN_ID, IdShape, opaque, printable
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


_USER_ID = opaque("user_id", "a user_id")
_DEPARTMENT = IdShape(
    "department_id",
    "an open department id",
    r"od-[A-Za-z0-9_-]{1,125}",
    "od- then letters/digits",
    "od-4e6ac4d14bcd5071a37a39de902c7141",
)


async def _open_id_of(lark: LarkCall, email: str) -> str:
    data = await lark.post(
        "/open-apis/contact/v3/users/batch_get_id",
        params={"user_id_type": "open_id"},
        json={"emails": [email], "include_resigned": False},
        idempotent=True,
    )
    for item in data.get("user_list") or []:
        if item.get("user_id"):
            return str(item["user_id"])
    raise ToolError(f"No user with the email {email} (or not in the app's contact range).")


async def _department_name(lark: LarkCall, department_id: str) -> str:
    """The department's name; its id when the app may not read departments."""
    try:
        data = await lark.get(
            "/open-apis/contact/v3/departments/{department_id}",
            _DEPARTMENT.segment("department_id", department_id),
            params={"department_id_type": "open_department_id", "user_id_type": "open_id"},
        )
    except LarkError:
        return department_id
    return str((data.get("department") or {}).get("name") or department_id)


@TOOLS.tool(
    title="Get user",
    description="A person's name, department, title and contact details (email and mobile as "
    "the app's scopes allow), by open_id, user_id or email.",
    read_only=True,
    app_only=True,  # the lookup by email is served to the app's token only
)
async def get_user(
    lark: LarkCall,
    user: Annotated[
        str,
        Field(min_length=1, max_length=320, description="open_id (ou_...), email or user_id."),
    ],
) -> dict[str, Any]:
    value = user.strip()
    if value.startswith("ou_"):
        open_id, by_open_id = OPEN_ID.check("user", value), True
    elif "@" in value:
        email = printable("user", value, what="an email address")
        open_id, by_open_id = await _open_id_of(lark, email), False
    else:
        open_id, by_open_id = _USER_ID.check("user", value), False
    kind = "open_id" if value.startswith("ou_") or "@" in value else "user_id"
    shape = USER_OPEN_ID if kind == "open_id" else _USER_ID
    data = await lark.get(
        "/open-apis/contact/v3/users/{user_id}",
        shape.segment("user", open_id),
        params={"user_id_type": kind, "department_id_type": "open_department_id"},
    )
    person = data.get("user") or {}
    departments = [
        await _department_name(lark, d)
        for d in (person.get("department_ids") or [])[:5]
        if isinstance(d, str) and d.startswith("od-")
    ]
    return {
        "open_id": None if by_open_id else person.get("open_id"),
        "name": person.get("name"),
        "en_name": person.get("en_name") if person.get("en_name") != person.get("name") else None,
        "department": ", ".join(departments) or None,
        "title": person.get("job_title"),
        "email": person.get("email") or person.get("enterprise_email"),
        "mobile": person.get("mobile") if person.get("mobile_visible", True) else None,
        "city": person.get("city"),
        "resigned": ((person.get("status") or {}).get("is_resigned")) or None,
    }
