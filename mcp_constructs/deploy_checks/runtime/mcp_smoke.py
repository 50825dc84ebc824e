"""Prove an MCP endpoint serves the tools it should: token, ``tools/list``, compare.

One module, standard library only, so the very same file runs inside the smoke-test Lambda
(no bundling, no third-party packages) and on a laptop (``python -m mcp_constructs.verify``).

The flow mirrors what AgentCore Gateway's callers do:

1. ``client_credentials`` token from the Cognito token endpoint (HTTP Basic client auth),
   retrying DNS failures (a new Cognito domain takes minutes to resolve), connection errors and
   5xx answers, bounded in count and in total time;
2. a bare JSON-RPC ``tools/list`` POST (no ``initialize``: the gateway and stateless servers
   answer it), JSON or SSE answer, following ``nextCursor``;
3. compare with the expected tools (the gateway names them ``<target>___<tool>``).

Every failure ends as one line a person can act on, e.g.
``token endpoint returned 400 invalid_scope for scope lark-mcp/invoke; ...``. Neither the client
secret nor the access token ever appears in a message, a report or a log line.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

# The newest version a bare tools/list may use (2026-07-28 needs its `_meta` envelope); one of
# the gateway's pinned `supportedVersions` (mcp_constructs/gateway.py MCP_SUPPORTED_VERSIONS,
# tests/infra/test_mcp_versions.py checks they agree and the server answers it).
DEFAULT_PROTOCOL_VERSION = "2025-11-25"
# The gateway's own semantic-search tool is not one of ours; never count it as "extra".
GATEWAY_BUILTIN_PREFIX = "x_amz_bedrock_agentcore_"
TARGET_SEPARATOR = "___"
USER_AGENT = "lark-mcp-smoke/1"
MAX_PAGES = 100
EXCERPT_CHARS = 200


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying a step that failed in a way time may fix."""

    max_attempts: int = 8
    max_seconds: float = 180.0
    first_delay: float = 1.0
    max_delay: float = 20.0
    request_timeout: float = 15.0

    def delays(self) -> Iterable[float]:
        delay = self.first_delay
        while True:
            yield delay
            delay = min(delay * 2, self.max_delay)


NO_RETRY = RetryPolicy(max_attempts=1, max_seconds=0.0)


@dataclass(frozen=True)
class SmokeConfig:
    """What to check. ``token_url`` empty means the endpoint needs no token (a local server)."""

    url: str
    expected_tools: Sequence[str] = ()
    target_name: str | None = None
    token_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    scope: str | None = None
    protocol_version: str = DEFAULT_PROTOCOL_VERSION
    allow_extra: bool = True
    token_retry: RetryPolicy = RetryPolicy()
    gateway_retry: RetryPolicy = RetryPolicy(max_attempts=3, max_seconds=30.0)


@dataclass
class SmokeReport:
    """The outcome of one check: what was listed, what was missing, how long each step took."""

    ok: bool
    message: str
    url: str
    tools: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    latency_ms: dict[str, float] = field(default_factory=dict)
    pages: int = 0
    failed_step: str | None = None
    retryable: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def render(self) -> str:
        """A short readable report for a terminal or a log."""
        lines = [f"{'PASS' if self.ok else 'FAIL'}  {self.url}", f"  {self.message}"]
        steps = ", ".join(f"{k} {v:.0f} ms" for k, v in self.latency_ms.items())
        if steps:
            lines.append(f"  latency: {steps}")
        if self.tools:
            listed = f"  listed ({len(self.tools)}, {self.pages} page(s)): "
            lines.append(listed + ", ".join(self.tools))
        if self.missing:
            lines.append(f"  missing ({len(self.missing)}): " + ", ".join(self.missing))
        if self.extra:
            lines.append(f"  not expected ({len(self.extra)}): " + ", ".join(self.extra))
        return "\n".join(lines)


class SmokeFailure(Exception):
    """A step failed; ``str(exc)`` is the one-line message for people."""

    def __init__(self, message: str, *, step: str, retryable: bool) -> None:
        super().__init__(message)
        self.step = step
        self.retryable = retryable


@dataclass
class _Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class _Redactor:
    """Blanks out secrets in anything that may reach a person or a log."""

    def __init__(self) -> None:
        self._secrets: list[str] = []

    def add(self, value: str | None) -> None:
        if value and len(value) >= 4:
            self._secrets.append(value)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _excerpt(body: bytes, redact: _Redactor) -> str:
    text = " ".join(body.decode("utf-8", errors="replace").split())
    text = redact(text)
    if len(text) > EXCERPT_CHARS:
        text = text[:EXCERPT_CHARS] + "..."
    return text or "(empty body)"


