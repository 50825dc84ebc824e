"""Lark-style pagination: `page_size` + opaque `page_token` in, `has_more` + `page_token` out."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from .errors import field_error

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 20


def _encode(offset: int, scope: str) -> str:
    return base64.urlsafe_b64encode(f"{scope}:{offset}".encode()).decode().rstrip("=")


def _decode(token: str, scope: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        got_scope, offset = raw.rsplit(":", 1)
        if got_scope != scope:
            raise ValueError(scope)
        return int(offset)
    except (ValueError, UnicodeDecodeError) as err:
        raise field_error("page_token", "page_token is invalid for this list") from err


def page_size(
    query: Mapping[str, str], *, default: int = DEFAULT_PAGE_SIZE, maximum: int = 500
) -> int:
    """Parse `page_size`, rejecting what Lark rejects (non-numbers, < 1, > the API's maximum)."""
    raw = query.get("page_size")
    if raw in (None, ""):
        return default
    try:
        size = int(raw)
    except ValueError as err:
        raise field_error("page_size", "page_size must be an integer") from err
    if size < 1 or size > maximum:
        raise field_error("page_size", f"page_size must be between 1 and {maximum}")
    return size


def paginate(
    items: Sequence[T],
    query: Mapping[str, Any],
    *,
    scope: str,
    default: int = DEFAULT_PAGE_SIZE,
    maximum: int = 500,
) -> tuple[list[T], bool, str]:
    """Slice `items` for this request: returns (page, has_more, next page_token or "").

    `scope` ties a token to one list so a token from another list is refused, as Lark does.
    """
    size = page_size(query, default=default, maximum=maximum)
    token = query.get("page_token") or ""
    start = _decode(token, scope) if token else 0
    page = list(items[start : start + size])
    has_more = start + size < len(items)
    return page, has_more, _encode(start + size, scope) if has_more else ""
