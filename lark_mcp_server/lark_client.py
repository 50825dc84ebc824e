"""The Lark OpenAPI client: tenant token, retries, deadlines and errors. Knows no tools.

One `LarkClient` per process holds one pooled `aiohttp.ClientSession` (the HTTP client with the
least CPU per request of those measured: bench/README.md) and the tenant token cache; aiohttp
is imported on the first call, so a cold start does not pay for it.
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
import json as jsonlib
import logging
import random
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode

from .paths import Segment, build

if TYPE_CHECKING:
    import aiohttp
    import httpx2

TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"
INVALID_TOKEN_CODES = frozenset({99991663, 99991664, 99991671, 99991661, 99991668, 99991677})
RATE_LIMIT_CODE = 99991400
PERMISSION_CODES = frozenset({99991672, 99991679, 99991676})
CREDENTIAL_CODES = frozenset({10003, 10014, 10015})
_SCOPE_RE = re.compile(r"\b[a-z_]+(?::[a-z_.]+)+\b")
_BACKOFF_CAP = 8.0
_CONNECT_RETRIES = 3  # a refused connection is more often a wrong LARK_DOMAIN than a blip
CONNECT_TIMEOUT = 5.0  # seconds to get a connection (pool wait included), at most HTTP_TIMEOUT
POOL_SIZE = 64  # connections to Lark at once; more calls wait for one (within the connect timeout)
KEEPALIVE = 5.0  # seconds an idle connection is kept (httpx2's default, which this client had)
USER_AGENT = "lark-mcp-server"

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
    ) -> None:
        self._credentials = credentials
        self._domain = domain
        self._http_timeout = http_timeout
        self._connect_timeout = min(http_timeout, CONNECT_TIMEOUT)
        self._session: aiohttp.ClientSession | None = None
        self._proxy: str | None = None
        self._refresh_client: httpx2.AsyncClient | None = None
        self.call_deadline = call_deadline
        self.retry_base = retry_base
        self.rate_limit_cap = rate_limit_cap
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()

    def _http(self) -> aiohttp.ClientSession:
        """The pooled session, built on first use (inside the running loop, as aiohttp needs):
        importing aiohttp and building its TLS context would cost ~100 ms of cold start."""
        if self._session is None:
            self._session = open_session()
            self._proxy = env_proxy(self._domain)
        return self._session

    def http(self) -> httpx2.AsyncClient:
        """An httpx2 client for the user-token refresh (not an OpenAPI call; rare, and
        user_tokens.py maps httpx2's errors), with the settings the OpenAPI client has."""
        if self._refresh_client is None:
            import httpx2

            self._refresh_client = httpx2.AsyncClient(
                base_url=self._domain,
                timeout=httpx2.Timeout(self._http_timeout, connect=self._connect_timeout),
                limits=httpx2.Limits(max_connections=POOL_SIZE, max_keepalive_connections=32),
                headers={"User-Agent": USER_AGENT},
                follow_redirects=False,
            )
        return self._refresh_client

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._refresh_client is not None:
            await self._refresh_client.aclose()
            self._refresh_client = None

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
        import aiohttp  # already loaded by _http(); a dict lookup from here on

        session = self._http()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        url = self._domain + path
        query = encode_query({k: v for k, v in (params or {}).items() if v is not None})
        if query:
            url += "?" + query
        data: bytes | None = None
        if json is not None:
            if isinstance(json, dict):
                # Optional arguments left out rather than sent as null (Lark rejects some nulls).
                json = {k: v for k, v in json.items() if v is not None}
            data = encode_json(json)
            headers["Content-Type"] = "application/json"
        target = _url(url)
        failures = 0
        last_problem = "no answer"
        while True:
            remaining = call.remaining()
            if remaining <= 0:
                raise self._timed_out(call, path, last_problem)
            call.attempts += 1
            limit = min(self._http_timeout, remaining)
            try:
                async with session.request(
                    method,
                    target,
                    data=data,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(
                        total=limit, connect=min(self._connect_timeout, limit)
                    ),
                    allow_redirects=False,
                    proxy=self._proxy,
                ) as reply:
                    response = Answer(reply.status, reply.headers, await reply.read())
            except (aiohttp.ClientError, TimeoutError) as exc:
                # A request that never connected cannot have been acted on; any other transport
                # failure is ambiguous for a write and only retried when it is idempotent.
                sent = not isinstance(exc, not_sent_errors())
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
            if response.status == 401 or code in INVALID_TOKEN_CODES:
                if token is None:
                    raise _error_from(response, body, path)
                raise _InvalidToken()
            if response.status == 429 or code == RATE_LIMIT_CODE:
                last_problem = "rate limited by Lark"
                failures += 1
                await self._pause(call, self._rate_wait(response, failures), path, last_problem)
                continue
            if response.status >= 500:
                last_problem = f"HTTP {response.status} from Lark"
                if not idempotent:
                    raise LarkError(
                        f"Lark answered HTTP {response.status} to a write that carries no "
                        "idempotency key; it may or may not have taken effect. Check in Lark "
                        "before repeating it.",
                        code=code if isinstance(code, int) else None,
                        msg=body.get("msg"),
                        http_status=response.status,
                    )
                failures += 1
                await self._pause(call, self._backoff(failures), path, last_problem)
                continue
            if code == 0 and response.status < 400:
                return body
            raise _error_from(response, body, path, as_user=call.user is not None)

    def _backoff(self, failures: int) -> float:
        return min(self.retry_base * 2 ** (failures - 1), _BACKOFF_CAP) * random.uniform(0.5, 1.5)

    def _rate_wait(self, response: Answer, failures: int) -> float:
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


@dataclass(frozen=True)
class Answer:
    """Lark's reply to one attempt, read in full (its JSON bodies are small)."""

    status: int
    headers: Mapping[str, str]
    content: bytes


def open_session() -> aiohttp.ClientSession:
    """The pooled aiohttp session, configured as the httpx2 client it replaced was.

    The TLS context is httpcore2's default one, so the same CA certificates are trusted
    (`SSL_CERT_FILE` and `SSL_CERT_DIR` included). Proxies come from `env_proxy`, read once:
    aiohttp's `trust_env` would read the environment and ~/.netrc again on every request, in a
    thread. No cookie jar: calls for different people share the session, and Lark's API needs
    none. aiohttp's own retry of PUT/DELETE on a dropped connection is switched off: only
    `LarkClient._send` decides what is safe to send twice.
    """
    import aiohttp
    import httpcore2

    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(
            limit=POOL_SIZE,
            limit_per_host=0,
            keepalive_timeout=KEEPALIVE,
            ssl=httpcore2.default_ssl_context(),
        ),
        headers={"User-Agent": USER_AGENT},
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=None),
    )
    if not hasattr(session, "_retry_connection"):
        raise RuntimeError("aiohttp changed: cannot turn off its own retry of PUT/DELETE")
    session._retry_connection = False
    return session


