"""Custom resource: make the gateway fetch the target's tool list again, and wait until READY.

AgentCore Gateway caches each MCP target's tools. When a deploy changes the server image (or the
target), the gateway keeps serving the old list until ``SynchronizeGatewayTargets`` runs; this
resource runs it whenever its ``Triggers`` property changes (image, target, expected tools).

Driven by the CDK Provider framework: ``on_event`` starts the synchronisation, ``is_complete``
polls ``GetGatewayTarget`` until every target is ``READY`` again and fails the deploy with the
service's ``statusReasons`` when a target ends ``SYNCHRONIZE_UNSUCCESSFUL`` or ``FAILED``.
Delete is a no-op: nothing was created. During a rollback a failure is logged, not raised
(raising would leave the stack UPDATE_ROLLBACK_FAILED). Plain boto3 + standard library; the
service models come with the asset (``AWS_DATA_PATH``, see ``botocore_models.py``).

Resource properties: ``GatewayIdentifier``, ``TargetIds`` (list), ``MaxWaitSeconds``, ``Triggers``.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime
from typing import Any

import boto3
from botocore.exceptions import ClientError

try:  # imported as part of the package (tests, a laptop)
    from .rollback import log_skipped, stack_is_rolling_back
except ImportError:  # the Lambda asset root is on sys.path
    from rollback import log_skipped, stack_is_rolling_back  # type: ignore[no-redef]

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

READY = "READY"
FAILED_STATES = {"FAILED", "SYNCHRONIZE_UNSUCCESSFUL", "UPDATE_UNSUCCESSFUL"}
DEFAULT_MAX_WAIT_SECONDS = 600
# If the service shows READY but the last synchronisation predates our request, give the
# request this long to show before trusting READY (older API versions omit the timestamp).
SHOW_GRACE_SECONDS = 60
CLOCK_SKEW_SECONDS = 5

_clients: dict[str, Any] = {}


def client(service: str = "bedrock-agentcore-control") -> Any:
    """One boto3 client per service per Lambda container.

    Its model comes from ``AWS_DATA_PATH`` (the asset's ``botocore_data/``), not from the
    runtime's boto3, which may predate ``SynchronizeGatewayTargets``.
    """
    if service not in _clients:
        _clients[service] = boto3.client(service)
    return _clients[service]


def _properties(event: dict[str, Any]) -> tuple[str, list[str], int]:
    props = event.get("ResourceProperties") or {}
    gateway = props.get("GatewayIdentifier")
    targets = props.get("TargetIds")
    if not gateway or not isinstance(targets, list) or not targets:
        raise ValueError(
            "tool sync needs the properties GatewayIdentifier and TargetIds (a non-empty list);"
            f" got {sorted(props)}"
        )
    return (
        str(gateway),
        [str(t) for t in targets],
        int(props.get("MaxWaitSeconds", DEFAULT_MAX_WAIT_SECONDS)),
    )


def _error(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code', 'Error')}: {error.get('Message', str(exc))}"


def _synchronize(gateway: str, target: str) -> bool:
    """Ask for a synchronisation; False when the target is busy (try again once it is READY)."""
    try:
        client().synchronize_gateway_targets(gatewayIdentifier=gateway, targetIdList=[target])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConflictException":
            LOG.info(json.dumps({"event": "sync_busy", "target": target, "error": _error(exc)}))
            return False
        raise RuntimeError(
            f"SynchronizeGatewayTargets failed for target {target} of gateway {gateway}: "
            f"{_error(exc)}"
        ) from None
    LOG.info(json.dumps({"event": "sync_requested", "gateway": gateway, "target": target}))
    return True


def on_event(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    request = event["RequestType"]
    if request == "Delete":
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    gateway, targets, max_wait = _properties(event)
    physical = event.get("PhysicalResourceId") or f"{gateway}/tool-sync"
    now = time.time()
    try:
        pending = [target for target in targets if not _synchronize(gateway, target)]
    except RuntimeError as exc:
        _fail(event, str(exc))
        return {"PhysicalResourceId": physical, "SyncSkipped": True}
    return {
        "PhysicalResourceId": physical,
        # Carried to is_complete by the Provider framework (not resource attributes).
        "SyncRequestedAt": now,
        "SyncDeadline": now + max_wait,
        "SyncPending": pending,
    }


def _epoch(value: Any) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    return None


def _fail(event: dict[str, Any], message: str) -> dict[str, Any]:
    """Raise ``message`` (CloudFormation shows it), unless the stack is rolling back."""
    if stack_is_rolling_back(event, client("cloudformation")):
        log_skipped("tool sync", message)
        return {"IsComplete": True}
    raise RuntimeError(message)


def is_complete(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    if event["RequestType"] == "Delete" or event.get("SyncSkipped"):
        return {"IsComplete": True}
    try:
        return _poll(event)
    except RuntimeError as exc:
        return _fail(event, str(exc))


def _poll(event: dict[str, Any]) -> dict[str, Any]:
    gateway, targets, _ = _properties(event)
    requested_at = float(event["SyncRequestedAt"])
    deadline = float(event["SyncDeadline"])
    pending = set(event.get("SyncPending") or [])
    now = time.time()
    waiting: list[str] = []
    for target in targets:
        try:
            answer = client().get_gateway_target(gatewayIdentifier=gateway, targetId=target)
        except ClientError as exc:
            raise RuntimeError(
                f"GetGatewayTarget failed for target {target} of gateway {gateway}: {_error(exc)}"
            ) from None
        status = answer.get("status", "UNKNOWN")
        name = answer.get("name", target)
        reasons = "; ".join(answer.get("statusReasons") or []) or "no reason given"
        last_sync = _epoch(answer.get("lastSynchronizedAt"))
        synced_since = last_sync is not None and last_sync >= requested_at - CLOCK_SKEW_SECONDS
        in_grace = now - requested_at < SHOW_GRACE_SECONDS
        if status in FAILED_STATES and last_sync is not None and not synced_since and in_grace:
            waiting.append(f"{name} still shows the outcome of an earlier sync ({status})")
            continue
        if status in FAILED_STATES:
            raise RuntimeError(
                f"gateway target {name} ({target}) is {status} after synchronisation: {reasons}."
                " Check that the runtime starts and answers tools/list (its logs), then deploy"
                " again"
            )
        if status != READY:
            waiting.append(f"{name} is {status}")
        elif synced_since:
            continue
        elif target in pending:
            # It was busy when on_event asked; now that it is READY, ask again.
            _synchronize(gateway, target)
            if last_sync is not None:  # else the API cannot show when it ran: trust READY
                waiting.append(f"{name} is about to synchronise")
        elif last_sync is not None and in_grace:
            waiting.append(f"{name} has not started synchronising yet")
        # else: READY, and no newer sync showed within the grace period: trust READY.
    LOG.info(json.dumps({"event": "sync_poll", "waiting": waiting}))
    if not waiting:
        return {"IsComplete": True, "Data": {"Targets": ",".join(targets)}}
    if now >= deadline:
        minutes = (now - requested_at) / 60
        raise RuntimeError(
            f"gateway {gateway} targets not READY after {minutes:.0f} min: "
            + ", ".join(waiting)
            + ". Check the target's status in the AgentCore console, then deploy again"
        )
    return {"IsComplete": False}
