"""An ASGI guard in front of /mcp: browser origins, body size and JSON-RPC envelope checks.

DNS rebinding: on a loopback bind (`make local`) the SDK validates Host and Origin against the
bound address and port (`transport_security`). In the container (0.0.0.0) the runtime proxies
with its own Host, so any Host passes, but a request carrying a browser `Origin` that is not
allowlisted (`ALLOWED_ORIGINS`) is refused with 403 here: no web page can drive the server.

The SDK already answers unparsable JSON with -32700, but it reports a well-formed JSON value
that is not a JSON-RPC request (no `method`, wrong `jsonrpc`, an array) as -32602 "Validation
error" with pydantic's text; JSON-RPC calls that -32600 Invalid Request, and clients and the
gateway expect that code. Requests that pass are replayed to the SDK unchanged.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from typing import Any

from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def is_loopback(host: str) -> bool:
    """True for a bind address only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def transport_security(
    host: str, port: int, *, extra_hosts: Sequence[str] = (), extra_origins: Sequence[str] = ()
) -> TransportSecuritySettings:
    """The SDK's DNS-rebinding settings: strict on a loopback bind, off otherwise.

    Off-loopback (the container) the Origin check is `HttpGuard`'s, because the SDK cannot
    accept any Host while still checking Origin.
    """
    if not is_loopback(host):
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    bound = host.strip()
    if ":" in bound and not bound.startswith("["):
        bound = f"[{bound}]"  # IPv6 literal as it appears in a Host header
    names = list(dict.fromkeys((*_LOOPBACK_NAMES, bound.lower())))
    hosts = [f"{name}:{port}" for name in names] + (names if port == 80 else [])
    origins = [f"http://{name}:{port}" for name in names]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[*hosts, *extra_hosts],
        allowed_origins=[*origins, *extra_origins],
    )


def origin_allowed(origin: str, allowed: Sequence[str]) -> bool:
    """Exact match, or `scheme://host:*` for any port (the SDK's own pattern)."""
    origin = origin.rstrip("/")
    for entry in allowed:
        if origin == entry:
            return True
        if (
            entry.endswith(":*")
            and origin.startswith(entry[:-1])
            and origin[len(entry) - 1 :].isdigit()
        ):
            return True
    return False


async def _reply(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


def _rpc_error(code: int, message: str, id: Any = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}


def envelope_problem(message: Any) -> str | None:
    """Why `message` is not a JSON-RPC 2.0 request, notification or response (None if it is)."""
    if not isinstance(message, dict):
        return "the body must be one JSON-RPC object (batches are not supported)"
    if message.get("jsonrpc") != "2.0":
        return 'the "jsonrpc" member must be exactly "2.0"'
    if "id" in message and not (
        message["id"] is None
        or (isinstance(message["id"], str | int) and not isinstance(message["id"], bool))
    ):
        return 'the "id" member must be a string or an integer'
    if "method" in message:
        if not isinstance(message["method"], str) or not message["method"]:
            return 'the "method" member must be a non-empty string'
        if "params" in message and not isinstance(message["params"], dict):
            return 'the "params" member must be an object'
        return None
    if "id" in message and ("result" in message or "error" in message):
        return None
    return 'a request needs a "method" member'


class HttpGuard:
    """On `path`: 403 for a browser Origin not in `allowed_origins` (when given), 413 for
    bodies over `max_body`, -32600 (HTTP 400) for non-JSON-RPC bodies."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        path: str,
        max_body: int,
        allowed_origins: Sequence[str] | None = None,
    ) -> None:
        self.app = app
        self.path = path.rstrip("/")
        self.max_body = max_body
        self.allowed_origins = None if allowed_origins is None else tuple(allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != self.path:
            await self.app(scope, receive, send)
            return
        if self.allowed_origins is not None:
            origin = _header(scope, b"origin")
            if origin is not None and not origin_allowed(origin, self.allowed_origins):
                message = (
                    f"Origin {origin!r} is not allowed to call this server. "
                    "Add it to ALLOWED_ORIGINS if a browser app should reach it."
                )
                await _reply(send, 403, _rpc_error(-32600, message))
                return
        if scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_body:
                await _reply(send, 413, _rpc_error(-32600, self._too_large()))
                return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await _reply(send, 413, _rpc_error(-32600, self._too_large()))
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = _UNPARSED  # the SDK answers -32700 itself
        if parsed is not _UNPARSED:
            problem = envelope_problem(parsed)
            if problem:
                msg_id = parsed.get("id") if isinstance(parsed, dict) else None
                if not isinstance(msg_id, str | int) or isinstance(msg_id, bool):
                    msg_id = None
                await _reply(send, 400, _rpc_error(-32600, f"Invalid Request: {problem}", msg_id))
                return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_large(self) -> str:
        return f"Request body larger than {self.max_body} bytes"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


_UNPARSED = object()
