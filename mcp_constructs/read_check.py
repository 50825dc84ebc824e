"""One real read through an MCP endpoint: proof that the Lark side works, not only the listing.

Listing tools needs no Lark credentials, so `tools/list` passes with an empty Lark secret. This
check calls one read-only tool (``list_chats`` by default, else ``list_calendars``) with its
default arguments and turns the answer into one sentence a person can act on: an unfilled or
wrong Lark secret, a scope the Lark app lacks, a tool the gateway refuses, or what Lark answered.
It never prints what the tool returned, only how many items came back.

Laptop-only (``make verify``): the deploy's smoke test does not run it, because a first deploy
has an empty secret by design.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from mcp_constructs.deploy_checks.runtime.mcp_smoke import (
    TARGET_SEPARATOR,
    SmokeConfig,
    SmokeFailure,
    _excerpt,
    _Redactor,
    _send,
    fetch_token,
    parse_jsonrpc,
    rate_limited,
    request_headers,
)

#: Read-only tools tried in this order when none is named: each needs one Lark scope and no
#: arguments, and answers as the bot as well as a signed-in person.
DEFAULT_READ_TOOLS = ("list_chats", "list_calendars")

# Phrases of the server's own tool errors (lark_mcp_server/credentials.py, lark_client.py).
_NO_CREDENTIALS = (
    "Lark credentials are not configured",
    "has an empty app_id or app_secret",
    "must be JSON like",
    "has no SecretString",
)
_BAD_CREDENTIALS = "Lark rejected the app credentials"
_NO_SCOPE = "The Lark app lacks a permission"
_SECRET_UNREADABLE = ("Secrets Manager refused GetSecretValue", "Could not reach Secrets Manager")


@dataclass
class ReadCheck:
    """The outcome of the read call."""

    ok: bool
    message: str
    tool: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def pick_tool(listed: list[str], wanted: str | None, target_name: str | None) -> str | None:
    """The listed name to call: ``wanted`` if given, else the first default that is listed."""
    prefix = f"{target_name}{TARGET_SEPARATOR}" if target_name else ""
    names = [wanted] if wanted else list(DEFAULT_READ_TOOLS)
    for name in names:
        full = name if name.startswith(prefix) else prefix + name
        if full in listed:
            return full
    return None


def explain(tool: str, text: str, fill_hint: str) -> str:
    """One sentence for a tool error text from the server."""
    if any(phrase in text for phrase in _NO_CREDENTIALS):
        return (
            f"{tool} could not run: the Lark app secret is not filled in, so the server has no "
            f"Lark app id and secret. Tools are listed, but every call fails until it is. "
            f"{fill_hint} (server said: {text})"
        )
    if _BAD_CREDENTIALS in text:
        return (
            f"{tool} could not run: Lark refused the app id and secret the server has. Copy both "
            f"again from the app's Credentials page in the Lark developer console. {fill_hint} "
            f"(server said: {text})"
        )
    if _NO_SCOPE in text:
        return (
            f"{tool} reached Lark, but the Lark app lacks a permission it needs: {text} "
            "(docs/getting-started.md lists every scope to enable)"
        )
    if any(phrase in text for phrase in _SECRET_UNREADABLE):
        return f"{tool} could not run: the server cannot read the Lark secret: {text}"
    return f"{tool} failed: {text}"


def _summary(text: str) -> str:
    """`3 chats` from a result like ``{"chats": [[header], [row], ...], "has_more": false}``;
    never the items. A page of records is a table whose first row names the columns."""
    try:
        payload = json.loads(text)
    except ValueError:
        return "an answer"
    if isinstance(payload, dict):
        for key, value in payload.items():
            if isinstance(value, list):
                count = len(value) - 1 if value and isinstance(value[0], list) else len(value)
                more = " (more on later pages)" if payload.get("has_more") else ""
                return f"{count} {key}{more}"
    return "an answer"


def run_read_check(
    config: SmokeConfig, listed: list[str], wanted: str | None = None, fill_hint: str = ""
) -> ReadCheck:
    """Call one read-only tool through the endpoint; never raises for an endpoint problem."""
    tool = pick_tool(listed, wanted, config.target_name)
    if tool is None:
        names = wanted or " or ".join(DEFAULT_READ_TOOLS)
        return ReadCheck(
            ok=False,
            message=f"cannot make a read call: {names} is not among the listed tools "
            "(pick another with --call, or skip it with --no-call)",
        )
    redact = _Redactor()
    redact.add(config.client_secret)
    try:
        token = fetch_token(config, redact) if config.token_url else None
        redact.add(token)
        headers = request_headers(config, token)
        payload = {
            "jsonrpc": "2.0",
            "id": "read-check",
            "method": "tools/call",
            "params": {"name": tool, "arguments": {}},
        }
        answer = _send(
            config.url,
            data=json.dumps(payload).encode(),
            headers=headers,
            policy=config.gateway_retry,
            step="tools/call",
            what="gateway" if config.target_name else "endpoint",
            redact=redact,
        )
    except SmokeFailure as failure:
        return ReadCheck(ok=False, message=redact(f"{tool}: {failure}"), tool=tool)
    throttled = rate_limited(answer.status, answer.body)
    if throttled:
        return ReadCheck(ok=False, message=redact(f"{tool}: {throttled}"), tool=tool)
    if answer.status != 200:
        return ReadCheck(
            ok=False,
            message=redact(f"{tool}: HTTP {answer.status}: {_excerpt(answer.body, redact)}"),
            tool=tool,
        )
    content_type = next((v for k, v in answer.headers.items() if k.lower() == "content-type"), "")
    try:
        response = parse_jsonrpc(answer.body, content_type, "read-check")
    except ValueError:
        return ReadCheck(
            ok=False,
            message=f"{tool}: the answer is not a JSON-RPC response: "
            + _excerpt(answer.body, redact),
            tool=tool,
        )
    if "error" in response:
        error = response["error"] if isinstance(response["error"], dict) else {}
        return ReadCheck(
            ok=False,
            message=redact(
                f"{tool} was refused with JSON-RPC error {error.get('code')}: "
                f"{error.get('message')} (a team or policy that may not call it?)"
            ),
            tool=tool,
        )
    result = response.get("result") or {}
    text = " ".join(
        str(item.get("text", ""))
        for item in result.get("content") or []
        if isinstance(item, dict) and item.get("type") == "text"
    ).strip()
    if result.get("isError"):
        return ReadCheck(ok=False, message=redact(explain(tool, text, fill_hint)), tool=tool)
    return ReadCheck(ok=True, message=f"{tool} reached Lark: {_summary(text)}", tool=tool)
