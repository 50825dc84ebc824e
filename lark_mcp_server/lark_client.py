"""The Lark OpenAPI client: tenant token, retries, deadlines and errors. Knows no tools.

One `LarkClient` per process holds one pooled `httpx2.AsyncClient` and the tenant token cache.
Each tool call opens a `LarkCall`: it carries the call's deadline (45 s for everything, retries
included), counts attempts and records which endpoints were hit, for the call's log line.
A request names its path as a literal template plus `paths.Segment`s (see paths.py): no
argument reaches a path any other way.

Retries never duplicate a write. A request is retried after an ambiguous failure (5xx, a
timeout after the request went out) only when it is idempotent: a read, or a write carrying an
idempotency key the tool generated once for the call (message `uuid`, event
`idempotency_key`, block `client_token`) and which every retry reuses unchanged. A write
without a key is retried only when Lark certainly did not act on it (rate limit, invalid
token, connection refused).
"""

from __future__ import annotations

import asyncio
import random
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx2

from .paths import Segment, build

TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"
INVALID_TOKEN_CODES = frozenset({99991663, 99991664, 99991671, 99991661, 99991668, 99991677})
RATE_LIMIT_CODE = 99991400
PERMISSION_CODES = frozenset({99991672, 99991679, 99991676})
CREDENTIAL_CODES = frozenset({10003, 10014, 10015})
_SCOPE_RE = re.compile(r"\b[a-z_]+(?::[a-z_.]+)+\b")
_BACKOFF_CAP = 8.0
_CONNECT_RETRIES = 3  # a refused connection is more often a wrong LARK_DOMAIN than a blip

CredentialGetter = Callable[[], Awaitable[tuple[str, str]]]


class LarkError(Exception):
    """Lark refused or could not serve a request; the message is written for the agent."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        msg: str | None = None,
        http_status: int | None = None,
        scopes: tuple[str, ...] = (),
        log_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.msg = msg
        self.http_status = http_status
        self.scopes = scopes
        self.log_id = log_id


class CredentialsMissing(LarkError):
    """No app credentials configured: the call cannot reach Lark at all."""


class SignInRequired(LarkError):
    """The signed-in person must sign in again; the call never falls back to the bot."""


class UserTokens(Protocol):
    """Where a call acting as a person gets that person's Lark user access token."""

    async def access_token(self, open_id: str, *, rejected: str | None = None) -> str: ...

    async def require_sign_in(self, open_id: str) -> None: ...


@dataclass(frozen=True)
class User:
    """The signed-in person a call acts as."""

    open_id: str
    tokens: UserTokens


def _is_write(method: str) -> bool:
    return method.upper() not in ("GET", "HEAD")


