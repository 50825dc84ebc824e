"""Custom resource: fail the deploy unless the gateway lists every expected tool.

Driven by the CDK Provider framework. ``on_event`` only validates and sets a deadline;
``is_complete`` runs the check (``mcp_smoke``) each time it is polled, so a brand-new Cognito
domain has minutes to resolve without a Lambda sleeping. A failure that waiting can fix (DNS,
connection, 5xx, a tool list not yet refreshed) is retried until the deadline; one that it
cannot (wrong client secret, scope not allowed) fails at once. Either way the deploy fails with
the check's one-line message, which CloudFormation shows as the resource's status reason.

During a rollback (the stack status says so) a failing check is logged, not raised: failing
then would leave the stack in UPDATE_ROLLBACK_FAILED.

The client secret is read here, at run time, with ``cognito-idp:DescribeUserPoolClient`` (the
template carries only the pool id and client id), and never logged. Delete is a no-op.

Resource properties: ``GatewayUrl``, ``TokenUrl``, ``UserPoolId``, ``ClientId``, ``Scope``,
``TargetName``, ``ExpectedTools`` (list), ``ProtocolVersion``, ``MaxWaitSeconds``, ``Triggers``.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
from typing import Any

import boto3
from botocore.exceptions import ClientError

try:  # imported as part of the package (tests, a laptop)
    from . import mcp_smoke
    from .rollback import log_skipped, stack_is_rolling_back
except ImportError:  # the Lambda asset root is on sys.path
    import mcp_smoke  # type: ignore[no-redef]
    from rollback import log_skipped, stack_is_rolling_back  # type: ignore[no-redef]

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

REQUIRED = ("GatewayUrl", "TokenUrl", "UserPoolId", "ClientId", "Scope", "ExpectedTools")
DEFAULT_MAX_WAIT_SECONDS = 600
# Inside one invocation: short retries; the Provider's polling is the long retry loop.
TOKEN_RETRY = mcp_smoke.RetryPolicy(max_attempts=4, max_seconds=30, first_delay=2)
GATEWAY_RETRY = mcp_smoke.RetryPolicy(max_attempts=2, max_seconds=10, first_delay=1)

_clients: dict[str, Any] = {}


def client(service: str = "cognito-idp") -> Any:
    """One boto3 client per service per Lambda container."""
    if service not in _clients:
        _clients[service] = boto3.client(service)
    return _clients[service]


def _properties(event: dict[str, Any]) -> dict[str, Any]:
    props = event.get("ResourceProperties") or {}
    missing = [key for key in REQUIRED if not props.get(key)]
    if missing:
        raise ValueError(f"smoke test is missing the properties: {', '.join(missing)}")
    if not isinstance(props["ExpectedTools"], list):
        raise ValueError("smoke test property ExpectedTools must be a list of tool names")
    return props


def on_event(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    if event["RequestType"] == "Delete":
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    props = _properties(event)
    host = urllib.parse.urlsplit(props["GatewayUrl"]).hostname or "gateway"
    physical = event.get("PhysicalResourceId") or f"mcp-smoke-test:{host}"
    max_wait = int(props.get("MaxWaitSeconds", DEFAULT_MAX_WAIT_SECONDS))
    now = time.time()
    # Carried to is_complete by the Provider framework (not resource attributes).
    return {"PhysicalResourceId": physical, "SmokeStartedAt": now, "SmokeDeadline": now + max_wait}


def _client_secret(pool_id: str, client_id: str) -> str:
    try:
        answer = client().describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise RuntimeError(
            f"cannot read the secret of app client {client_id} in user pool {pool_id}: "
            f"{error.get('Code')}: {error.get('Message')}"
        ) from None
    secret = answer.get("UserPoolClient", {}).get("ClientSecret")
    if not secret:
        raise RuntimeError(
            f"app client {client_id} in user pool {pool_id} has no secret; the smoke test needs"
            " a confidential client with the client_credentials flow"
        )
    return secret


def is_complete(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    if event["RequestType"] == "Delete":
        return {"IsComplete": True}
    props = _properties(event)
    try:
        secret = _client_secret(props["UserPoolId"], props["ClientId"])
    except RuntimeError as exc:
        return _fail(event, str(exc))
    config = mcp_smoke.SmokeConfig(
        url=props["GatewayUrl"],
        expected_tools=[str(name) for name in props["ExpectedTools"]],
        target_name=props.get("TargetName") or None,
        token_url=props["TokenUrl"],
        client_id=props["ClientId"],
        client_secret=secret,
        scope=props["Scope"],
        protocol_version=props.get("ProtocolVersion") or mcp_smoke.DEFAULT_PROTOCOL_VERSION,
        token_retry=TOKEN_RETRY,
        gateway_retry=GATEWAY_RETRY,
    )
    report = mcp_smoke.run_smoke(config)
    LOG.info(json.dumps({"event": "smoke_report", **report.to_dict()}))
    if report.ok:
        return {"IsComplete": True, "Data": {"ToolCount": len(report.tools)}}
    now = time.time()
    if report.retryable and now < float(event["SmokeDeadline"]):
        if stack_is_rolling_back(event, client("cloudformation")):
            return _fail(event, report.message, rolling_back=True)
        return {"IsComplete": False}
    waited = now - float(event["SmokeStartedAt"])
    took = f"{waited:.0f} s" if waited < 120 else f"{waited / 60:.0f} min"
    suffix = f" (still failing after {took} of retries)" if report.retryable else ""
    return _fail(event, f"MCP smoke test failed: {report.message}{suffix}")


def _fail(event: dict[str, Any], message: str, rolling_back: bool | None = None) -> dict[str, Any]:
    """Raise ``message`` (CloudFormation shows it), unless the stack is rolling back."""
    if rolling_back is None:
        rolling_back = stack_is_rolling_back(event, client("cloudformation"))
    if rolling_back:
        log_skipped("smoke test", message)
        return {"IsComplete": True}
    raise RuntimeError(message)
