"""The stand-in's HTTP face: what a client meets at the user gateway's URL.

- `GET /.well-known/oauth-protected-resource` and its `/mcp` suffix form (RFC 9728 §3.1): the
  protected-resource metadata naming the authorization server (`resource` = the MCP URL,
  `authorization_servers` = [the issuer], `bearer_methods_supported` = ["header"]).
- `/mcp` without an acceptable bearer token: HTTP 401, the JSON-RPC error AgentCore answers
  (`-32001`), and `WWW-Authenticate: Bearer resource_metadata="<metadata URL>"` (plus
  `error="invalid_token"` when a token was sent), so a client can discover where to sign in.
- `/mcp` with one: the REQUEST interceptor (the deployed function,
  `mcp_constructs.interceptor.caller_jwt.handler`) sets the caller-JWT header from the bearer
  token, always replacing a client-sent copy; then the target forwards only the headers the
  deployment allowlists (MCP transport headers and the caller-JWT header; never
  `Authorization`) to the upstream MCP server, streaming its answer back.

Unlike a real gateway it does not prefix tool names with the target's name and keeps no MCP
session of its own: it is a proxy with AgentCore's authorization in front.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx2
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .authorizer import JwtAuthorizer, Refused
from .interceptor import caller_jwt

log = logging.getLogger("local_gateway")

METADATA_PATH = "/.well-known/oauth-protected-resource"
#: Request headers the target passes on (its transport's and the allowlisted caller JWT).
FORWARDED = frozenset(
    {
        "content-type",
        "accept",
        "mcp-session-id",
        "mcp-protocol-version",
        "last-event-id",
        caller_jwt.CALLER_JWT_HEADER.lower(),
    }
)
#: Response headers passed back to the client.
RETURNED = frozenset({"content-type", "mcp-session-id", "cache-control"})
MAX_BODY = 1_000_000


class LocalGateway:
    """One user gateway on loopback: authorizer, interceptor and one MCP target."""

    def __init__(
        self,
        *,
        issuer: str,
        upstream_url: str,
        public_url: str = "",
        audience: str | None = None,
        allowed_clients: tuple[str, ...] = (),
        discovery_url: str | None = None,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.upstream_url = upstream_url
        self.public_url = public_url.rstrip("/")  # set before serving when the port is late
        self._audience = audience
        self.authorizer = JwtAuthorizer(
            discovery_url=discovery_url or f"{self.issuer}/.well-known/openid-configuration",
            audience=audience or "",
            allowed_clients=allowed_clients,
        )
        self.refusals: list[str] = []  # why each refused request was refused
        self.forwarded: int = 0  # requests that reached the upstream
        self.app = Starlette(
            routes=[
                Route(METADATA_PATH, self._metadata, methods=["GET"]),
                Route(f"{METADATA_PATH}/mcp", self._metadata, methods=["GET"]),
                Route("/mcp", self._mcp, methods=["GET", "POST", "DELETE"]),
                Route("/health", self._health, methods=["GET"]),  # for start-up scripts
            ]
        )

    @property
    def mcp_url(self) -> str:
        return f"{self.public_url}/mcp"

    @property
    def metadata_url(self) -> str:
        return f"{self.public_url}{METADATA_PATH}"

    def metadata(self) -> dict[str, Any]:
        return {
            "resource": self.mcp_url,
            "authorization_servers": [self.issuer],
            "bearer_methods_supported": ["header"],
        }

    async def _health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def _metadata(self, request: Request) -> Response:
        return JSONResponse(self.metadata(), headers={"Cache-Control": "max-age=300"})

    def _refuse(self, why: str, token_sent: bool) -> Response:
        self.refusals.append(why)
        log.info("request refused: %s", why)
        challenge = f'Bearer resource_metadata="{self.metadata_url}"'
        if token_sent:
            challenge = f'Bearer error="invalid_token", resource_metadata="{self.metadata_url}"'
        return JSONResponse(
            {
                "jsonrpc": "2.0",
                "id": None,
                "error": {"code": -32001, "message": "Invalid Bearer token"},
            },
            status_code=401,
            headers={"WWW-Authenticate": challenge},
        )

    async def _mcp(self, request: Request) -> Response:
        self.authorizer.audience = self._audience or self.mcp_url
        headers = dict(request.headers.items())
        token = caller_jwt.bearer_token(headers)
        if token is None:
            sent = "authorization" in {k.lower() for k in headers}
            why = "malformed bearer token" if sent else "missing bearer token"
            return self._refuse(why, token_sent=sent)
        try:
            await self.authorizer.verify(token)
        except Refused as exc:
            return self._refuse(str(exc), token_sent=True)
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"message": "request too large"}, status_code=413)
        gateway_request: dict[str, Any] = {"headers": headers}
        if body:
            try:
                gateway_request["body"] = json.loads(body)
            except ValueError:
                return JSONResponse(
                    {
                        "jsonrpc": "2.0",
                        "id": None,
                        "error": {"code": -32700, "message": "Parse error: the body is not JSON"},
                    },
                    status_code=400,
                )
        event = {"interceptorInputVersion": "1.0", "mcp": {"gatewayRequest": gateway_request}}
        out = caller_jwt.handler(event, None)["mcp"]["transformedGatewayRequest"]
        upstream_headers = {k: v for k, v in out["headers"].items() if k.lower() in FORWARDED}
        content = json.dumps(out["body"]).encode() if "body" in out else None
        return await self._forward(request.method, upstream_headers, content)

    async def _forward(
        self, method: str, headers: dict[str, str], content: bytes | None
    ) -> Response:
        client = httpx2.AsyncClient(timeout=httpx2.Timeout(300, connect=5))
        try:
            upstream = await client.send(
                client.build_request(method, self.upstream_url, headers=headers, content=content),
                stream=True,
            )
        except httpx2.HTTPError as exc:
            await client.aclose()
            log.warning("upstream unreachable: %s", type(exc).__name__)
            return JSONResponse(
                {"jsonrpc": "2.0", "id": None, "error": {"code": -32603, "message": "bad gateway"}},
                status_code=502,
            )
        self.forwarded += 1
        passed = {k: v for k, v in upstream.headers.items() if k.lower() in RETURNED}

        async def chunks() -> AsyncIterator[bytes]:
            async for chunk in upstream.aiter_bytes():
                yield chunk

        async def close() -> None:
            await upstream.aclose()
            await client.aclose()

        return StreamingResponse(
            chunks(),
            status_code=upstream.status_code,
            headers=passed,
            background=BackgroundTask(close),
        )
