"""A stand-in for our authorization server's token side: a signing key, its JWKS and discovery
document on loopback, and JWTs minted the way the authorization server issues them.

Used until (and beside) the full sign-in flow: it lets a test name any person, forge a token
with a key the issuer does not publish, or let one expire.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.loopback import serve_in_thread

CLIENT_ID = "quicksuite"
AUDIENCE = "https://runtime.example/mcp"  # the user gateway's MCP URL: every token's `aud`


class LocalIssuer:
    """Signs caller JWTs with a key it publishes; `url` is set once it serves."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "use": "sig"})
        self.url = ""
        self.jwks_fetches = 0
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/.well-known/oauth-authorization-server", self._discovery),
                Route("/jwks", self._jwks),
            ]
        )

    async def _discovery(self, _: Request) -> JSONResponse:
        return JSONResponse(
            {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "jwks_uri": f"{self.url}/jwks",
            }
        )

    async def _jwks(self, _: Request) -> JSONResponse:
        self.jwks_fetches += 1
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    def token(
        self,
        open_id: str,
        *,
        client_id: str = CLIENT_ID,
        issuer: str | None = None,
        lifetime: int = 3600,
        key: RSAKey | None = None,
        **claims: Any,
    ) -> str:
        """A caller JWT for `open_id` (override anything to make a bad one)."""
        now = int(time.time())
        payload = {
            "iss": issuer if issuer is not None else self.url,
            "sub": open_id,
            "client_id": client_id,
            "scope": "",
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + lifetime,
            "jti": uuid.uuid4().hex,
            **claims,
        }
        payload = {k: v for k, v in payload.items() if v is not None}
        signer = key or self.key
        header = {"alg": "RS256", "kid": signer.kid}
        return jwt.encode(header, payload, signer)

    @staticmethod
    def stranger_key() -> RSAKey:
        """A key with the published kid that the issuer never saw: a forger's key."""
        return RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "use": "sig"})


@contextmanager
def serve_issuer(issuer: LocalIssuer) -> Iterator[LocalIssuer]:
    with serve_in_thread(issuer.app, what="the local issuer") as url:
        issuer.url = url
        yield issuer
