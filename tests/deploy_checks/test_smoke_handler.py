"""smoke_handler driven with CloudFormation events against the loopback issuer and gateway.

Cognito's DescribeUserPoolClient answers from botocore's Stubber (checked against the service
model); the token and tools/list calls are real HTTP to the local issuer and gateway stand-in.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from mcp_constructs.deploy_checks.runtime import smoke_handler
from tests.deploy_checks import events
from tests.deploy_checks.conftest import CLIENT, SCOPE, TARGET, expected_tools
from tests.deploy_checks.local_stack import GatewayStandIn, Issuer
from tests.deploy_checks.stubs import expect_status, handler_stub, stub

TYPE = "Custom::GatewaySmokeTest"
POOL = "us-east-1_AbCdEfGhI"


@pytest.fixture
def cognito(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    with handler_stub(monkeypatch, smoke_handler, "cognito-idp") as stubber:
        yield stubber


@pytest.fixture
def props(issuer: Issuer, gateway_service: tuple[GatewayStandIn, str]) -> dict[str, Any]:
    return {
        "GatewayUrl": gateway_service[1],
        "TokenUrl": f"{issuer.issuer_url}/oauth2/token",
        "UserPoolId": POOL,
        "ClientId": CLIENT.client_id,
        "Scope": SCOPE,
        "TargetName": TARGET,
        "ExpectedTools": expected_tools(),
        "ProtocolVersion": "2025-03-26",
        "MaxWaitSeconds": "600",
        "Triggers": {"image": "3f2a9c", "target": "77aa01", "expected_tools": "c0ffee"},
    }


@pytest.fixture
def cloudformation(cognito: Stubber) -> Iterator[Stubber]:
    with stub(smoke_handler, "cloudformation") as stubber:
        yield stubber


def expect_secret(stubber: Stubber, secret: str = CLIENT.client_secret) -> None:
    stubber.add_response(
        "describe_user_pool_client",
        {
            "UserPoolClient": {
                "UserPoolId": POOL,
                "ClientName": "lark-mcp-smoke",
                "ClientId": CLIENT.client_id,
                "ClientSecret": secret,
                "AllowedOAuthFlows": ["client_credentials"],
                "AllowedOAuthScopes": [SCOPE],
            }
        },
        {"UserPoolId": POOL, "ClientId": CLIENT.client_id},
    )


def start(event: dict[str, Any]) -> dict[str, Any]:
    return events.for_is_complete(event, smoke_handler.on_event(event))


def test_create_passes_and_reports_the_tool_count(
    cognito: Stubber,
    props: dict[str, Any],
    gateway: GatewayStandIn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    event = events.create(TYPE, props)
    assert CLIENT.client_secret not in json.dumps(event)  # the template never carries it
    expect_secret(cognito)

    poll = start(event)
    with caplog.at_level(logging.INFO):
        result = smoke_handler.is_complete(poll)

    assert poll["PhysicalResourceId"] == "mcp-smoke-test:127.0.0.1"
    assert result == {"IsComplete": True, "Data": {"ToolCount": len(expected_tools())}}
    assert "smoke_report" in caplog.text
    assert CLIENT.client_secret not in caplog.text


def test_wrong_secret_fails_at_once(cognito: Stubber, props: dict[str, Any]) -> None:
    expect_secret(cognito, secret="rotated-elsewhere-0123456789")

    with pytest.raises(RuntimeError) as failure:
        smoke_handler.is_complete(start(events.create(TYPE, props)))

    assert str(failure.value).startswith(
        "MCP smoke test failed: token endpoint returned 401 invalid_client for client "
        f"{CLIENT.client_id}"
    )
    assert "rotated-elsewhere-0123456789" not in str(failure.value)


def test_missing_tool_is_retried_then_fails_with_the_list(
    cognito: Stubber, props: dict[str, Any], gateway: GatewayStandIn
) -> None:
    gateway.faults.hide_tools = {expected_tools()[0]}
    poll = start(events.create(TYPE, props))
    expect_secret(cognito)

    assert smoke_handler.is_complete(poll) == {"IsComplete": False}  # the gateway may catch up

    poll["SmokeDeadline"] = time.time() - 1  # as if polled for MaxWaitSeconds already
    expect_secret(cognito)
    with pytest.raises(RuntimeError) as failure:
        smoke_handler.is_complete(poll)

    names = expected_tools()
    assert str(failure.value).startswith(
        f"MCP smoke test failed: gateway listed {len(names) - 1} of {len(names)} expected tools;"
        f" missing: {TARGET}___{names[0]} (still failing after "
    )


def test_update_reruns_with_the_same_physical_id(
    cognito: Stubber, props: dict[str, Any], gateway: GatewayStandIn
) -> None:
    old = {**props, "Triggers": {**props["Triggers"], "image": "0ld1mage"}}
    event = events.update(TYPE, props, old, physical_id="mcp-smoke-test:127.0.0.1")
    expect_secret(cognito)

    poll = start(event)

    assert poll["PhysicalResourceId"] == "mcp-smoke-test:127.0.0.1"
    assert smoke_handler.is_complete(poll)["IsComplete"]


def test_unreadable_client_secret_names_pool_and_client(
    cognito: Stubber, props: dict[str, Any]
) -> None:
    cognito.add_client_error(
        "describe_user_pool_client",
        service_error_code="AccessDeniedException",
        service_message="not authorized to perform: cognito-idp:DescribeUserPoolClient",
        http_status_code=400,
    )

    with pytest.raises(RuntimeError) as failure:
        smoke_handler.is_complete(start(events.create(TYPE, props)))

    assert str(failure.value) == (
        f"cannot read the secret of app client {CLIENT.client_id} in user pool {POOL}: "
        "AccessDeniedException: not authorized to perform: cognito-idp:DescribeUserPoolClient"
    )


def test_delete_calls_nothing(cognito: Stubber, props: dict[str, Any]) -> None:
    event = events.delete(TYPE, props, physical_id="mcp-smoke-test:127.0.0.1")

    assert smoke_handler.on_event(event) == {"PhysicalResourceId": "mcp-smoke-test:127.0.0.1"}
    assert smoke_handler.is_complete(event) == {"IsComplete": True}


def test_missing_properties_are_named(cognito: Stubber) -> None:
    with pytest.raises(ValueError, match="missing the properties: TokenUrl, UserPoolId"):
        smoke_handler.on_event(
            events.create(
                TYPE,
                {"GatewayUrl": "https://x", "ClientId": "c", "Scope": "s", "ExpectedTools": ["a"]},
            )
        )


def test_failing_check_during_a_rollback_does_not_block_it(
    cognito: Stubber,
    cloudformation: Stubber,
    props: dict[str, Any],
    gateway: GatewayStandIn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    gateway.faults.hide_tools = {expected_tools()[0]}
    event = events.update(TYPE, props, props, physical_id="mcp-smoke-test:127.0.0.1")
    expect_secret(cognito)
    expect_status(cloudformation, "UPDATE_ROLLBACK_IN_PROGRESS")

    with caplog.at_level(logging.WARNING):
        assert smoke_handler.is_complete(start(event)) == {"IsComplete": True}

    assert "rollback_not_blocked" in caplog.text


def test_failing_check_during_an_update_keeps_retrying(
    cognito: Stubber, cloudformation: Stubber, props: dict[str, Any], gateway: GatewayStandIn
) -> None:
    gateway.faults.status = 502
    event = events.update(TYPE, props, props, physical_id="mcp-smoke-test:127.0.0.1")
    expect_secret(cognito)
    expect_status(cloudformation, "UPDATE_IN_PROGRESS")

    assert smoke_handler.is_complete(start(event)) == {"IsComplete": False}
