"""A loopback copy of the deployed path: Cognito-like issuer -> gateway stand-in -> MCP server.

- `Issuer`: an OAuth2 ``client_credentials`` token endpoint built on authlib's
  ``AuthorizationServer`` (HTTP Basic client auth, per-client allowed scopes), signing RS256
  JWTs shaped like Cognito's access tokens (``client_id``, ``scope``, ``token_use: access``, no
  ``aud``) and publishing its keys at a JWKS endpoint behind an OpenID discovery document.
- `GatewayStandIn`: what AgentCore Gateway's ``CUSTOM_JWT`` authorizer and MCP target do for
  ``tools/list``: fetch the discovery document and JWKS, verify the signature, issuer, expiry,
  allowed client and scope, then forward the JSON-RPC to the MCP server and prefix each tool
  name with ``<target>___``, answering as SSE and a few tools per page (``nextCursor``);
  ``tools/call`` of ``<target>___<tool>`` goes to the server by its bare name (a read-scope
  token only for read-only tools). Faults can be switched on to see what the smoke test says
  about them. ``rate_limits`` throttles like an ``AWS::BedrockAgentCore::GatewayRateLimit``
  keyed by the token's ``client_id`` claim (exact id, else ``*``; one bucket per client per
  minute), answering with the documented JSON-RPC error ``-32003``.
- `serve_in_thread` (from tests/loopback.py) / `start_server_process`: uvicorn on a pre-bound
  free loopback port, and a subprocess for ``python -m lark_mcp_server``.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx2
from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin, OAuth2Request
from authlib.oauth2.rfc6749.errors import InvalidScopeError
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.loopback import serve_in_thread as serve_in_thread

REPO = Path(__file__).resolve().parents[2]
TOKEN_LIFETIME = 3600


# --- issuer -----------------------------------------------------------------------------------


@dataclass
class AppClient(ClientMixin):
    """A Cognito app client: id, secret, the scopes it may ask for, client_credentials only."""

    client_id: str
    client_secret: str
    allowed_scopes: tuple[str, ...]

    def get_client_id(self) -> str:
        return self.client_id

    def check_client_secret(self, client_secret: str) -> bool:
        return client_secret == self.client_secret

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "client_secret_basic"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in scope.split() if s in self.allowed_scopes)


class _CognitoClientCredentials(ClientCredentialsGrant):
    """Cognito refuses a scope the app client is not allowed with ``invalid_scope``."""

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic"]

    def validate_requested_scope(self) -> None:
        requested = (self.request.payload.scope or "").split()
        allowed = self.request.client.allowed_scopes
        if not requested or any(s not in allowed for s in requested):
            raise InvalidScopeError()


class _FormRequest(OAuth2Request):
    def __init__(self, method: str, uri: str, headers: Headers, form: dict[str, str]):
        super().__init__(method=method, uri=uri, headers=headers)
        self.payload = BasicOAuth2Payload(form)
        self._form = form

    @property
    def form(self) -> dict[str, str]:
        return self._form

    @property
    def args(self) -> dict[str, str]:
        return {}


class Issuer(AuthorizationServer):
    """Token endpoint + discovery + JWKS; the issuer URL is set once its port is known."""

    def __init__(self, clients: list[AppClient]) -> None:
        super().__init__()
        self.clients = {c.client_id: c for c in clients}
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "alg": "RS256"})
        self.issuer_url = ""
        self.register_grant(_CognitoClientCredentials)
        self.register_token_generator("client_credentials", self._generate)
        self.app = Starlette(
            routes=[
                Route("/oauth2/token", self._token, methods=["POST"]),
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/.well-known/jwks.json", self._jwks),
            ]
        )

    # authlib framework hooks
    def query_client(self, client_id: str) -> AppClient | None:
        return self.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        pass

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass

    def create_oauth2_request(self, request: _FormRequest) -> _FormRequest:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> Response:
        return Response(json.dumps(body), status_code=status, headers=dict(headers))

    def _generate(self, *, client: AppClient, scope: str | None, **_: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {  # what a Cognito client-credentials access token carries (no "aud")
            "sub": client.client_id,
            "token_use": "access",
            "scope": scope or "",
            "auth_time": now,
            "iss": self.issuer_url,
            "exp": now + TOKEN_LIFETIME,
            "iat": now,
            "version": 2,
            "jti": str(uuid.uuid4()),
            "client_id": client.client_id,
        }
        token = jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, self.key)
        return {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME}

    async def _token(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        oauth_request = _FormRequest("POST", str(request.url), request.headers, form)
        return self.create_token_response(oauth_request)

    async def _discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer_url,
                "jwks_uri": f"{self.issuer_url}/.well-known/jwks.json",
                "token_endpoint": f"{self.issuer_url}/oauth2/token",
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def _jwks(self, request: Request) -> Response:
        return JSONResponse(KeySet([self.key]).as_dict(private=False))


# --- gateway stand-in -------------------------------------------------------------------------


@dataclass
class Faults:
    """Switches a test flips to make the stand-in misbehave the way a real gateway can."""

    status: int | None = None  # answer every MCP request with this HTTP status
    hide_tools: set[str] = field(default_factory=set)  # bare names to leave out of tools/list
    ignore_read_scope: bool = False  # list every tool even to read-only tokens


class GatewayStandIn:
    """``CUSTOM_JWT`` authorizer + one MCP target, as AgentCore Gateway presents them."""

    def __init__(
        self,
        *,
        discovery_url: str,
        allowed_clients: list[str],
        allowed_scopes: list[str],
        target_name: str,
        backend_url: str,
        page_size: int = 5,
        read_scope: str | None = None,
        read_only_tools: frozenset[str] = frozenset(),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.discovery_url = discovery_url
        self.allowed_clients = allowed_clients
        self.allowed_scopes = allowed_scopes
        self.target_name = target_name
        self.backend_url = backend_url
        self.page_size = page_size
        # Like the gateway's Cedar policies: a token with only `read_scope` sees these tools.
        self.read_scope = read_scope
        self.read_only_tools = read_only_tools
        self.faults = Faults()
        # Requests per minute by client id, "*" for any other client (empty: no rate limit),
        # and the HTTP status of a throttled answer.
        self.rate_limits: dict[str, int] = {}
        self.rate_limit_status = 429
        # Seconds since the epoch for the rate-limit minutes; tests pass a clock they move.
        self.clock = clock
        self._windows: dict[str, tuple[int, int]] = {}
        self._keys: KeySet | None = None
        self._issuer = ""
        self.app = Starlette(routes=[Route("/mcp", self._mcp, methods=["POST"])])

    async def _load_keys(self, client: httpx2.AsyncClient) -> KeySet:
        if self._keys is None:
            discovery = (await client.get(self.discovery_url)).json()
            self._issuer = discovery["issuer"]
            self._keys = KeySet.import_key_set((await client.get(discovery["jwks_uri"])).json())
        return self._keys

    async def _authorize(
        self, request: Request, client: httpx2.AsyncClient
    ) -> tuple[str | None, set[str], str]:
        """(None, token scopes, client id) when the bearer token is acceptable, else (why not,
        {}, "")."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return "missing bearer token", set(), ""
        try:
            decoded = jwt.decode(token, await self._load_keys(client), algorithms=["RS256"])
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self._issuer},
                exp={"essential": True},
                token_use={"essential": True, "value": "access"},
            ).validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            return f"invalid token: {exc}", set(), ""
        if decoded.claims.get("client_id") not in self.allowed_clients:
            return "client is not allowed", set(), ""
        scopes = set(str(decoded.claims.get("scope", "")).split())
        if not set(self.allowed_scopes) & scopes:
            return "token lacks an allowed scope", set(), ""
        return None, scopes, str(decoded.claims["client_id"])

    async def _mcp(self, request: Request) -> Response:
        body = await request.json()
        async with httpx2.AsyncClient(timeout=10) as client:
            refusal, scopes, client_id = await self._authorize(request, client)
            if refusal:
                return JSONResponse(
                    {
                        "jsonrpc": "2.0",
                        "id": body.get("id"),
                        "error": {"code": -32001, "message": f"Unauthorized: {refusal}"},
                    },
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                )
            throttled = self._throttle(client_id, body.get("id"))
            if throttled is not None:
                return throttled
            if self.faults.status:
                return Response(
                    "upstream target is unavailable, try again later",
                    status_code=self.faults.status,
                )
            if body.get("method") == "tools/call":
                message = await self._call_tool(client, body, scopes)
                return Response(
                    f"event: message\ndata: {json.dumps(message)}\n\n",
                    media_type="text/event-stream",
                )
            if body.get("method") != "tools/list":
                return JSONResponse(
                    {
                        "jsonrpc": "2.0",
                        "id": body.get("id"),
                        "error": {"code": -32601, "message": "not in stand-in"},
                    }
                )
            tools = await self._backend_tools(client)
        full_access = scopes & (set(self.allowed_scopes) - {self.read_scope})
        if self.read_scope in scopes and not full_access and not self.faults.ignore_read_scope:
            prefix = f"{self.target_name}___"
            tools = [t for t in tools if t["name"].removeprefix(prefix) in self.read_only_tools]
        start = int((body.get("params") or {}).get("cursor") or 0)
        page = tools[start : start + self.page_size]
        result: dict[str, Any] = {"tools": page}
        if start + self.page_size < len(tools):
            result["nextCursor"] = str(start + self.page_size)
        message = {"jsonrpc": "2.0", "id": body.get("id"), "result": result}
        return Response(
            f"event: message\ndata: {json.dumps(message)}\n\n", media_type="text/event-stream"
        )

    def _throttle(self, client_id: str, request_id: Any) -> Response | None:
        """AgentCore's rate-limit answer ("Rate limit enforcement") once a client's bucket for
        this minute is used up; None while it is not (or no limit applies to the client)."""
        rate = self.rate_limits.get(client_id, self.rate_limits.get("*"))
        if rate is None:
            return None
        now = self.clock()
        window, count = self._windows.get(client_id, (int(now // 60), 0))
        if window != int(now // 60):
            window, count = int(now // 60), 0
        self._windows[client_id] = (window, count + 1)
        if count < rate:
            return None
        error = {
            "code": -32003,
            "message": "Rate limit exceeded",
            "data": {
                "limitKey": f"rl-standin/{client_id}",
                "metric": "requests",
                "retryAfter": float(60 * (window + 1) - int(now)),
            },
        }
        return JSONResponse(
            {"jsonrpc": "2.0", "id": request_id, "error": error},
            status_code=self.rate_limit_status,
        )

    async def _call_tool(
        self, client: httpx2.AsyncClient, body: dict[str, Any], scopes: set[str]
    ) -> dict[str, Any]:
        """``tools/call`` of ``<target>___<tool>``: the read scope may call read-only tools only
        (as the gateway's Cedar policies decide); the call goes to the server by its bare name."""
        params = dict(body.get("params") or {})
        prefix = f"{self.target_name}___"
        name = str(params.get("name", ""))
        bare = name.removeprefix(prefix)
        full_access = scopes & (set(self.allowed_scopes) - {self.read_scope})
        read_only_caller = self.read_scope in scopes and not full_access
        if not name.startswith(prefix) or (read_only_caller and bare not in self.read_only_tools):
            error = {"code": -32002, "message": f"Tool {name} is not allowed or does not exist"}
            return {"jsonrpc": "2.0", "id": body.get("id"), "error": error}
        response = await client.post(
            self.backend_url,
            json={**body, "params": {**params, "name": bare}},
            headers={"Accept": "application/json, text/event-stream"},
            timeout=60,
        )
        response.raise_for_status()
        return response.json()

    async def _backend_tools(self, client: httpx2.AsyncClient) -> list[dict[str, Any]]:
        response = await client.post(
            self.backend_url,
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
            headers={"Accept": "application/json, text/event-stream"},
        )
        response.raise_for_status()
        tools = response.json()["result"]["tools"]
        return [
            {**tool, "name": f"{self.target_name}___{tool['name']}"}
            for tool in tools
            if tool["name"] not in self.faults.hide_tools
        ]


# --- processes and threads --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def start_server_process(module: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """``python -m <module>`` on a free port; yield its MCP URL once ``/health`` answers."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("LARK_", "AWS_"))}
    environment.update({"HOST": "127.0.0.1", "PORT": str(port), **(env or {})})
    process = subprocess.Popen(
        [sys.executable, "-m", module],
        cwd=REPO,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"

    def stderr() -> str:
        return process.stderr.read().decode(errors="replace") if process.stderr else ""

    try:
        wait_healthy(process, base, f"python -m {module}", stderr)
        yield f"{base}/mcp"
    finally:
        stop_process(process)


def wait_healthy(
    process: subprocess.Popen,
    base: str,
    what: str,
    output: Callable[[], str],
    *,
    timeout: float = 30.0,
) -> None:
    """Return once ``<base>/health`` answers 200; raise with ``output()`` (what the process
    wrote) if it exits first, or after `timeout` s (then it is stopped first, so that
    ``output()`` can read a pipe to its end)."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited {process.returncode}: {output()}")
        with contextlib.suppress(httpx2.HTTPError):
            if httpx2.get(f"{base}/health", timeout=1).status_code == 200:
                return
        if time.monotonic() > deadline:
            stop_process(process)
            raise RuntimeError(f"{what} did not answer /health within {timeout:g} s: {output()}")
        time.sleep(0.1)


def stop_process(process: subprocess.Popen) -> None:
    """Terminate, and kill if it has not exited 10 s later."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
