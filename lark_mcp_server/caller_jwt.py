"""Who is calling: verify the caller JWT the user gateway copies into a request header.

The user gateway validates the person's access token from our authorization server, then its
interceptor copies that JWT into `X-Amzn-Bedrock-AgentCore-Runtime-Custom-Caller-Jwt`. This
module checks it again here (the runtime must not trust a header on its own word): signature
against the issuer's JWKS (found through its discovery document, cached, fetched again when a
token names a key id we do not know, at most once per `JWKS_REFETCH_FLOOR` seconds), `iss`,
`exp`, `aud` (the user gateway's MCP URL: a token minted for another resource is refused) and
`client_id`. `sub` is the person's Lark `open_id`. In AWS the audience is `ssm:<parameter>`:
the user gateway is created after this runtime, so its stack publishes its URL in SSM and the
first verification reads it (once; a failed read is retried by the next call).

A key set that cannot be fetched again when it is due (the issuer down, a 5xx) does not lock
people out: the last good keys stay in use until a fetch succeeds.

joserfc (and through it `cryptography`) is imported on the first verification, not at startup:
a server that never sees a signed-in person starts exactly as fast as before.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2

log = logging.getLogger("lark_mcp_server")

CALLER_JWT_HEADER = "x-amzn-bedrock-agentcore-runtime-custom-caller-jwt"
ALGORITHMS = ("RS256", "ES256")
CLOCK_LEEWAY = 30  # seconds of clock skew tolerated on exp/nbf/iat
JWKS_MAX_AGE = 3600.0  # a cached key set is fetched again after this long
JWKS_REFETCH_FLOOR = 30.0  # an unknown kid triggers a fetch at most this often
_MAX_JWT_BYTES = 8192
_DISCOVERY_PATHS = ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server")

RECONNECT = "Sign in again: reconnect the Lark integration in your client."


class CallerRejected(Exception):
    """The caller JWT is not acceptable; the message says why, without the token itself."""


class IssuerUnavailable(Exception):
    """The issuer's discovery document or key set could not be fetched (a transient problem)."""


@dataclass(frozen=True)
class Caller:
    """A verified signed-in person."""

    open_id: str
    client_id: str


