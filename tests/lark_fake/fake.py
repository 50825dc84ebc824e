"""FakeLark: the in-memory Lark tenant, its HTTP app, and the knobs tests turn.

One Starlette app serves every OpenAPI path the MCP server calls. A request goes through the
same gates a real call meets at Lark's gateway, in the same order: injected faults (latency,
429, 5xx), the tenant_access_token check, the scope check, then the API handler. State is
plain dicts and lists so tests can read what the server wrote.
"""

from __future__ import annotations

import asyncio
import copy
import json
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from . import (
    approval,
    auth,
    bench_pages,
    bitable,
    calendar_api,
    comments,
    contact,
    control,
    docs,
    im,
    oauth,
    sheets,
    task,
    user_api,
)
from .errors import (
    INVALID_TOKEN,
    MISSING_TOKEN,
    NO_SCOPE,
    RATE_LIMITED,
    LarkError,
    field_error,
)
from .routing import Call, Endpoint
from .seed import build_seed

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Reads that Lark exposes as POST (they store nothing, so after_commit does not apply).
_READ_POSTS = ("/records/search", "/freebusy/list", "/users/batch_get_id", "/find")
_OAUTH_AREA = "/open-apis/authen/"  # served by oauth.py, outside the dispatcher


@dataclass
class RecordedRequest:
    """One request as the fake received it (tests assert on what the server sent)."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    headers: dict[str, str]
    status: int = 0  # HTTP status the fake answered with
    code: int | None = None  # Lark `code` in the answer, when it was JSON
    open_id: str | None = None  # the user whose user_access_token made the call; None: the bot
    route: str | None = None  # the endpoint template it matched; None: no Lark endpoint


@dataclass
class _Fault:
    path: str
    methods: tuple[str, ...]
    rate_429: float
    rate_5xx: float
    latency: float
    ratelimit_reset: int
    after_commit: bool


@dataclass
class _Token:
    value: str
    expires_at: float
    revoked: bool = False


class FakeLark:
    """An HTTP-level fake of the Lark/Feishu OpenAPI for loopback tests.

    Seeded data is deterministic and independent of `seed`; `seed` drives only the
    randomness of injected faults, so a failing run replays exactly.
    """

    TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"

    def __init__(
        self,
        *,
        app_id: str = "cli_fake_app",
        app_secret: str = "fake-secret",
        token_ttl: int = 7200,
        seed: int = 0,
        bench_pages: bool = False,
    ) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.token_ttl = token_ttl
        self.seed = seed
        self.bench_pages = bench_pages  # 20-item pages for make bench (bench_pages.py)
        self.tenant_key = "fake_tenant_1"
        self.base_url = ""
        self._tokens: dict[str, _Token] = {}
        self.oauth = oauth.FakeOAuth()  # user sign-in (tests/lark_fake/oauth.py)
        self.reset()
        self.app = self._build_app()

    # ----------------------------------------------------------------- state

    def reset(self) -> None:
        """Back to the seeded data, no faults, no denials, empty request log.

        Issued tokens stay valid (a server under test keeps its cached token across tests),
        except revoked ones, which stay revoked.
        """
        seeded = build_seed(self.app_id, self.tenant_key)
        self.users: list[dict[str, Any]] = seeded["users"]
        self.chats: list[dict[str, Any]] = seeded["chats"]
        self.chat_members: dict[str, list[str]] = seeded["chat_members"]
        self.p2p_chats: dict[str, dict[str, Any]] = {}  # bot <-> user chats made by sending
        self.messages: list[dict[str, Any]] = seeded["messages"]
        self.documents: dict[str, dict[str, Any]] = seeded["documents"]
        self.wiki_spaces: list[dict[str, Any]] = seeded["wiki_spaces"]
        self.wiki_nodes: list[dict[str, Any]] = seeded["wiki_nodes"]
        self.drive_files: dict[str, list[dict[str, Any]]] = seeded["drive_files"]
        self.root_folder_token: str = seeded["root_folder_token"]
        self.calendars: list[dict[str, Any]] = seeded["calendars"]
        self.events: list[dict[str, Any]] = seeded["events"]
        self.attendees: dict[str, list[dict[str, Any]]] = seeded["attendees"]
        self.busy: dict[str, list[tuple[int, int]]] = seeded["busy"]
        self.bases: dict[str, dict[str, Any]] = seeded["bases"]
        self.records: dict[str, list[dict[str, Any]]] = {
            table_id: table["records"]
            for base in self.bases.values()
            for table_id, table in base["tables"].items()
        }
        self.tasks: list[dict[str, Any]] = seeded["tasks"]
        self.spreadsheets: dict[str, dict[str, Any]] = sheets.load(seeded["spreadsheets"])
        self.approvals: list[dict[str, Any]] = seeded["approvals"]
        self.comments: dict[str, list[dict[str, Any]]] = seeded["comments"]
        self.withheld_fields: set[str] = set()  # user fields the app has no scope for
        if getattr(self, "bench_pages", False):
            bench_pages.extend(self)
        self.requests: list[RecordedRequest] = []
        self.token_fetches = 0
        self._writes: dict[str, list[dict[str, Any]]] = {}
        self._idempotent: dict[tuple[str, str], dict[str, Any]] = {}
        self._faults: list[_Fault] = []
        self._denied: list[tuple[str, list[str]]] = []
        self._rng = random.Random(self.seed)
        self._counter = 0
        # OAuth knobs back to "Alice consents"; tokens already issued stay as they are.
        self.oauth.signed_in = "ou_alice"
        self.oauth.no_access = set()
        self.oauth.deny_consent = False
        self.oauth.redirect_uris = None
        self.oauth.grants = []

    def writes(self, kind: str) -> list[dict[str, Any]]:
        """Objects the clients created, by kind.

        Kinds: "message" (sent and replies), "document", "block", "event", "attendee",
        "record", "record_update", "task", "task_update", "event_update", "event_delete",
        "sheet_write", "sheet_append", "approval_decision", "comment".
        """
        return list(self._writes.get(kind, []))

    def user(self, key: str) -> dict[str, Any]:
        """A seeded user by open_id, user_id, union_id, email or name (test convenience)."""
        for u in self.users:
            if key in (u["open_id"], u["user_id"], u["union_id"], u["email"], u["name"]):
                return u
        raise KeyError(key)

    # ------------------------------------------------------------ test knobs

    def inject(
        self,
        *,
        path: str = "",
        methods: tuple[str, ...] = ("GET", "POST", "PUT", "PATCH", "DELETE"),
        rate_429: float = 0.0,
        rate_5xx: float = 0.0,
        latency: float = 0.0,
        ratelimit_reset: int = 1,
        after_commit: bool = False,
    ) -> None:
        """Add a fault rule for requests whose path starts with `path` (rules accumulate).

        429 answers carry `x-ogw-ratelimit-reset: <ratelimit_reset>` and code 99991400.
        `after_commit=True` lets a write be stored before its 5xx answer goes out.
        """
        self._faults.append(
            _Fault(
                path,
                tuple(m.upper() for m in methods),
                rate_429,
                rate_5xx,
                latency,
                ratelimit_reset,
                after_commit,
            )
        )

    def clear_faults(self) -> None:
        self._faults.clear()

    async def oauth_latency(self, path: str) -> None:
        """Apply the latency of fault rules aimed at the OAuth pages (`/open-apis/authen/...`).

        The OAuth pages are served outside the OpenAPI dispatcher, so broad rules (`/open-apis/`)
        leave them alone; a rule naming the authen area, e.g. the token endpoint, slows them.
        """
        for fault in self._faults:
            aimed_here = fault.path.startswith(_OAUTH_AREA) and path.startswith(fault.path)
            if aimed_here and fault.latency:
                await asyncio.sleep(fault.latency)

    def revoke_tokens(self) -> None:
        """Every token issued so far answers 99991663 from now on."""
        for tok in self._tokens.values():
            tok.revoked = True

    def deny(self, path: str, scopes: list[str]) -> None:
        """Requests under `path` answer 99991672, naming `scopes` as Lark does."""
        self._denied.append((path, list(scopes)))

    # --------------------------------------------------------- for handlers

    def new_id(self, prefix: str, width: int = 6) -> str:
        """Deterministic ids for created objects (om_c000001, ...)."""
        self._counter += 1
        return f"{prefix}{self._counter:0{width}d}"

    def record_write(self, kind: str, obj: dict[str, Any]) -> None:
        self._writes.setdefault(kind, []).append(obj)

    def remembered(self, kind: str, key: str | None) -> dict[str, Any] | None:
        """The answer first given for this idempotency key, if any (then nothing is stored)."""
        if not key:
            return None
        hit = self._idempotent.get((kind, key))
        return copy.deepcopy(hit) if hit is not None else None

    def remember(self, kind: str, key: str | None, data: dict[str, Any]) -> None:
        if key:
            self._idempotent[(kind, key)] = copy.deepcopy(data)

    def issue_token(self) -> tuple[str, int]:
        """Lark hands back the current token while it has over 30 min left, else a new one."""
        now = time.time()
        for tok in self._tokens.values():
            remaining = int(tok.expires_at - now)
            if not tok.revoked and remaining > 1800:
                return tok.value, remaining
        value = "t-" + secrets.token_hex(20)
        self._tokens[value] = _Token(value, now + self.token_ttl)
        return value, self.token_ttl

    def record(self, request: Request, body: Any, status: int = 0) -> RecordedRequest:
        """Log a request served outside the OpenAPI dispatcher (the OAuth pages)."""
        rec = RecordedRequest(
            request.method,
            request.url.path,
            dict(request.query_params),
            body,
            {k.lower(): v for k, v in request.headers.items()},
            status=status,
        )
        self.requests.append(rec)
        return rec

    # ------------------------------------------------------------ HTTP plumbing

    def _build_app(self) -> Starlette:
        endpoints: list[Endpoint] = [
            *auth.endpoints(),
            *im.endpoints(),
            *docs.endpoints(),
            *calendar_api.endpoints(),
            *contact.endpoints(),
            *bitable.endpoints(),
            *task.endpoints(),
            *sheets.endpoints(),
            *approval.endpoints(),
            *comments.endpoints(),
            *oauth.endpoints(),
            *user_api.endpoints(),
        ]
        by_path: dict[str, dict[str, Endpoint]] = {}
        for ep in endpoints:
            by_path.setdefault(ep.path, {})[ep.method] = ep
        routes = oauth.routes(self)  # the OAuth pages are not JSON-envelope OpenAPIs
        routes += [
            Route(path, self._dispatcher(methods), methods=list(methods))
            for path, methods in by_path.items()
        ]
        routes += control.routes(self)
        routes.append(Route("/{rest:path}", self._unknown, methods=list(WRITE_METHODS | {"GET"})))
        return Starlette(routes=routes)

    async def _unknown(self, request: Request) -> Response:
        """Paths Lark does not serve: recorded, then the gateway's plain-text 404."""
        body = await request.body()
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        self.requests.append(
            RecordedRequest(
                request.method,
                request.url.path,
                dict(request.query_params),
                parsed,
                {k.lower(): v for k, v in request.headers.items()},
                status=404,
            )
        )
        return PlainTextResponse("404 page not found", status_code=404)

    def _dispatcher(self, methods: dict[str, Endpoint]) -> Callable[[Request], Awaitable[Response]]:
        async def dispatch(request: Request) -> Response:
            return await self._serve(request, methods[request.method])

        return dispatch

    async def _serve(self, request: Request, ep: Endpoint) -> Response:
        raw = await request.body()
        body: Any = None
        body_error = ""
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body_error = "request body is not valid JSON"
        query = dict(request.query_params)
        headers = {k.lower(): v for k, v in request.headers.items()}
        path = request.url.path
        if path == self.TOKEN_PATH:
            self.token_fetches += 1
        rec = RecordedRequest(request.method, path, query, body, headers, route=ep.path)
        self.requests.append(rec)
        response = await self._answer(
            request.method, path, query, headers, body, body_error, ep, request, rec
        )
        rec.status = response.status_code
        if response.media_type == "application/json":
            try:
                rec.code = json.loads(response.body).get("code")
            except (ValueError, AttributeError):
                rec.code = None
        return response

    async def _answer(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: Any,
        body_error: str,
        ep: Endpoint,
        request: Request,
        rec: RecordedRequest,
    ) -> Response:
        log_id = secrets.token_hex(16)
        post_commit_5xx: int | None = None
        is_write = method in WRITE_METHODS and not path.endswith(_READ_POSTS)
        for fault in self._faults:
            if not path.startswith(fault.path) or method not in fault.methods:
                continue
            if fault.latency:
                await asyncio.sleep(fault.latency)
            if fault.rate_429 and self._rng.random() < fault.rate_429:
                return self._json(
                    429,
                    {"code": RATE_LIMITED, "msg": "request trigger frequency limit"},
                    log_id,
                    extra_headers={
                        "x-ogw-ratelimit-limit": "50",
                        "x-ogw-ratelimit-reset": str(fault.ratelimit_reset),
                    },
                )
            if fault.rate_5xx and self._rng.random() < fault.rate_5xx:
                status = self._rng.choice((500, 502, 503))
                if fault.after_commit and is_write:
                    post_commit_5xx = post_commit_5xx or status
                else:
                    return self._server_error(status, log_id)

        if ep.authenticated:
            denied, rec.open_id = self._gate(path, headers)
            if denied is not None:
                return self._json(denied.status, self._error_body(denied, log_id), log_id)
        try:
            if body_error or (body is not None and not isinstance(body, dict)):
                raise field_error("body", body_error or "body must be a JSON object")
            # Lark reads a top-level JSON null as "not given" (Base `fields` keep theirs).
            given = {k: v for k, v in (body or {}).items() if v is not None}
            call = Call(method, path, query, dict(request.path_params), given, headers, rec.open_id)
            data = await ep.handler(self, call)
        except LarkError as err:
            return self._json(err.status, self._error_body(err, log_id), log_id)
        if post_commit_5xx is not None:
            return self._server_error(post_commit_5xx, log_id)
        if ep.raw:
            return self._json(200, data, log_id)
        return self._json(200, {"code": 0, "msg": "success", "data": data}, log_id)

    def _gate(self, path: str, headers: dict[str, str]) -> tuple[LarkError | None, str | None]:
        """Token check then scope check, as Lark's gateway does before the API runs.

        Returns (the error to answer, or None; the open_id of a user token's owner, or None).
        """
        auth_header = headers.get("authorization", "")
        scheme, _, token = auth_header.partition(" ")
        token = token.strip()
        if not auth_header or scheme.lower() != "bearer" or not token:
            return LarkError(
                MISSING_TOKEN,
                "Missing access token for authorization. "
                "Please make a request with token attached.",
            ), None
        open_id = None
        if token.startswith("u-"):  # a user_access_token (tests/lark_fake/oauth.py)
            open_id, refused = self.oauth.caller(token)
            if refused is not None:
                return refused, None
        else:
            tok = self._tokens.get(token)
            if tok is None or tok.revoked or tok.expires_at <= time.time():
                return LarkError(
                    INVALID_TOKEN,
                    "Invalid access token for authorization. "
                    "Please make a request with token attached.",
                ), None
        for prefix, scopes in self._denied:
            if path.startswith(prefix):
                return self._scope_error(scopes), open_id
        return None, open_id

    def _scope_error(self, scopes: list[str]) -> LarkError:
        listed = ", ".join(scopes)
        link = (
            f"https://open.feishu.cn/app/{self.app_id}/auth?q={','.join(scopes)}"
            "&op_from=openapi&token_type=tenant"
        )
        msg = (
            f"Access denied. One of the following scopes is required: [{listed}]."
            f"应用尚未开通所需的应用身份权限：[{listed}]，点击链接申请并开通任一权限即可：{link}"
        )
        return LarkError(
            NO_SCOPE,
            msg,
            extra={
                "permission_violations": [
                    {"type": "action_scope_required", "subject": s} for s in scopes
                ],
                "helps": [
                    {"url": link, "description": "apply for the scopes in the developer console"}
                ],
            },
        )

    @staticmethod
    def _error_body(err: LarkError, log_id: str) -> dict[str, Any]:
        return {
            "code": err.code,
            "msg": err.msg,
            "error": {
                "log_id": log_id,
                "troubleshooter": "排查建议查看(Troubleshooting suggestions): "
                f"https://open.feishu.cn/search?from=openapi&log_id={log_id}&code={err.code}",
                **err.extra,
            },
        }

    @staticmethod
    def _json(
        status: int,
        body: dict[str, Any],
        log_id: str,
        extra_headers: dict[str, str] | None = None,
    ) -> JSONResponse:
        headers = {"x-tt-logid": log_id, **(extra_headers or {})}
        return JSONResponse(body, status_code=status, headers=headers)

    def _server_error(self, status: int, log_id: str) -> Response:
        # Lark's 500s are JSON; a 502/503 from the gateway in front of it is not.
        if status == 500:
            return self._json(500, {"code": 1, "msg": "internal error"}, log_id)
        text = "502 Bad Gateway" if status == 502 else "503 Service Temporarily Unavailable"
        return PlainTextResponse(text, status_code=status, headers={"x-tt-logid": log_id})
