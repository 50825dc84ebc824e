"""contact/v3: resolve emails / mobiles to user ids, and read one user."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import LarkError, field_error, user_id_type
from .routing import Call, Endpoint

if TYPE_CHECKING:
    from .fake import FakeLark

USER_NOT_FOUND = 41050  # "no user authority error" / user not visible to the app


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
    kind = user_id_type(call.query)
    user = next((u for u in fake.users if u[kind] == call.params["user_id"]), None)
    if user is None:
        raise LarkError(USER_NOT_FOUND, "no user authority error", status=400)
    public = {
        k: user[k] for k in ("name", "en_name", "open_id", "user_id", "union_id", "email", "mobile")
    }
    return {"user": {**public, "status": _status()}}


def endpoints() -> list[Endpoint]:
    base = "/open-apis/contact/v3/users"
    return [
        Endpoint("POST", f"{base}/batch_get_id", batch_get_id),
        Endpoint("GET", f"{base}/{{user_id}}", get_user),
    ]
