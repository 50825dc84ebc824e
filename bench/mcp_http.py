"""Just enough of MCP's Streamable HTTP transport to drive three different servers alike.

Ours and the bare SDK server answer a bare `tools/list` POST with `application/json`; the Node
server answers with a one-event `text/event-stream`. Both are parsed here, and a server that
insists on an `initialize` handshake gets one (once, its `Mcp-Session-Id` then reused), so the
harness measures each server the way a real client would have to talk to it.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import httpx2

PROTOCOL_VERSION = "2025-06-18"
ACCEPT = "application/json, text/event-stream"
_ids = itertools.count(1)


class McpCallError(RuntimeError):
    """A request that did not produce a usable JSON-RPC result."""


@dataclass
class Reply:
    """One JSON-RPC answer and the size of its JSON payload as it came over the wire."""

    message: dict[str, Any]
    payload_bytes: int
    content_type: str


@dataclass
class Session:
    """How a server has to be addressed: headers to send on every request after setup."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    handshake: bool = False  # True when the server needed `initialize` before answering

    def request_headers(self) -> dict[str, str]:
        return {"Content-Type": "application/json", "Accept": ACCEPT, **self.headers}


def rpc(method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """A JSON-RPC request with a fresh id."""
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": next(_ids), "method": method}
    if params is not None:
        message["params"] = params
    return message


def tool_call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return rpc("tools/call", {"name": name, "arguments": arguments})


def parse_reply(response: httpx2.Response, request_id: Any) -> Reply:
    """The JSON-RPC message answering `request_id`, from a JSON or SSE body.

    For SSE the payload size counts only the JSON in the `data:` line(s), not the event
    framing, so byte counts compare what each server actually says.
    """
    content_type = response.headers.get("content-type", "").split(";")[0].strip()
    body = response.content
    if content_type == "text/event-stream":
        for event in body.decode("utf-8").replace("\r\n", "\n").split("\n\n"):
            data = "\n".join(
                line[5:].removeprefix(" ") for line in event.split("\n") if line.startswith("data:")
            )
            if not data:
                continue
            message = json.loads(data)
            if message.get("id") == request_id:
                return Reply(message, len(data.encode("utf-8")), content_type)
        raise McpCallError(f"no answer to request {request_id} in the event stream: {body[:200]!r}")
    try:
        message = json.loads(body)
    except ValueError as exc:
        raise McpCallError(
            f"HTTP {response.status_code} {content_type or 'no content-type'}: {body[:200]!r}"
        ) from exc
    if not isinstance(message, dict):
        raise McpCallError(f"expected one JSON-RPC object, got: {body[:200]!r}")
    return Reply(message, len(body), content_type or "application/json")


def result_of(reply: Reply) -> dict[str, Any]:
    """The `result` of a reply, or an error saying what the server answered instead."""
    if "result" not in reply.message:
        raise McpCallError(f"JSON-RPC error: {json.dumps(reply.message.get('error'))[:300]}")
    return reply.message["result"]


def _initialize_body() -> dict[str, Any]:
    return rpc(
        "initialize",
        {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "lark-mcp-bench", "version": "1"},
        },
    )


def post_sync(client: httpx2.Client, session: Session, message: dict[str, Any]) -> Reply:
    response = client.post(session.url, json=message, headers=session.request_headers())
    return parse_reply(response, message["id"])


def handshake_sync(client: httpx2.Client, session: Session) -> None:
    """`initialize` + `notifications/initialized`; keeps the session id the server hands out."""
    init = _initialize_body()
    response = client.post(session.url, json=init, headers=session.request_headers())
    result_of(parse_reply(response, init["id"]))
    session_id = response.headers.get("mcp-session-id")
    if session_id:
        session.headers["Mcp-Session-Id"] = session_id
    session.headers["MCP-Protocol-Version"] = PROTOCOL_VERSION
    note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    client.post(session.url, json=note, headers=session.request_headers())
    session.handshake = True


def list_tools_sync(client: httpx2.Client, session: Session) -> Reply:
    """`tools/list`, bare first; if the server refuses that, handshake once and ask again."""
    message = rpc("tools/list")
    try:
        reply = post_sync(client, session, message)
        result_of(reply)
        return reply
    except McpCallError:
        if session.handshake:
            raise
    handshake_sync(client, session)
    reply = post_sync(client, session, rpc("tools/list"))
    result_of(reply)
    return reply


async def call_async(
    client: httpx2.AsyncClient, session: Session, message: dict[str, Any], expect: str = ""
) -> dict[str, Any]:
    """One request; returns its `result` or raises McpCallError (tool errors included, and a
    result whose text lacks `expect`, so an error dressed as a result is not counted as done)."""
    response = await client.post(session.url, json=message, headers=session.request_headers())
    if response.status_code != 200:
        raise McpCallError(f"HTTP {response.status_code}: {response.content[:200]!r}")
    result = result_of(parse_reply(response, message["id"]))
    if result.get("isError"):
        text = " ".join(c.get("text", "") for c in result.get("content", []))
        raise McpCallError(f"tool error: {text[:300]}")
    if expect:
        text = " ".join(c.get("text", "") for c in result.get("content", []))
        if expect not in text:
            raise McpCallError(f"result lacks {expect!r}: {text[:300]}")
    return result
