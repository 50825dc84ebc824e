"""tool_sync handlers driven with CloudFormation events; AgentCore answers from botocore's Stubber.

The Stubber checks every call against the real service model (operation, parameter names and
response shapes), so these tests also prove the handler speaks the API botocore knows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.stub import Stubber

from mcp_constructs.deploy_checks.runtime import tool_sync
from tests.deploy_checks import events
from tests.deploy_checks.stubs import expect_status, handler_stub, stub

GATEWAY = "lark-mcp-gateway-a1b2c3d4e5"
TARGET = "TGT0000001"
TARGET_2 = "TGT0000002"
TYPE = "Custom::GatewayToolSync"
PROPS = {
    "GatewayIdentifier": GATEWAY,
    "TargetIds": [TARGET],
    "MaxWaitSeconds": "600",
    "Triggers": {"image": "3f2a9c", "target": "77aa01", "expected_tools": "c0ffee"},
}


@pytest.fixture
def agentcore(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    with handler_stub(monkeypatch, tool_sync, "bedrock-agentcore-control") as stubber:
        yield stubber


@pytest.fixture
def cloudformation(agentcore: Stubber) -> Iterator[Stubber]:
    with stub(tool_sync, "cloudformation") as stubber:
        yield stubber


def target(
    target_id: str = TARGET,
    status: str = "READY",
    *,
    last_sync: datetime | None = None,
    reasons: list[str] | None = None,
) -> dict[str, Any]:
    """A GetGatewayTarget / GatewayTarget answer, as the service returns it."""
    now = datetime.now(UTC)
    shape: dict[str, Any] = {
        "gatewayArn": f"arn:aws:bedrock-agentcore:us-east-1:123456789012:gateway/{GATEWAY}",
        "targetId": target_id,
        "createdAt": now - timedelta(days=1),
        "updatedAt": now,
        "status": status,
        "name": "lark",
        "targetConfiguration": {
            "mcp": {
                "mcpServer": {"endpoint": "https://bedrock-agentcore.us-east-1.amazonaws.com/x"}
            }
        },
        "credentialProviderConfigurations": [{"credentialProviderType": "GATEWAY_IAM_ROLE"}],
    }
    if last_sync is not None:
        shape["lastSynchronizedAt"] = last_sync
    if reasons:
        shape["statusReasons"] = reasons
    return shape


def expect_sync(stubber: Stubber, target_id: str = TARGET) -> None:
    stubber.add_response(
        "synchronize_gateway_targets",
        {"targets": [target(target_id, "SYNCHRONIZING")]},
        {"gatewayIdentifier": GATEWAY, "targetIdList": [target_id]},
    )


def expect_get(stubber: Stubber, answer: dict[str, Any]) -> None:
    stubber.add_response(
        "get_gateway_target",
        answer,
        {"gatewayIdentifier": GATEWAY, "targetId": answer["targetId"]},
    )


def test_create_synchronizes_then_waits_for_ready(agentcore: Stubber) -> None:
    event = events.create(TYPE, PROPS)
    expect_sync(agentcore)

    started = tool_sync.on_event(event)

    assert started["PhysicalResourceId"] == f"{GATEWAY}/tool-sync"
    poll = events.for_is_complete(event, started)
    expect_get(agentcore, target(status="SYNCHRONIZING"))
    assert tool_sync.is_complete(poll) == {"IsComplete": False}
    expect_get(agentcore, target(status="READY", last_sync=datetime.now(UTC)))
    assert tool_sync.is_complete(poll) == {"IsComplete": True, "Data": {"Targets": TARGET}}


def test_each_target_is_synchronized_in_its_own_call(agentcore: Stubber) -> None:
    event = events.create(TYPE, {**PROPS, "TargetIds": [TARGET, TARGET_2]})
    expect_sync(agentcore, TARGET)
    expect_sync(agentcore, TARGET_2)  # the API takes one target id per call

    started = tool_sync.on_event(event)

    expect_get(agentcore, target(TARGET, "READY", last_sync=datetime.now(UTC)))
    expect_get(agentcore, target(TARGET_2, "SYNCHRONIZING"))
    assert tool_sync.is_complete(events.for_is_complete(event, started)) == {"IsComplete": False}


def test_update_keeps_the_physical_id_and_synchronizes_again(agentcore: Stubber) -> None:
    old = {**PROPS, "Triggers": {**PROPS["Triggers"], "image": "0ld1mage"}}
    event = events.update(TYPE, PROPS, old, physical_id=f"{GATEWAY}/tool-sync")
    expect_sync(agentcore)

    started = tool_sync.on_event(event)

    assert started["PhysicalResourceId"] == f"{GATEWAY}/tool-sync"
    expect_get(agentcore, target(status="READY", last_sync=datetime.now(UTC)))
    assert tool_sync.is_complete(events.for_is_complete(event, started))["IsComplete"]


def test_delete_calls_nothing(agentcore: Stubber) -> None:
    event = events.delete(TYPE, PROPS, physical_id=f"{GATEWAY}/tool-sync")

    assert tool_sync.on_event(event) == {"PhysicalResourceId": f"{GATEWAY}/tool-sync"}
    assert tool_sync.is_complete(event) == {"IsComplete": True}


def test_unsuccessful_sync_fails_with_the_service_reasons(agentcore: Stubber) -> None:
    event = events.create(TYPE, PROPS)
    expect_sync(agentcore)
    started = tool_sync.on_event(event)
    expect_get(
        agentcore,
        target(
            status="SYNCHRONIZE_UNSUCCESSFUL",
            last_sync=datetime.now(UTC),
            reasons=["Failed to list tools from the MCP server: HTTP 502"],
        ),
    )

    with pytest.raises(RuntimeError) as failure:
        tool_sync.is_complete(events.for_is_complete(event, started))

    assert str(failure.value).startswith(
        f"gateway target lark ({TARGET}) is SYNCHRONIZE_UNSUCCESSFUL after synchronisation: "
        "Failed to list tools from the MCP server: HTTP 502."
    )


def test_a_stale_failure_from_an_earlier_sync_is_not_ours(agentcore: Stubber) -> None:
    event = events.create(TYPE, PROPS)
    expect_sync(agentcore)
    started = tool_sync.on_event(event)
    earlier = datetime.now(UTC) - timedelta(hours=2)
    expect_get(agentcore, target(status="FAILED", last_sync=earlier, reasons=["old"]))

    assert tool_sync.is_complete(events.for_is_complete(event, started)) == {"IsComplete": False}


def test_ready_before_our_sync_shows_is_not_done(agentcore: Stubber) -> None:
    event = events.create(TYPE, PROPS)
    expect_sync(agentcore)
    started = tool_sync.on_event(event)
    expect_get(agentcore, target(status="READY", last_sync=datetime.now(UTC) - timedelta(days=1)))

    assert tool_sync.is_complete(events.for_is_complete(event, started)) == {"IsComplete": False}


def test_busy_target_is_synchronized_once_ready(agentcore: Stubber) -> None:
    event = events.create(TYPE, PROPS)
    agentcore.add_client_error(
        "synchronize_gateway_targets",
        service_error_code="ConflictException",
        service_message="Target is being updated",
        http_status_code=409,
        expected_params={"gatewayIdentifier": GATEWAY, "targetIdList": [TARGET]},
    )
    started = tool_sync.on_event(event)
    assert started["SyncPending"] == [TARGET]
    poll = events.for_is_complete(event, started)

    expect_get(agentcore, target(status="READY", last_sync=datetime.now(UTC) - timedelta(days=1)))
    expect_sync(agentcore)  # now READY: ask again
    assert tool_sync.is_complete(poll) == {"IsComplete": False}
    expect_get(agentcore, target(status="READY", last_sync=datetime.now(UTC)))
    assert tool_sync.is_complete(poll)["IsComplete"]


def test_sync_refused_says_which_target_and_why(agentcore: Stubber) -> None:
    agentcore.add_client_error(
        "synchronize_gateway_targets",
        service_error_code="AccessDeniedException",
        service_message="not authorized to perform: bedrock-agentcore:SynchronizeGatewayTargets",
        http_status_code=403,
    )

    with pytest.raises(RuntimeError) as failure:
        tool_sync.on_event(events.create(TYPE, PROPS))

    assert str(failure.value) == (
        f"SynchronizeGatewayTargets failed for target {TARGET} of gateway {GATEWAY}: "
        "AccessDeniedException: not authorized to perform: "
        "bedrock-agentcore:SynchronizeGatewayTargets"
    )


def test_gives_up_at_the_deadline_naming_the_status(agentcore: Stubber) -> None:
    event = events.create(TYPE, PROPS)
    expect_sync(agentcore)
    started = tool_sync.on_event(event)
    started["SyncDeadline"] = time.time() - 1  # as if polled for MaxWaitSeconds already
    expect_get(agentcore, target(status="SYNCHRONIZING"))

    with pytest.raises(RuntimeError) as failure:
        tool_sync.is_complete(events.for_is_complete(event, started))

    assert f"gateway {GATEWAY} targets not READY after" in str(failure.value)
    assert "lark is SYNCHRONIZING" in str(failure.value)


def test_missing_properties_are_named(agentcore: Stubber) -> None:
    with pytest.raises(ValueError, match="GatewayIdentifier and TargetIds"):
        tool_sync.on_event(events.create(TYPE, {"TargetIds": []}))


def test_failed_sync_during_a_rollback_is_logged_not_raised(
    agentcore: Stubber, cloudformation: Stubber, caplog: pytest.LogCaptureFixture
) -> None:
    old = {**PROPS, "Triggers": {**PROPS["Triggers"], "image": "0ld1mage"}}
    event = events.update(TYPE, old, PROPS, physical_id=f"{GATEWAY}/tool-sync")  # rolling back
    expect_sync(agentcore)
    started = tool_sync.on_event(event)
    expect_get(agentcore, target(status="FAILED", last_sync=datetime.now(UTC), reasons=["boom"]))
    expect_status(cloudformation, "UPDATE_ROLLBACK_IN_PROGRESS")

    with caplog.at_level(logging.WARNING):
        assert tool_sync.is_complete(events.for_is_complete(event, started)) == {"IsComplete": True}

    assert "rollback_not_blocked" in caplog.text and "boom" in caplog.text


def test_failed_sync_during_an_update_still_fails(
    agentcore: Stubber, cloudformation: Stubber
) -> None:
    event = events.update(TYPE, PROPS, PROPS, physical_id=f"{GATEWAY}/tool-sync")
    expect_sync(agentcore)
    started = tool_sync.on_event(event)
    expect_get(agentcore, target(status="FAILED", last_sync=datetime.now(UTC), reasons=["boom"]))
    expect_status(cloudformation, "UPDATE_IN_PROGRESS")

    with pytest.raises(RuntimeError, match="is FAILED after synchronisation: boom"):
        tool_sync.is_complete(events.for_is_complete(event, started))


def test_refused_sync_during_a_rollback_is_skipped(
    agentcore: Stubber, cloudformation: Stubber
) -> None:
    event = events.update(TYPE, PROPS, PROPS, physical_id=f"{GATEWAY}/tool-sync")
    agentcore.add_client_error(
        "synchronize_gateway_targets",
        service_error_code="ValidationException",
        service_message="Target has a static tool schema",
        http_status_code=400,
    )
    expect_status(cloudformation, "UPDATE_ROLLBACK_IN_PROGRESS")

    started = tool_sync.on_event(event)

    assert started == {"PhysicalResourceId": f"{GATEWAY}/tool-sync", "SyncSkipped": True}
    assert tool_sync.is_complete(events.for_is_complete(event, started)) == {"IsComplete": True}
