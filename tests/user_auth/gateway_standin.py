"""The user gateway, stood in on loopback: AgentCore's CUSTOM_JWT authorizer on our issuer plus
the REQUEST interceptor that copies the caller's JWT into the header the runtime reads.

What it does, in AgentCore's order:
1. Authorizer: fetch the discovery document (`<issuer>/.well-known/openid-configuration`),
   then its `jwks_uri`; verify the bearer token's RS256 signature by `kid`, `iss` equal to the
   discovery's issuer, `exp`, `aud` equal to the allowed audience (when one is set, as
   `allowedAudience`) and `client_id` among the allowed clients. Anything else: 401.
2. Interceptor: set `X-Amzn-Bedrock-AgentCore-Runtime-Custom-Caller-Jwt` to the verified
   token, always overwriting a value the client sent (and dropping it when there is no token,
   which cannot reach here since the authorizer requires one).
3. Target: forward the MCP request to the runtime with only allowlisted headers (the client's
   `Authorization` is not passed on: the gateway signs to the runtime with SigV4 instead).
"""

from __future__ import annotations

from typing import Any

import httpx2
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mcp_constructs.interceptor.caller_jwt import CALLER_JWT_HEADER

# What the target's MetadataConfiguration and the runtime's allowlist let through.
FORWARDED = ("content-type", "accept", "mcp-session-id", "mcp-protocol-version", "last-event-id")


def caller_headers(incoming: dict[str, str], verified_jwt: str | None) -> dict[str, str]:
    """The interceptor: the caller-JWT header is ours alone (overwritten, or removed)."""
    headers = {k: v for k, v in incoming.items() if k.lower() != CALLER_JWT_HEADER.lower()}
    if verified_jwt:
        headers[CALLER_JWT_HEADER] = verified_jwt
    return headers


class UserGatewayStandIn:
    def __init__(
        self,
        *,
        discovery_url: str,
        allowed_clients: list[str],
        backend_url: str,
        allowed_audience: str | None = None,
    ) -> None:
        self.discovery_url = discovery_url
        self.allowed_clients = allowed_clients
        self.allowed_audience = allowed_audience
        self.backend_url = backend_url
        self.refusals: list[str] = []  # why each refused request was refused (for tests)
        self._keys: KeySet | None = None
        self._issuer = ""
        self.app = Starlette(routes=[Route("/mcp", self._mcp, methods=["GET", "POST", "DELETE"])])

    async def _load_keys(self, client: httpx2.AsyncClient, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            discovery = (await client.get(self.discovery_url)).json()
            self._issuer = discovery["issuer"]
            self._keys = KeySet.import_key_set((await client.get(discovery["jwks_uri"])).json())
        return self._keys

    async def verify(self, token: str, client: httpx2.AsyncClient) -> str | None:
        """None when the token is acceptable, else why not."""
        try:
            keys = await self._load_keys(client)
            try:
                decoded = jwt.decode(token, keys, algorithms=["RS256"])
            except JoseError:  # an unknown kid after a rotation: fetch the keys once more
                decoded = jwt.decode(
                    token, await self._load_keys(client, refresh=True), algorithms=["RS256"]
                )
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self._issuer}, exp={"essential": True}
            ).validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            return f"invalid token: {type(exc).__name__}: {exc}"
        if self.allowed_audience and decoded.claims.get("aud") != self.allowed_audience:
            return "audience is not allowed"
        if decoded.claims.get("client_id") not in self.allowed_clients:
            return "client is not allowed"
        return None

    async def _mcp(self, request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        async with httpx2.AsyncClient(timeout=30) as client:
            refusal = "missing bearer token"
            if scheme.lower() == "bearer" and token:
                refusal = await self.verify(token.strip(), client) or ""
            if refusal:
                self.refusals.append(refusal)
                return JSONResponse(
                    {"jsonrpc": "2.0", "id": None, "error": {"code": -32001, "message": refusal}},
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                )
            incoming = {k: v for k, v in request.headers.items() if k.lower() in FORWARDED}
            incoming.update(
                {k: v for k, v in request.headers.items() if k.lower() == CALLER_JWT_HEADER.lower()}
            )
            upstream = await client.request(
                request.method,
                self.backend_url,
                content=await request.body(),
                headers=caller_headers(incoming, token.strip()),
            )
        passed: dict[str, Any] = {
            k: v
            for k, v in upstream.headers.items()
            if k.lower() in ("content-type", "mcp-session-id")
        }
        return Response(upstream.content, status_code=upstream.status_code, headers=passed)
