"""As deployed, the MCP server takes a signed-in person's JWT from any OAuth client (clients
register themselves; their ids cannot be listed): the audience decides. A configured
LARK_USER_AUTH_CLIENTS still narrows it to those clients."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import pytest

from lark_mcp_server.caller_jwt import CallerRejected, CallerVerifier
from lark_mcp_server.config import ConfigError, Settings

from .issuer import AUDIENCE, LocalIssuer, serve_issuer


@pytest.fixture(scope="module")
def issuer() -> Iterator[LocalIssuer]:
    with serve_issuer(LocalIssuer()) as running:
        yield running


def _verify(issuer: LocalIssuer, clients: tuple[str, ...], token: str):
    async def run():
        verifier = CallerVerifier(issuer.url, clients, AUDIENCE)
        try:
            return await verifier.verify(token)
        finally:
            await verifier.aclose()

    return anyio.run(run)


def test_without_a_client_list_any_client_with_the_audience_is_accepted(issuer: LocalIssuer):
    for client in ("quicksuite", "Xk2_self-registered_9f"):
        caller = _verify(issuer, (), issuer.token("ou_alice", client_id=client))
        assert caller.open_id == "ou_alice" and caller.client_id == client


def test_without_a_client_list_the_audience_still_decides(issuer: LocalIssuer):
    for aud in ("https://other-gateway.example/mcp", "Xk2_self-registered_9f", None):
        with pytest.raises(CallerRejected):
            _verify(issuer, (), issuer.token("ou_alice", client_id="any", aud=aud))
    with pytest.raises(CallerRejected):  # a client_id claim is still required
        _verify(issuer, (), issuer.token("ou_alice", client_id=None))


def test_a_configured_client_list_still_narrows_it(issuer: LocalIssuer):
    with pytest.raises(CallerRejected, match="client this server does not accept"):
        _verify(issuer, ("quicksuite",), issuer.token("ou_alice", client_id="someone-else"))


def test_settings_need_no_client_list_but_refuse_one_alone():
    env = {
        "LARK_USER_AUTH_ISSUER": "https://auth.example",
        "LARK_USER_AUTH_AUDIENCE": AUDIENCE,
        "USER_TOKEN_STORE": "sqlite:////tmp/x.db",
    }
    settings = Settings.from_env(env)
    assert settings.user_auth and settings.user_auth_clients == ()
    with pytest.raises(ConfigError, match="LARK_USER_AUTH_CLIENTS is set but user sign-in"):
        Settings.from_env({"LARK_USER_AUTH_CLIENTS": "quicksuite"})