def _host_of(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return parts.netloc or url


def _is_dns_error(reason: object) -> bool:
    return isinstance(reason, socket.gaierror)


def _send(
    url: str,
    *,
    data: bytes,
    headers: dict[str, str],
    policy: RetryPolicy,
    step: str,
    what: str,
    redact: _Redactor,
) -> _Answer:
    """POST with bounded retries on DNS, connection errors and 5xx; other answers return."""
    started = time.monotonic()
    delays = iter(policy.delays())
    attempt = 0
    while True:
        attempt += 1
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")
        dns = False
        try:
            with urllib.request.urlopen(request, timeout=policy.request_timeout) as response:
                return _Answer(response.status, dict(response.headers.items()), response.read())
        except urllib.error.HTTPError as exc:
            body = exc.read() if exc.fp is not None else b""
            answer = _Answer(exc.code, dict(exc.headers.items()) if exc.headers else {}, body)
            if exc.code < 500:
                return answer
            failure = f"{what} returned {exc.code}: {_excerpt(body, redact)}"
        except urllib.error.URLError as exc:
            if _is_dns_error(exc.reason):
                dns = True
                failure = f"cannot resolve {urllib.parse.urlsplit(url).hostname}"
            else:
                failure = f"cannot connect to {what} at {_host_of(url)}: {exc.reason}"
        except TimeoutError:
            failure = (
                f"{what} at {_host_of(url)} did not answer within {policy.request_timeout:g} s"
            )
        except (http.client.HTTPException, OSError) as exc:
            reason = f"{exc.__class__.__name__}: {exc}"
            failure = f"cannot connect to {what} at {_host_of(url)}: {reason}"

        elapsed = time.monotonic() - started
        delay = next(delays)
        if attempt >= policy.max_attempts or elapsed + delay > policy.max_seconds:
            tries = f"after {attempt} {'try' if attempt == 1 else 'tries'}"
            if dns and step == "token":
                message = (
                    f"{failure} {tries} over {elapsed:.0f} s (new Cognito domains can take a few"
                    " minutes to resolve; run again later, or check the domain in the token URL)"
                )
            elif dns:
                message = f"{failure} {tries} over {elapsed:.0f} s (check the {what} URL)"
            else:
                message = f"{failure} ({tries})"
            raise SmokeFailure(redact(message), step=step, retryable=True)
        time.sleep(delay)


def _oauth_error(body: bytes) -> tuple[str, str]:
    try:
        payload = json.loads(body)
    except ValueError:
        return "", ""
    if not isinstance(payload, dict):
        return "", ""
    return str(payload.get("error", "")), str(payload.get("error_description", ""))


_TOKEN_HINTS = {
    "invalid_scope": "allow this scope on the app client, or fix the resource server id",
    "invalid_client": "check the client id and secret (the secret comes from the app client)",
    "unauthorized_client": "enable the client_credentials flow on the app client",
    "unsupported_grant_type": "enable the client_credentials flow on the app client",
}


def fetch_token(config: SmokeConfig, redact: _Redactor | None = None) -> str:
    """Get an access token with ``client_credentials``; raise SmokeFailure with a fix on error."""
    redact = redact or _Redactor()
    redact.add(config.client_secret)
    if not (config.token_url and config.client_id and config.client_secret):
        raise SmokeFailure(
            "a token URL, a client id and a client secret are all needed to get a token",
            step="token",
            retryable=False,
        )
    pair = ":".join(
        urllib.parse.quote(v, safe="") for v in (config.client_id, config.client_secret)
    )
    form = {"grant_type": "client_credentials"}
    if config.scope:
        form["scope"] = config.scope
    answer = _send(
        config.token_url,
        data=urllib.parse.urlencode(form).encode(),
        headers={
            "Authorization": "Basic " + base64.b64encode(pair.encode()).decode(),
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        },
        policy=config.token_retry,
        step="token",
        what="token endpoint",
        redact=redact,
    )
    if answer.status != 200:
        error, description = _oauth_error(answer.body)
        if error:
            if error == "invalid_scope":
                subject = f"scope {config.scope}" if config.scope else "no scope"
            else:
                subject = f"client {config.client_id}"
            message = f"token endpoint returned {answer.status} {error} for {subject}"
            if description:
                message += f" ({description})"
            hint = _TOKEN_HINTS.get(error)
            if hint:
                message += f"; {hint}"
        else:
            message = f"token endpoint returned {answer.status}: {_excerpt(answer.body, redact)}"
        raise SmokeFailure(redact(message), step="token", retryable=False)
    try:
        token = json.loads(answer.body)["access_token"]
    except (ValueError, KeyError, TypeError):
        raise SmokeFailure(
            "token endpoint answered 200 without an access_token: " + _excerpt(answer.body, redact),
            step="token",
            retryable=False,
        ) from None
    if not isinstance(token, str) or not token:
        raise SmokeFailure(
            "token endpoint returned an empty access_token", step="token", retryable=False
        )
    return token


def parse_jsonrpc(body: bytes, content_type: str, request_id: int | str) -> dict[str, Any]:
    """The JSON-RPC response for ``request_id`` from a JSON body or an SSE stream."""
    text = body.decode("utf-8", errors="replace")
    candidates: list[Any] = []
    if "text/event-stream" in content_type.lower():
        candidates = list(_sse_messages(text))
    else:
        try:
            candidates = [json.loads(text)]
        except ValueError:
            candidates = list(_sse_messages(text))  # some servers mislabel SSE
    for message in candidates:
        for item in message if isinstance(message, list) else [message]:
            if isinstance(item, dict) and item.get("id") == request_id:
                return item
    raise ValueError("no JSON-RPC response with our request id in the body")


def _sse_messages(text: str) -> Iterable[Any]:
    data: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif not line.strip() and data:
            message = _json_or_none("\n".join(data))
            if message is not None:
                yield message
            data = []


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def request_headers(config: SmokeConfig, token: str | None) -> dict[str, str]:
    """Headers of a bare MCP POST (no ``initialize``), as the gateway and Quick Suite send it."""
    headers = {
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "MCP-Protocol-Version": config.protocol_version,
        "User-Agent": USER_AGENT,
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def list_tools(
    config: SmokeConfig, token: str | None, redact: _Redactor | None = None
) -> tuple[list[str], int]:
    """All tool names the endpoint lists, following ``nextCursor``; and the number of pages."""
    redact = redact or _Redactor()
    redact.add(token)
    headers = request_headers(config, token)
    names: list[str] = []
    cursor: str | None = None
    seen_cursors: set[str] = set()
    for page in range(1, MAX_PAGES + 1):
        payload: dict[str, Any] = {"jsonrpc": "2.0", "id": page, "method": "tools/list"}
        payload["params"] = {"cursor": cursor} if cursor else {}
        answer = _send(
            config.url,
            data=json.dumps(payload).encode(),
            headers=headers,
            policy=config.gateway_retry,
            step="tools/list",
            what="gateway",
            redact=redact,
        )
        throttled = rate_limited(answer.status, answer.body)
        if throttled:
            raise SmokeFailure(redact(throttled), step="tools/list", retryable=True)
        if answer.status != 200:
            hint = ""
            if answer.status in (401, 403) and token:
                hint = " (the gateway refused the token: check its allowed clients and scopes)"
            raise SmokeFailure(
                redact(f"gateway returned {answer.status}: {_excerpt(answer.body, redact)}{hint}"),
                step="tools/list",
                retryable=answer.status in (401, 403, 404, 429),
            )
        content_type = next(
            (v for k, v in answer.headers.items() if k.lower() == "content-type"), ""
        )
        try:
            response = parse_jsonrpc(answer.body, content_type, page)
        except ValueError:
            raise SmokeFailure(
                "gateway answered tools/list with something that is not a JSON-RPC response: "
                + _excerpt(answer.body, redact),
                step="tools/list",
                retryable=False,
            ) from None
        if "error" in response:
            error = response["error"] if isinstance(response["error"], dict) else {}
            raise SmokeFailure(
                redact(
                    f"gateway answered tools/list with JSON-RPC error {error.get('code')}: "
                    f"{error.get('message')}"
                ),
                step="tools/list",
                retryable=False,
            )
        result = response.get("result") or {}
        for tool in result.get("tools") or []:
            if isinstance(tool, dict) and isinstance(tool.get("name"), str):
                names.append(tool["name"])
        cursor = result.get("nextCursor") or None
        if not cursor:
            return names, page
        if cursor in seen_cursors:
            raise SmokeFailure(
                f"gateway repeated the tools/list cursor {cursor!r}; pagination never ends",
                step="tools/list",
                retryable=False,
            )
        seen_cursors.add(cursor)
    raise SmokeFailure(
        f"gateway still returned a nextCursor after {MAX_PAGES} pages of tools/list",
        step="tools/list",
        retryable=False,
    )


# AgentCore Gateway's answer to a request over a rate limit (developer guide, "Rate limit
# enforcement"): JSON-RPC error -32003 "Rate limit exceeded", data {limitKey, metric,
# retryAfter (seconds)}; observed with HTTP 429, and no Retry-After header.
RATE_LIMITED_CODE = -32003


def rate_limited(status: int, body: bytes) -> str | None:
    """A readable sentence when ``body`` is the gateway's rate-limit answer, else None."""
    try:
        payload = json.loads(body)
    except ValueError:
        payload = next(iter(_sse_messages(body.decode("utf-8", errors="replace"))), None)
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict) or error.get("code") != RATE_LIMITED_CODE:
        return None
    data = error.get("data") if isinstance(error.get("data"), dict) else {}
    details = [f"HTTP {status}"]
    details += [f"{k} {data[k]}" for k in ("limitKey", "metric") if data.get(k)]
    retry = data.get("retryAfter")
    wait = f"retry after {retry:g} s" if isinstance(retry, int | float) else "retry later"
    return (
        f"gateway rate limit exceeded ({', '.join(details)}): this app client sent more requests"
        f" per minute than its rateLimit allows; {wait}. If it keeps happening, find the looping"
        " caller, or raise the team's (or the app's) rateLimit in cdk.json and deploy"
        " (docs/teams-and-quicksuite.md)"
    )


def expected_names(tools: Iterable[str], target_name: str | None) -> list[str]:
    """Names as the endpoint lists them: ``<target>___<tool>`` behind a gateway, else bare."""
    prefix = f"{target_name}{TARGET_SEPARATOR}" if target_name else ""
    return [t if prefix and t.startswith(prefix) else prefix + t for t in tools]


def compare(listed: Sequence[str], expected: Sequence[str]) -> tuple[list[str], list[str]]:
    """(missing, extra), both in a stable order; the gateway's built-in tool is never extra."""
    listed_set, expected_set = set(listed), set(expected)
    missing = [name for name in expected if name not in listed_set]
    extra = sorted(
        name for name in listed_set - expected_set if not name.startswith(GATEWAY_BUILTIN_PREFIX)
    )
    return missing, extra


def run_smoke(config: SmokeConfig) -> SmokeReport:
    """Run token (if configured) + tools/list + compare; never raises for an endpoint problem."""
    redact = _Redactor()
    redact.add(config.client_secret)
    expected = expected_names(config.expected_tools, config.target_name)
    report = SmokeReport(ok=False, message="", url=config.url, expected=expected)
    started = time.monotonic()
    token: str | None = None
    try:
        if config.token_url:
            t0 = time.monotonic()
            token = fetch_token(config, redact)
            report.latency_ms["token"] = (time.monotonic() - t0) * 1000
        t0 = time.monotonic()
        report.tools, report.pages = list_tools(config, token, redact)
        report.latency_ms["tools/list"] = (time.monotonic() - t0) * 1000
    except SmokeFailure as failure:
        report.latency_ms["total"] = (time.monotonic() - started) * 1000
        report.message = redact(str(failure))
        report.failed_step = failure.step
        report.retryable = failure.retryable
        return report
    report.latency_ms["total"] = (time.monotonic() - started) * 1000
    report.missing, report.extra = compare(report.tools, expected)
    where = "gateway" if config.target_name else "endpoint"
    if report.missing:
        found = len(expected) - len(report.missing)
        report.message = (
            f"{where} listed {found} of {len(expected)} expected tools; missing: "
            + ", ".join(report.missing)
        )
        report.failed_step = "compare"
        # Right after a deploy the gateway may still serve the previous tool list.
        report.retryable = True
    elif report.extra and not config.allow_extra:
        report.message = (
            f"{where} listed {len(report.extra)} tool(s) that should not be there: "
            + ", ".join(report.extra)
        )
        report.failed_step = "compare"
        report.retryable = True
    elif not report.tools:
        report.message = f"{where} listed no tools at all"
        report.failed_step = "compare"
        report.retryable = True
    else:
        report.ok = True
        report.message = f"{where} listed all {len(expected)} expected tools" + (
            f" (and {len(report.extra)} more)" if report.extra else ""
        )
    return report
