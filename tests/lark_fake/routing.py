"""The small types shared by the fake's API modules and its HTTP plumbing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .fake import FakeLark


@dataclass
class Call:
    """What a handler sees: parsed query, path params and JSON body."""

    method: str
    path: str
    query: dict[str, str]
    params: dict[str, str]
    body: dict[str, Any]
    headers: dict[str, str]
    user: str | None = None  # open_id when a user_access_token made the call, else the bot


Handler = Callable[["FakeLark", Call], Awaitable[dict[str, Any]]]


@dataclass
class Endpoint:
    """One OpenAPI operation: `raw` handlers return the whole body (auth), others `data`."""

    method: str
    path: str
    handler: Handler
    authenticated: bool = True
    raw: bool = False
