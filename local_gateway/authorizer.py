"""The user gateway's CUSTOM_JWT authorizer, as AgentCore applies it to a client's token.

AgentCore reads the discovery document (`<issuer>/.well-known/openid-configuration`), then its
`jwks_uri`; a request passes when the bearer token's signature verifies with a published key
(by `kid`), `iss` is the discovery document's issuer, `exp` (and `nbf`) hold, `aud` contains the
allowed audience, and — when allowed clients are configured — `client_id` is one of them.
Keys are cached; an unknown `kid` (a rotation) fetches them once more.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx2
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

ALGORITHMS = ["RS256", "ES256"]
_KEYS_TTL = 300.0


class Refused(Exception):
    """The token is not acceptable; the message says why (for the stand-in's log and tests)."""


@dataclass(frozen=True)
class Caller:
    subject: str
    client_id: str | None


class JwtAuthorizer:
    def __init__(
        self,
        *,
        discovery_url: str,
        audience: str,
        allowed_clients: tuple[str, ...] = (),
        http_timeout: float = 5.0,
    ) -> None:
        self.discovery_url = discovery_url
        self.audience = audience
        self.allowed_clients = allowed_clients
        self._timeout = http_timeout
        self._keys: KeySet | None = None
        self._issuer = ""
        self._fetched_at = 0.0

    async def _load(self, refresh: bool = False) -> tuple[KeySet, str]:
        stale = time.monotonic() - self._fetched_at > _KEYS_TTL
        if self._keys is None or refresh or stale:
            async with httpx2.AsyncClient(timeout=self._timeout) as client:
                discovery = (await client.get(self.discovery_url)).raise_for_status().json()
                jwks = (await client.get(discovery["jwks_uri"])).raise_for_status().json()
            self._keys = KeySet.import_key_set(jwks)
            self._issuer = str(discovery["issuer"])
            self._fetched_at = time.monotonic()
        return self._keys, self._issuer

    async def verify(self, token: str) -> Caller:
        """The caller a valid token names, else `Refused` saying what was wrong."""
        try:
            keys, issuer = await self._load()
        except (httpx2.HTTPError, ValueError, KeyError, JoseError) as exc:
            raise Refused(f"discovery failed: {type(exc).__name__}") from None
        try:
            try:
                decoded = jwt.decode(token, keys, algorithms=ALGORITHMS)
            except JoseError:  # perhaps a key published since the last fetch
                keys, issuer = await self._load(refresh=True)
                decoded = jwt.decode(token, keys, algorithms=ALGORITHMS)
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": issuer},
                exp={"essential": True},
                aud={"essential": True, "value": self.audience},
            ).validate(decoded.claims)
        except (JoseError, ValueError, TypeError) as exc:
            raise Refused(f"invalid token: {type(exc).__name__}: {exc}") from None
        except (httpx2.HTTPError, KeyError) as exc:
            raise Refused(f"discovery failed: {type(exc).__name__}") from None
        client_id = decoded.claims.get("client_id")
        if self.allowed_clients and client_id not in self.allowed_clients:
            raise Refused("client is not allowed")
        subject = decoded.claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise Refused("invalid token: no sub")
        return Caller(subject, client_id if isinstance(client_id, str) else None)
