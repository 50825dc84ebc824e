"""mcp_smoke end to end on loopback: issuer -> gateway stand-in -> the MCP server process.

Each failing case checks the one-line message a person reads in CloudFormation or a terminal.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from mcp_constructs.deploy_checks.runtime.mcp_smoke import RetryPolicy, SmokeConfig, run_smoke
from tests.deploy_checks.conftest import CLIENT, STRANGER, TARGET, expected_tools
from tests.deploy_checks.local_stack import GatewayStandIn, free_port

ConfigFactory = Callable[..., SmokeConfig]


def test_passes_through_issuer_and_gateway(gateway_config: ConfigFactory) -> None:
    report = run_smoke(gateway_config())

    assert report.ok, report.message
    expected = [f"{TARGET}___{name}" for name in expected_tools()]
    assert sorted(report.tools) == sorted(expected)
    assert report.missing == [] and report.extra == []
    assert report.pages > 1  # the stand-in pages 5 tools at a time: nextCursor was followed
    assert set(report.latency_ms) == {"token", "tools/list", "total"}
    assert report.message == f"gateway listed all {len(expected)} expected tools"


def test_report_never_contains_the_secret(gateway_config: ConfigFactory) -> None:
    for config in (gateway_config(), gateway_config(client_secret="wrong-" + CLIENT.client_secret)):
        report = run_smoke(config)
        text = json.dumps(report.to_dict()) + report.render()
        assert CLIENT.client_secret not in text
        assert "eyJ" not in text  # no JWT either


def test_wrong_secret_names_the_client(gateway_config: ConfigFactory) -> None:
    report = run_smoke(gateway_config(client_secret="not-the-secret"))

    assert not report.ok
    assert report.failed_step == "token"
    assert report.message.startswith(
        f"token endpoint returned 401 invalid_client for client {CLIENT.client_id}"
    )
    assert report.message.endswith(
        "check the client id and secret (the secret comes from the app client)"
    )
    assert not report.retryable


def test_wrong_scope_names_the_scope(gateway_config: ConfigFactory) -> None:
    report = run_smoke(gateway_config(scope="lark-mcp/admin"))

    assert not report.ok
    assert report.message.startswith(
        "token endpoint returned 400 invalid_scope for scope lark-mcp/admin"
    )
    assert "allow this scope on the app client" in report.message


def test_gateway_5xx_is_retried_then_reported(
    gateway_config: ConfigFactory, gateway: GatewayStandIn
) -> None:
    gateway.faults.status = 503

    report = run_smoke(gateway_config())

    assert not report.ok
    assert report.failed_step == "tools/list"
    assert report.message == (
        "gateway returned 503: upstream target is unavailable, try again later (after 2 tries)"
    )
    assert report.retryable


def test_missing_tools_are_named(gateway_config: ConfigFactory, gateway: GatewayStandIn) -> None:
    names = expected_tools()
    gateway.faults.hide_tools = {names[-1], names[0]}

    report = run_smoke(gateway_config())

    assert not report.ok
    assert report.missing == [f"{TARGET}___{names[0]}", f"{TARGET}___{names[-1]}"]
    assert report.message == (
        f"gateway listed {len(names) - 2} of {len(names)} expected tools; missing: "
        f"{TARGET}___{names[0]}, {TARGET}___{names[-1]}"
    )


def test_client_the_gateway_does_not_allow(gateway_config: ConfigFactory) -> None:
    report = run_smoke(
        gateway_config(client_id=STRANGER.client_id, client_secret=STRANGER.client_secret)
    )

    assert not report.ok
    assert report.failed_step == "tools/list"
    assert report.message.startswith("gateway returned 401: ")
    assert "client is not allowed" in report.message
    assert report.message.endswith(
        "(the gateway refused the token: check its allowed clients and scopes)"
    )


def test_unresolvable_cognito_domain(gateway_config: ConfigFactory) -> None:
    policy = RetryPolicy(max_attempts=3, max_seconds=5, first_delay=0.01)
    report = run_smoke(
        gateway_config(
            token_url="https://lark-smoke-test.auth.invalid/oauth2/token", token_retry=policy
        )
    )

    assert not report.ok
    assert report.message.startswith("cannot resolve lark-smoke-test.auth.invalid after 3 tries")
    assert "new Cognito domains can take a few minutes to resolve" in report.message
    assert report.retryable


def test_nothing_listening(gateway_config: ConfigFactory) -> None:
    port = free_port()
    report = run_smoke(gateway_config(url=f"http://127.0.0.1:{port}/mcp"))

    assert not report.ok
    assert report.message.startswith(f"cannot connect to gateway at 127.0.0.1:{port}: ")
    assert report.message.endswith("(after 2 tries)")


def test_local_server_without_auth(mcp_url: str) -> None:
    """The same module against the server itself: no token, JSON answers, bare names."""
    report = run_smoke(SmokeConfig(url=mcp_url, expected_tools=expected_tools()))

    assert report.ok, report.message
    assert sorted(report.tools) == sorted(expected_tools())
    assert "token" not in report.latency_ms
    assert report.message == f"endpoint listed all {len(expected_tools())} expected tools"


def test_unexpected_tools_fail_only_when_strict(mcp_url: str) -> None:
    fewer = expected_tools()[1:]
    lenient = run_smoke(SmokeConfig(url=mcp_url, expected_tools=fewer))
    strict = run_smoke(SmokeConfig(url=mcp_url, expected_tools=fewer, allow_extra=False))

    assert lenient.ok and lenient.extra == [expected_tools()[0]]
    assert not strict.ok
    assert strict.message == (
        f"endpoint listed 1 tool(s) that should not be there: {expected_tools()[0]}"
    )


def test_unresolvable_gateway_host_points_at_the_url(gateway_config: ConfigFactory) -> None:
    report = run_smoke(gateway_config(url="https://gw-that-is-not-there.invalid/mcp"))

    assert report.message.startswith("cannot resolve gw-that-is-not-there.invalid after 2 tries")
    assert report.message.endswith("(check the gateway URL)")
