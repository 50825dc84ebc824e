"""auth/v3: the tenant_access_token a self-built app fetches with its id and secret."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import APP_NOT_FOUND, BAD_APP_SECRET, LarkError, require
from .routing import Call, Endpoint

if TYPE_CHECKING:
    from .fake import FakeLark


async def tenant_access_token(fake: FakeLark, call: Call) -> dict[str, Any]:
    app_id = require(call.body, "app_id")
    app_secret = require(call.body, "app_secret")
    if app_id != fake.app_id:
        raise LarkError(APP_NOT_FOUND, "invalid param: app_id not found")
    if app_secret != fake.app_secret:
        raise LarkError(BAD_APP_SECRET, "app secret invalid")
    token, expire = fake.issue_token()
    return {"code": 0, "msg": "ok", "tenant_access_token": token, "expire": expire}


def endpoints() -> list[Endpoint]:
    return [
        Endpoint(
            "POST",
            "/open-apis/auth/v3/tenant_access_token/internal",
            tenant_access_token,
            authenticated=False,
            raw=True,
        )
    ]
