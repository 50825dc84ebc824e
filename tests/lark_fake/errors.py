"""Lark's error envelope and the real error codes the fake answers with.

Handlers raise :class:`LarkError`; the app turns it into Lark's JSON body
(`{"code", "msg", "error": {"log_id", ...}}`) with the HTTP status Lark uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Gateway / platform codes (shared by every OpenAPI).
MISSING_TOKEN = 99991661  # no Authorization header
INVALID_TOKEN = 99991663  # unknown, expired or revoked tenant_access_token
RATE_LIMITED = 99991400  # "request trigger frequency limit", HTTP 429
NO_SCOPE = 99991672  # app lacks a scope the API needs
FIELD_VALIDATION = 99992402  # request does not fit the API's schema

# auth/v3
APP_NOT_FOUND = 10003  # unknown app_id ("invalid param")
BAD_APP_SECRET = 10014  # "app secret invalid"


class LarkError(Exception):
    """A Lark business error: becomes `{"code": code, "msg": msg, "error": {...}}`."""

    def __init__(
        self,
        code: int,
        msg: str,
        *,
        status: int = 400,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status
        self.extra = extra or {}


def field_error(field: str, description: str) -> LarkError:
    """Schema violation by the client (99992402), naming the offending field like Lark does."""
    return LarkError(
        FIELD_VALIDATION,
        "field validation failed",
        extra={"field_violations": [{"field": field, "description": description}]},
    )


def require(body: dict[str, Any], field: str, kind: type | tuple[type, ...] = str) -> Any:
    """Return body[field], or raise 99992402 when it is missing, empty or of the wrong type."""
    value = body.get(field)
    if value is None or value == "":
        raise field_error(field, f"{field} is required")
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise field_error(field, f"{field} has the wrong type")
    return value


def user_id_type(query: Mapping[str, str]) -> str:
    """The request's user_id_type (open_id by default); 99992402 for one Lark does not know."""
    kind = query.get("user_id_type", "open_id")
    if kind not in ("open_id", "user_id", "union_id"):
        raise field_error("user_id_type", "user_id_type must be open_id, user_id or union_id")
    return kind