@dataclass
class LarkCall:
    """One tool call's view of Lark: a deadline shared by all its requests, plus a tally."""

    client: LarkClient
    tool: str
    deadline: float
    endpoints: list[str] = field(default_factory=list)
    attempts: int = 0
    user: User | None = None
    """Set when the call acts as a signed-in person (their token); None: as the bot."""
    acting_for: str | None = None
    """The verified person's open_id when an app-token tool acts on their behalf."""

    @property
    def as_user(self) -> bool:
        return self.user is not None

    @staticmethod
    def new_key() -> str:
        """An idempotency key: make it once per tool call, before the request, and reuse it."""
        return str(uuid.uuid4())

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    async def get(
        self, template: str, *segments: Segment, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """GET `template` with its `{placeholders}` filled by `segments` (see paths.py)."""
        return await self.client.request(self, "GET", template, segments, params=params)

    async def post(
        self,
        template: str,
        *segments: Segment,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool = False,
    ) -> dict[str, Any]:
        """POST; `idempotent=True` when the body/params carry a key or the call only reads."""
        return await self.client.request(
            self, "POST", template, segments, json=json, params=params, idempotent=idempotent
        )

    async def put(
        self,
        template: str,
        *segments: Segment,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool = False,
    ) -> dict[str, Any]:
        """PUT; `idempotent=True` when sending it twice leaves the same state."""
        return await self.client.request(
            self, "PUT", template, segments, json=json, params=params, idempotent=idempotent
        )

    async def delete(
        self,
        template: str,
        *segments: Segment,
        params: Mapping[str, Any] | None = None,
        idempotent: bool = False,
    ) -> dict[str, Any]:
        """DELETE; `idempotent=True` when deleting twice leaves the same state."""
        return await self.client.request(
            self, "DELETE", template, segments, params=params, idempotent=idempotent
        )

    async def patch(
        self,
        template: str,
        *segments: Segment,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool = False,
    ) -> dict[str, Any]:
        """PATCH; `idempotent=True` when sending it twice leaves the same state."""
        return await self.client.request(
            self, "PATCH", template, segments, json=json, params=params, idempotent=idempotent
        )


class LarkClient:
    """Talks to one Lark OpenAPI origin with one app's tenant token."""

    def __init__(
        self,
        domain: str,
        credentials: CredentialGetter,
        *,
        http_timeout: float = 10.0,
        call_deadline: float = 45.0,
        retry_base: float = 0.5,
        rate_limit_cap: float = 10.0,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self._credentials = credentials
        self._domain = domain
        self._http_timeout = http_timeout
        self._transport = transport
        self._client: httpx2.AsyncClient | None = None
        self.call_deadline = call_deadline
        self.retry_base = retry_base
        self.rate_limit_cap = rate_limit_cap
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()

    @property
    def _http(self) -> httpx2.AsyncClient:
        """The pooled client, built on first use: its TLS context costs ~50 ms of cold start."""
        if self._client is None:
            self._client = httpx2.AsyncClient(
                base_url=self._domain,
                timeout=httpx2.Timeout(self._http_timeout, connect=min(self._http_timeout, 5.0)),
                limits=httpx2.Limits(max_connections=64, max_keepalive_connections=32),
                headers={"User-Agent": "lark-mcp-server"},
                transport=self._transport,
                follow_redirects=False,
            )
        return self._client

    def http(self) -> httpx2.AsyncClient:
        """The pooled client (for the user-token refresh, which is not an OpenAPI call)."""
        return self._http

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    def start_call(self, tool: str) -> LarkCall:
        return LarkCall(client=self, tool=tool, deadline=time.monotonic() + self.call_deadline)

    # -- tenant token -------------------------------------------------------------------------

    async def _tenant_token(self, call: LarkCall) -> str:
        if self._token and time.monotonic() < self._token_expires:
            return self._token
        async with self._token_lock:
            # Whoever waited on the lock finds the token the first caller fetched.
            if self._token and time.monotonic() < self._token_expires:
                return self._token
            app_id, app_secret = await self._credentials()
            body = await self._send(
                call,
                "POST",
                TOKEN_PATH,
                json={"app_id": app_id, "app_secret": app_secret},
                idempotent=True,
                token=None,
            )
            token = body.get("tenant_access_token")
            if not isinstance(token, str) or not token:
                raise LarkError(
                    "Lark answered the tenant token request without a token.",
                    code=body.get("code"),
                    msg=body.get("msg"),
                )
            expire = float(body.get("expire") or 7200)
            # Refresh shortly before Lark's expiry: 5 minutes early, or halfway for short tokens.
            self._token = token
            self._token_expires = time.monotonic() + max(expire - min(300.0, expire / 2), 1.0)
            return token

    def _drop_token(self, token: str) -> None:
        """Forget a token Lark called invalid, unless another call already replaced it."""
        if self._token == token:
            self._token = None
            self._token_expires = 0.0

    # -- requests -----------------------------------------------------------------------------

    async def request(
        self,
        call: LarkCall,
        method: str,
        template: str,
        segments: Iterable[Segment] = (),
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        """Send an authenticated request; returns Lark's `data` object (or `{}`).

        The path is `template` filled with `segments` by `paths.build`, the one place ids
        enter a path. The call's log names the template, so it never carries an argument.
        """
        path = build(template, segments)
        if idempotent is None:
            idempotent = not _is_write(method)
        call.endpoints.append(f"{method.upper()} {template}")
        refreshed = False
        rejected: str | None = None
        while True:
            if call.user is not None:
                token = await call.user.tokens.access_token(call.user.open_id, rejected=rejected)
            else:
                token = await self._tenant_token(call)
            try:
                body = await self._send(
                    call, method, path, params=params, json=json, idempotent=idempotent, token=token
                )
            except _InvalidToken:
                if call.user is not None:
                    # The person's token: renew it once (the store decides who refreshes).
                    if refreshed:
                        raise SignInRequired(
                            "Lark rejected your freshly renewed sign-in. Sign in again: in Quick "
                            'Suite, open the Lark integration that acts as you ("Lark as me") '
                            "and reconnect it.",
                            http_status=401,
                        ) from None
                    rejected, refreshed = token, True
                    continue
                self._drop_token(token)
                if refreshed:
                    raise LarkError(
                        "Lark rejected a freshly fetched tenant token. Check that the app is "
                        "enabled and LARK_DOMAIN matches where the app lives "
                        "(open.feishu.cn for Feishu, open.larksuite.com for Lark).",
                        http_status=401,
                    ) from None
                refreshed = True
                continue
            data = body.get("data")
            return data if isinstance(data, dict) else {}

    async def _send(
        self,
        call: LarkCall,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool,
        token: str | None,
    ) -> dict[str, Any]:
        """One logical request with its retries; returns the decoded body when `code == 0`."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        clean_params = {k: v for k, v in (params or {}).items() if v is not None}
        if isinstance(json, dict):
            # Optional arguments left out rather than sent as null (Lark rejects some nulls).
            json = {k: v for k, v in json.items() if v is not None}
        failures = 0
        last_problem = "no answer"
        while True:
            remaining = call.remaining()
            if remaining <= 0:
                raise self._timed_out(call, path, last_problem)
            call.attempts += 1
            try:
                response = await self._http.request(
                    method,
                    path,
                    params=clean_params,
                    json=json,
                    headers=headers,
                    timeout=min(self._http_timeout, remaining),
                )
            except httpx2.TransportError as exc:
                # A request that never connected cannot have been acted on; any other transport
                # failure is ambiguous for a write and only retried when it is idempotent.
                sent = not isinstance(exc, _NOT_SENT)
                last_problem = f"{type(exc).__name__} talking to Lark"
                if sent and not idempotent:
                    raise LarkError(
                        f"The connection to Lark failed after the request was sent "
                        f"({type(exc).__name__}); it may or may not have taken effect. Check in "
                        "Lark before repeating it.",
                    ) from None
                failures += 1
                if not sent and failures > _CONNECT_RETRIES:
                    raise LarkError(
                        f"Could not connect to {self._domain} ({type(exc).__name__}, "
                        f"{failures} attempts). Check LARK_DOMAIN and that this host can reach "
                        "it (egress, proxy, DNS)."
                    ) from None
                await self._pause(call, self._backoff(failures), path, last_problem)
                continue

            body = _decode(response)
            code = body.get("code")
            if response.status_code == 401 or code in INVALID_TOKEN_CODES:
                if token is None:
                    raise _error_from(response, body, path)
                raise _InvalidToken()
            if response.status_code == 429 or code == RATE_LIMIT_CODE:
                last_problem = "rate limited by Lark"
                failures += 1
                await self._pause(call, self._rate_wait(response, failures), path, last_problem)
                continue
            if response.status_code >= 500:
                last_problem = f"HTTP {response.status_code} from Lark"
                if not idempotent:
                    raise LarkError(
                        f"Lark answered HTTP {response.status_code} to a write that carries no "
                        "idempotency key; it may or may not have taken effect. Check in Lark "
                        "before repeating it.",
                        code=code if isinstance(code, int) else None,
                        msg=body.get("msg"),
                        http_status=response.status_code,
                    )
                failures += 1
                await self._pause(call, self._backoff(failures), path, last_problem)
                continue
            if code == 0 and response.status_code < 400:
                return body
            raise _error_from(response, body, path, as_user=call.user is not None)

    def _backoff(self, failures: int) -> float:
        return min(self.retry_base * 2 ** (failures - 1), _BACKOFF_CAP) * random.uniform(0.5, 1.5)

    def _rate_wait(self, response: httpx2.Response, failures: int) -> float:
        reset = response.headers.get("x-ogw-ratelimit-reset")
        try:
            wait = float(reset) if reset is not None else self._backoff(failures)
        except ValueError:
            wait = self._backoff(failures)
        return min(max(wait, 0.0), self.rate_limit_cap) + random.uniform(0, self.retry_base)

    async def _pause(self, call: LarkCall, wait: float, path: str, problem: str) -> None:
        if wait >= call.remaining():
            raise self._timed_out(call, path, problem)
        await asyncio.sleep(wait)

    def _timed_out(self, call: LarkCall, path: str, problem: str) -> LarkError:
        return LarkError(
            f"Lark did not answer {path} successfully within {self.call_deadline:g} s "
            f"({call.attempts} attempts; last problem: {problem}). Try again later."
        )


# Failures that happen before a byte of the request reached Lark.
_NOT_SENT = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)


class _InvalidToken(Exception):
    """Internal signal: Lark called our tenant token invalid."""


def _decode(response: httpx2.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _scopes(body: dict[str, Any]) -> tuple[str, ...]:
    """The scopes Lark says are missing: `error.permission_violations[].subject`, else the msg."""
    found: list[str] = []
    error = body.get("error")
    if isinstance(error, dict):
        for violation in error.get("permission_violations") or []:
            if isinstance(violation, dict) and isinstance(violation.get("subject"), str):
                found.append(violation["subject"])
    if not found:
        found = _SCOPE_RE.findall(str(body.get("msg") or ""))
    return tuple(dict.fromkeys(found))


def _error_from(
    response: httpx2.Response, body: dict[str, Any], path: str, *, as_user: bool = False
) -> LarkError:
    code = body.get("code")
    code = code if isinstance(code, int) else None
    msg = str(body.get("msg") or "").strip() or f"HTTP {response.status_code}"
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    log_id = error.get("log_id") or response.headers.get("x-tt-logid")
    where = f"Lark error {code} on {path}" if code is not None else f"Lark error on {path}"
    if as_user and (code in PERMISSION_CODES or (code is not None and "scope" in msg.lower())):
        scopes = _scopes(body)
        need = f"one of these scopes: {', '.join(scopes)}" if scopes else "the missing scope"
        text = (
            f"{where}: {msg}. You have not granted this app a permission it needs here ({need}). "
            "Sign in again to grant it: reconnect the Lark integration in your client; Lark "
            "adds the new permission to those you already granted. If the sign-in page does "
            "not ask for it, the administrator must add it to the app's user scopes (Lark "
            "developer console, and LARK_USER_SCOPES of the authorization server)."
        )
        return LarkError(
            text, code=code, msg=msg, http_status=response.status_code, scopes=scopes, log_id=log_id
        )
    if code in PERMISSION_CODES or (code is not None and "scope" in msg.lower()):
        scopes = _scopes(body)
        need = f" one of these scopes: {', '.join(scopes)}" if scopes else " the missing scope"
        text = (
            f"{where}: {msg}. The Lark app lacks a permission. In the Lark/Feishu developer "
            f"console, open the app, add{need} under Permissions & Scopes, then publish a new "
            "app version and retry."
        )
        return LarkError(
            text,
            code=code,
            msg=msg,
            http_status=response.status_code,
            scopes=scopes,
            log_id=log_id,
        )
    if code in CREDENTIAL_CODES or (path == TOKEN_PATH and code != 0):
        text = (
            f"{where}: {msg}. Lark rejected the app credentials: check LARK_APP_ID and "
            "LARK_APP_SECRET (or the secret LARK_SECRET_ARN points to) against the app's "
            "Credentials page in the developer console."
        )
        return LarkError(text, code=code, msg=msg, http_status=response.status_code, log_id=log_id)
    text = f"{where}: {msg}"
    if log_id:
        text += f" (log_id {log_id})"
    return LarkError(text, code=code, msg=msg, http_status=response.status_code, log_id=log_id)