def env_proxy(origin: str) -> str | None:
    """The proxy `HTTP_PROXY`/`HTTPS_PROXY` (else `ALL_PROXY`) names for `origin`'s scheme,
    unless `NO_PROXY` exempts its host: the variables httpx2 honoured by default, read once as
    it did. Only http:// and https:// proxies (aiohttp speaks no SOCKS)."""
    from urllib.parse import urlsplit
    from urllib.request import getproxies, proxy_bypass

    parts = urlsplit(origin)
    if parts.hostname and proxy_bypass(parts.hostname):
        return None
    proxies = getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if proxy and not proxy.startswith(("http://", "https://")):
        logging.getLogger("lark_mcp_server").warning(
            "ignoring proxy %s for Lark: only http:// and https:// proxies are supported",
            proxy.split("://")[0] + "://...",
        )
        return None
    return proxy or None


def not_sent_errors() -> tuple[type[BaseException], ...]:
    """aiohttp's failures that happen before a byte of the request reached Lark: no
    connection could be made (refused, DNS, TLS handshake, proxy) or none was free in time.
    Anything else (a dropped connection, a read timeout, a truncated body) may come after
    Lark acted on the request."""
    import aiohttp

    return (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError, aiohttp.InvalidURL)


def encode_query(params: Mapping[str, Any]) -> str:
    """The query string httpx2 sends for `params`: lists repeat their key, booleans are
    `true`/`false`, None inside a list is empty, everything else `str()`, form-encoded."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        for item in value if isinstance(value, list | tuple) else (value,):
            pairs.append((str(key), _primitive(item)))
    return urlencode(pairs)


def _primitive(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "" if value is None else str(value)


def encode_json(value: Any) -> bytes:
    """A JSON body as httpx2 encodes one: UTF-8, compact, no NaN."""
    return jsonlib.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _url(url: str) -> Any:
    """`url` as aiohttp sends it, unchanged: the path is already percent-encoded by
    `paths.build` and the query by `encode_query`."""
    from yarl import URL

    return URL(url, encoded=True)


class _InvalidToken(Exception):
    """Internal signal: Lark called our tenant token invalid."""


def _decode(response: Answer) -> dict[str, Any]:
    try:
        body = jsonlib.loads(response.content)
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
    response: Answer, body: dict[str, Any], path: str, *, as_user: bool = False
) -> LarkError:
    code = body.get("code")
    code = code if isinstance(code, int) else None
    msg = str(body.get("msg") or "").strip() or f"HTTP {response.status}"
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
            text, code=code, msg=msg, http_status=response.status, scopes=scopes, log_id=log_id
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
            http_status=response.status,
            scopes=scopes,
            log_id=log_id,
        )
    if code in CREDENTIAL_CODES or (path == TOKEN_PATH and code != 0):
        text = (
            f"{where}: {msg}. Lark rejected the app credentials: check LARK_APP_ID and "
            "LARK_APP_SECRET (or the secret LARK_SECRET_ARN points to) against the app's "
            "Credentials page in the developer console."
        )
        return LarkError(text, code=code, msg=msg, http_status=response.status, log_id=log_id)
    text = f"{where}: {msg}"
    if log_id:
        text += f" (log_id {log_id})"
    return LarkError(text, code=code, msg=msg, http_status=response.status, log_id=log_id)
