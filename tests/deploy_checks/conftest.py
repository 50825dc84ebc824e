"""Loopback fixtures: the MCP server process, a Cognito-like issuer and a gateway stand-in."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from mcp_constructs.deploy_checks.runtime.mcp_smoke import RetryPolicy, SmokeConfig
from mcp_constructs.manifest import tool_names
from tests.deploy_checks.local_stack import (
    AppClient,
    Faults,
    GatewayStandIn,
    Issuer,
    serve_in_thread,
    start_server_process,
)

SERVER_MODULE = "lark_mcp_server"  # the real server: no Lark credentials needed for tools/list
TARGET = "lark"
SCOPE = "lark-mcp/invoke"
CLIENT = AppClient("smoke-client", "s3cr3t-smoke-client-secret", (SCOPE,))
READ_SCOPE = "lark-mcp/read"
# A read team's client (context `teams`): only the read scope.
READER = AppClient("read-team-client", "r3ad-team-client-secret-0123", (READ_SCOPE,))
# A real client of the same pool the gateway does not list in AllowedClients.
STRANGER = AppClient("other-team-client", "an0ther-client-secret", (SCOPE,))
FAST = RetryPolicy(max_attempts=2, max_seconds=5, first_delay=0.05, request_timeout=10)


@pytest.fixture
def no_aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine with no AWS setup: no AWS_* variables, config or credentials files, nor
    instance metadata; HOME is `tmp_path`, which is returned."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return tmp_path


def expected_tools() -> list[str]:
    """What the server promises: every tool in lark_mcp_server/tools_manifest.json."""
    return tool_names()


@pytest.fixture(scope="session")
def mcp_url() -> Iterator[str]:
    with start_server_process(SERVER_MODULE) as url:
        yield url


@pytest.fixture(scope="session")
def issuer() -> Iterator[Issuer]:
    server = Issuer([CLIENT, READER, STRANGER])
    with serve_in_thread(server.app) as base:
        server.issuer_url = base
        yield server


@pytest.fixture(scope="session")
def gateway_service(issuer: Issuer, mcp_url: str) -> Iterator[tuple[GatewayStandIn, str]]:
    gateway = GatewayStandIn(
        discovery_url=f"{issuer.issuer_url}/.well-known/openid-configuration",
        allowed_clients=[CLIENT.client_id, READER.client_id],
        allowed_scopes=[SCOPE, READ_SCOPE],
        target_name=TARGET,
        backend_url=mcp_url,
        read_scope=READ_SCOPE,
        read_only_tools=frozenset(tool_names(read_only=True)),
    )
    with serve_in_thread(gateway.app) as base:
        yield gateway, f"{base}/mcp"


@pytest.fixture
def gateway(gateway_service: tuple[GatewayStandIn, str]) -> Iterator[GatewayStandIn]:
    stand_in, _ = gateway_service
    stand_in.faults = Faults()
    yield stand_in
    stand_in.faults = Faults()


@pytest.fixture
def gateway_config(
    issuer: Issuer, gateway_service: tuple[GatewayStandIn, str], gateway: GatewayStandIn
) -> Callable[..., SmokeConfig]:
    """A SmokeConfig for the deployed-like path; keyword arguments override fields."""
    base = SmokeConfig(
        url=gateway_service[1],
        expected_tools=expected_tools(),
        target_name=TARGET,
        token_url=f"{issuer.issuer_url}/oauth2/token",
        client_id=CLIENT.client_id,
        client_secret=CLIENT.client_secret,
        scope=SCOPE,
        token_retry=FAST,
        gateway_retry=FAST,
    )
    return lambda **changes: replace(base, **changes)