class CallerVerifier:
    """Verifies caller JWTs of one issuer for a set of allowed client ids."""

    def __init__(
        self,
        issuer: str,
        clients: tuple[str, ...],
        audience: str,
        *,
        http_timeout: float = 5.0,
        transport: httpx2.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.clients = frozenset(clients)
        self.audience = audience
        self._audience: str | None = None if audience.startswith("ssm:") else audience
        self._http_timeout = http_timeout
        self._transport = transport
        self._clock = clock
        self._client: httpx2.AsyncClient | None = None
        self._keys: Any = None  # joserfc KeySet
        self._kids: frozenset[str] = frozenset()
        self._fetched_at = 0.0
        self._failed_at = float("-inf")  # when a due re-fetch last failed
        self._lock = asyncio.Lock()

    @property
    def _http(self) -> httpx2.AsyncClient:
        if self._client is None:
            self._client = httpx2.AsyncClient(
                timeout=httpx2.Timeout(self._http_timeout),
                headers={"User-Agent": "lark-mcp-server"},
                transport=self._transport,
                follow_redirects=False,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def verify(self, token: str) -> Caller:
        """The person the JWT names, or `CallerRejected` saying what was wrong."""
        from joserfc import jws, jwt
        from joserfc.errors import JoseError

        token = token.strip()
        if token.lower().startswith("bearer "):
            token = token[7:].strip()
        if not token or len(token) > _MAX_JWT_BYTES or token.count(".") != 2:
            raise CallerRejected("the caller token is not a JWT")
        try:
            header = jws.extract_compact(token.encode("ascii")).headers()
        except (JoseError, ValueError, UnicodeEncodeError):
            raise CallerRejected("the caller token is not a readable JWT") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALGORITHMS:
            raise CallerRejected(
                f"the caller token is signed with {alg!r}, not {'/'.join(ALGORITHMS)}"
            )
        if not isinstance(kid, str) or not kid:
            raise CallerRejected("the caller token names no signing key (kid)")
        keys = await self._key_set(kid)
        audience = self._audience or await self._resolve_audience()
        if kid not in self._kids:
            raise CallerRejected("the caller token is signed by a key the issuer does not publish")
        try:
            decoded = jwt.decode(token, keys, algorithms=list(ALGORITHMS))
        except (JoseError, ValueError):
            raise CallerRejected("the caller token's signature does not verify") from None
        except (TypeError, KeyError, AttributeError):
            # joserfc checks headers before the signature and trusts their types: a `crit`
            # of numbers raised TypeError, so anyone could crash the call with a forged token.
            raise CallerRejected("the caller token has a malformed header") from None
        claims = decoded.claims
        registry = jwt.JWTClaimsRegistry(
            leeway=CLOCK_LEEWAY,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            sub={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise CallerRejected(_claim_problem(exc)) from None
        client_id = claims.get("client_id")
        if not isinstance(client_id, str) or client_id not in self.clients:
            raise CallerRejected(
                "the caller token was issued to a client this server does not accept"
            )
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub.strip():
            raise CallerRejected("the caller token names no person (sub)")
        return Caller(open_id=sub, client_id=client_id)

    async def _resolve_audience(self) -> str:
        """The audience named by `ssm:<parameter>`, read once (blocking call, off the loop)."""
        from lark_user_store.sigv4 import (
            AwsApiError,
            CredentialsError,
            find_credentials,
            get_parameter,
        )

        name = self.audience.removeprefix("ssm:")

        def read() -> str | None:
            return get_parameter(name, find_credentials(), timeout=self._http_timeout)

        try:
            value = await asyncio.to_thread(read)
        except (AwsApiError, CredentialsError, OSError, ValueError) as exc:
            raise IssuerUnavailable(
                f"the audience parameter {name} could not be read ({type(exc).__name__})"
            ) from None
        if not value:
            raise IssuerUnavailable(f"the audience parameter {name} is empty")
        self._audience = value
        return value

    # -- key set ----------------------------------------------------------------------------

    async def _key_set(self, kid: str) -> Any:
        """The cached key set; fetched when missing, stale, or (with a floor) lacking `kid`.
        When a due fetch fails, the last good keys stay in use (fetched again at most once per
        `JWKS_REFETCH_FLOOR`); only a key they lack makes the failure the caller's answer."""
        now = self._clock()
        if self._keys is not None and kid in self._kids and now - self._fetched_at < JWKS_MAX_AGE:
            return self._keys
        async with self._lock:
            now = self._clock()
            fresh = self._keys is not None and now - self._fetched_at < JWKS_MAX_AGE
            if fresh and (kid in self._kids or now - self._fetched_at < JWKS_REFETCH_FLOOR):
                return self._keys
            failed_recently = now - self._failed_at < JWKS_REFETCH_FLOOR
            if self._keys is not None and failed_recently:
                if kid not in self._kids:
                    raise IssuerUnavailable("the issuer's key set could not be fetched again")
                return self._keys
            try:
                await self._fetch_keys()
            except IssuerUnavailable:
                if self._keys is None or kid not in self._kids:
                    raise
                self._failed_at = now
                log.warning("issuer key set fetch failed: keeping the last good keys")
            return self._keys

    async def _fetch_keys(self) -> None:
        from joserfc.jwk import KeySet

        jwks_uri = await self._jwks_uri()
        data = await self._get_json(jwks_uri)
        try:
            keys = KeySet.import_key_set(data)
        except Exception:
            raise IssuerUnavailable(
                f"the issuer's key set at {jwks_uri} is not a valid JWKS"
            ) from None
        self._keys = keys
        self._kids = frozenset(k.kid for k in keys.keys if k.kid)
        self._fetched_at = self._clock()

    async def _jwks_uri(self) -> str:
        problem = "no discovery document"
        for path in _DISCOVERY_PATHS:
            try:
                meta = await self._get_json(self.issuer + path)
            except IssuerUnavailable as exc:
                problem = str(exc)
                continue
            if meta.get("issuer", "").rstrip("/") != self.issuer:
                raise IssuerUnavailable(
                    f"the discovery document at {self.issuer}{path} names issuer "
                    f"{meta.get('issuer')!r}, not {self.issuer!r} (check LARK_USER_AUTH_ISSUER)"
                )
            uri = meta.get("jwks_uri")
            if isinstance(uri, str) and uri.startswith(("https://", "http://")):
                return uri
            problem = f"the discovery document at {self.issuer}{path} has no jwks_uri"
        raise IssuerUnavailable(problem)

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self._http.get(url)
        except httpx2.HTTPError as exc:
            raise IssuerUnavailable(f"could not reach {url} ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise IssuerUnavailable(f"{url} answered HTTP {response.status_code}")
        try:
            data = json.loads(response.content)
        except ValueError:
            raise IssuerUnavailable(f"{url} did not answer JSON") from None
        if not isinstance(data, dict):
            raise IssuerUnavailable(f"{url} did not answer a JSON object")
        return data


def _claim_problem(exc: Exception) -> str:
    from joserfc.errors import ExpiredTokenError, InvalidClaimError, MissingClaimError

    if isinstance(exc, ExpiredTokenError):
        return "the caller token has expired"
    if isinstance(exc, MissingClaimError):
        return f"the caller token lacks a required claim ({exc.description or exc})"
    if isinstance(exc, InvalidClaimError):
        return f"the caller token has an invalid claim ({exc.description or exc})"
    return "the caller token's claims are not acceptable"
