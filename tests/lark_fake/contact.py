"""contact/v3: resolve emails / mobiles to user ids, and read one user."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import LarkError, field_error, user_id_type
from .routing import Call, Endpoint
from .seed_more import DEPARTMENTS, PROFILES

if TYPE_CHECKING:
    from .fake import FakeLark

USER_NOT_FOUND = 41050  # "no user authority error" / user not visible to the app
DEPARTMENT_NOT_FOUND = 40003  # "department not found" (or not in the contact range)


def _mobile(raw: str) -> str:
    """Lark matches mainland numbers with or without +86."""
    raw = raw.strip().replace(" ", "").replace("-", "")
    return raw if raw.startswith("+") else "+86" + raw


def _strings(body: dict[str, Any], name: str) -> list[str]:
    values = body.get(name) or []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise field_error(name, f"{name} must be a list of strings")
    if len(values) > 50:
        raise field_error(name, f"{name} takes at most 50 entries")
    return values


def _status() -> dict[str, bool]:
    return {
        "is_frozen": False,
        "is_resigned": False,
        "is_activated": True,
        "is_exited": False,
        "is_unjoin": False,
    }


async def batch_get_id(fake: FakeLark, call: Call) -> dict[str, Any]:
    kind = user_id_type(call.query)
    emails, mobiles = _strings(call.body, "emails"), _strings(call.body, "mobiles")
    if not emails and not mobiles:
        raise field_error("emails", "give emails and/or mobiles")
    found = []
    for email in emails:
        user = next((u for u in fake.users if u["email"].lower() == email.lower()), None)
        found.append(
            {"user_id": user[kind], "email": email, "status": _status()}
            if user
            else {"email": email}
        )
    for mobile in mobiles:
        user = next((u for u in fake.users if u["mobile"] == _mobile(mobile)), None)
        found.append(
            {"user_id": user[kind], "mobile": mobile, "status": _status()}
            if user
            else {"mobile": mobile}
        )
    return {"user_list": found}


async def get_user(fake: FakeLark, call: Call) -> dict[str, Any]:
    """One user; email and mobile only when the app holds their field scopes, as Lark does."""
    kind = user_id_type(call.query)
    if call.query.get("department_id_type") not in (None, "department_id", "open_department_id"):
        raise field_error("department_id_type", "department_id_type is invalid")
    user = next((u for u in fake.users if u[kind] == call.params["user_id"]), None)
    if user is None:
        raise LarkError(USER_NOT_FOUND, "no user authority error", status=400)
    public = {
        k: user[k] for k in ("name", "en_name", "open_id", "user_id", "union_id", "email", "mobile")
    }
    for field in fake.withheld_fields:
        public.pop(field, None)
    department, title = PROFILES.get(user["open_id"], ("", ""))
    return {
        "user": {
            **public,
            "status": _status(),
            "department_ids": [department] if department else [],
            "job_title": title,
            "city": "",
            "mobile_visible": "mobile" in public,
            "avatar": {"avatar_72": f"https://example.feishu.cn/avatar/{user['user_id']}_72.png"},
        }
    }


async def get_department(fake: FakeLark, call: Call) -> dict[str, Any]:
    if call.query.get("department_id_type") != "open_department_id":
        raise field_error("department_id_type", "the fake knows open_department_id only")
    name = DEPARTMENTS.get(call.params["department_id"])
    if name is None:
        raise LarkError(DEPARTMENT_NOT_FOUND, "department not found", status=400)
    return {
        "department": {
            "name": name,
            "open_department_id": call.params["department_id"],
            "parent_department_id": "0",
            "member_count": 3,
            "status": {"is_deleted": False},
        }
    }


def endpoints() -> list[Endpoint]:
    base = "/open-apis/contact/v3/users"
    return [
        Endpoint("POST", f"{base}/batch_get_id", batch_get_id),
        Endpoint("GET", f"{base}/{{user_id}}", get_user),
        Endpoint("GET", "/open-apis/contact/v3/departments/{department_id}", get_department),
    ]
