"""The MCP server's caller-JWT verifier against an issuer on loopback that goes down: the last
good key set stays in use when a due re-fetch fails, and a token for another audience is
refused. The verifier's clock is injected (no waiting, no timing assertion)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import anyio
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from lark_mcp_server.caller_jwt import (
    JWKS_MAX_AGE,
    JWKS_REFETCH_FLOOR,
    CallerRejected,
    CallerVerifier,
    IssuerUnavailable,
)
from tests.loopback import serve_in_thread

AUDIENCE = "https://gw.example/mcp"


class FlakyIssuer:
    """Discovery + JWKS; `down` makes every answer a 503, as an issuer in trouble would."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"})
        self.down = False
        self.fetches = 0
        self.url = ""
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/jwks", self._jwks),
            ]
        )

    async def _discovery(self, _: Request) -> JSONResponse:
        if self.down:
            return JSONResponse({}, status_code=503)
        return JSONResponse({"issuer": self.url, "jwks_uri": f"{self.url}/jwks"})

    async def _jwks(self, _: Request) -> JSONResponse:
        if self.down:
            return JSONResponse({}, status_code=503)
        self.fetches += 1
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    def token(self, kid: str = "k1", **claims: object) -> str:
        now = int(time.time())
        payload = {
            "iss": self.url,
            "sub": "ou_alice",
            "client_id": "quicksuite",
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 600,
            "jti": uuid.uuid4().hex,
            **claims,
        }
        key = self.key if kid == "k1" else RSAKey.generate_key(2048, parameters={"kid": kid})
        return jwt.encode({"alg": "RS256", "kid": kid}, payload, key)


@pytest.fixture
def issuer() -> Iterator[FlakyIssuer]:
    issuer = FlakyIssuer()
    with serve_in_thread(issuer.app) as url:
        issuer.url = url
        yield issuer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_last_good_keys_outlive_an_issuer_outage(issuer: FlakyIssuer):
    clock = Clock()

    async def scenario() -> None:
        verifier = CallerVerifier(issuer.url, ("quicksuite",), AUDIENCE, clock=clock)
        try:
            assert (await verifier.verify(issuer.token())).open_id == "ou_alice"
            issuer.down = True
            clock.now += JWKS_MAX_AGE + 1  # the cached set is due for a re-fetch
            assert (await verifier.verify(issuer.token())).open_id == "ou_alice"
            # A key the last good set lacks cannot be checked while the issuer is down.
            with pytest.raises(IssuerUnavailable):
                await verifier.verify(issuer.token(kid="k2"))
            assert (await verifier.verify(issuer.token())).open_id == "ou_alice"
            issuer.down = False
            clock.now += JWKS_REFETCH_FLOOR + 1  # the next attempt after the floor succeeds
            assert (await verifier.verify(issuer.token())).open_id == "ou_alice"
            assert issuer.fetches == 2
        finally:
            await verifier.aclose()

    anyio.run(scenario)


def test_without_any_good_keys_an_outage_is_the_issuers(issuer: FlakyIssuer):
    async def scenario() -> None:
        verifier = CallerVerifier(issuer.url, ("quicksuite",), AUDIENCE, clock=Clock())
        issuer.down = True
        try:
            with pytest.raises(IssuerUnavailable):
                await verifier.verify(issuer.token())
        finally:
            await verifier.aclose()

    anyio.run(scenario)


@pytest.mark.parametrize("aud", ["https://evil.example/mcp", AUDIENCE + "/", None])
def test_a_token_for_another_audience_is_refused(issuer: FlakyIssuer, aud: str | None):
    async def scenario() -> None:
        verifier = CallerVerifier(issuer.url, ("quicksuite",), AUDIENCE)
        token = issuer.token(aud=aud) if aud else _without_aud(issuer)
        try:
            with pytest.raises(CallerRejected, match="aud"):
                await verifier.verify(token)
        finally:
            await verifier.aclose()

    anyio.run(scenario)


def _without_aud(issuer: FlakyIssuer) -> str:
    now = int(time.time())
    claims = {"iss": issuer.url, "sub": "ou_a", "client_id": "quicksuite", "exp": now + 60}
    return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, issuer.key)


def test_the_runtime_reads_its_audience_from_the_parameter(
    issuer: FlakyIssuer, monkeypatch: pytest.MonkeyPatch
):
    """LARK_USER_AUTH_AUDIENCE=ssm:<name> (as deployed), read once through SSM (moto)."""
    from tests.user_store.moto_aws import boto_client, moto_server

    with moto_server() as env:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        name = "/LarkMcp/user-gateway/mcp-url"

        async def scenario() -> None:
            verifier = CallerVerifier(issuer.url, ("quicksuite",), f"ssm:{name}")
            try:
                with pytest.raises(IssuerUnavailable, match="audience parameter"):
                    await verifier.verify(issuer.token())  # not written yet: try again later
                boto_client("ssm", env).put_parameter(Name=name, Value=AUDIENCE, Type="String")
                assert (await verifier.verify(issuer.token())).open_id == "ou_alice"
                with pytest.raises(CallerRejected, match="aud"):
                    await verifier.verify(issuer.token(aud="https://evil.example/mcp"))
            finally:
                await verifier.aclose()

        anyio.run(scenario)
