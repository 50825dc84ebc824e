"""Custom resource: fail the deploy unless the sign-in path answers as it must.

Driven by the CDK Provider framework like the smoke test (``smoke_handler``): ``on_event``
validates and sets a deadline, ``is_complete`` runs the checks (``sign_in_checks``) each time
it is polled. Failures that time may fix (connection errors, 5xx, throttling: a new HTTP API or
gateway warming up) are retried until the deadline; the others fail at once with their
sentence, which CloudFormation shows as the status reason. During a rollback a failure is
logged, not raised. Delete is a no-op.

No secret is read: the checks use only public endpoints and a JWT they forge on purpose.

Resource properties: ``Issuer``, ``DiscoveryUrl``, ``ClientId``, ``RedirectUri``,
``GatewayUrl``, ``AccountsOrigin``, ``FillSecretCommand``, ``RestartCommand``,
``MaxWaitSeconds``, ``Triggers``.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import boto3

try:  # imported as part of the package (tests, a laptop)
    from ..rollback import log_skipped, stack_is_rolling_back
    from . import sign_in_checks
except ImportError:  # the Lambda asset root is on sys.path
    import sign_in_checks  # type: ignore[no-redef]
    from rollback import log_skipped, stack_is_rolling_back  # type: ignore[no-redef]

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

REQUIRED = ("Issuer", "ClientId", "RedirectUri")
DEFAULT_MAX_WAIT_SECONDS = 600

_clients: dict[str, Any] = {}


def client(service: str = "cloudformation") -> Any:
    """One boto3 client per service per Lambda container (only to recognise a rollback)."""
    if service not in _clients:
        _clients[service] = boto3.client(service)
    return _clients[service]


def config_from(event: dict[str, Any]) -> sign_in_checks.SignInConfig:
    props = event.get("ResourceProperties") or {}
    missing = [key for key in REQUIRED if not props.get(key)]
    if missing:
        raise ValueError(f"sign-in check is missing the properties: {', '.join(missing)}")
    return sign_in_checks.SignInConfig(
        issuer=str(props["Issuer"]),
        redirect_uri=str(props["RedirectUri"]),
        client_id=str(props["ClientId"]),
        discovery_url=props.get("DiscoveryUrl") or None,
        gateway_url=props.get("GatewayUrl") or None,
        accounts_origin=props.get("AccountsOrigin") or None,
        fill_secret_command=props.get("FillSecretCommand") or None,
        restart_command=props.get("RestartCommand") or None,
        unfilled_secret_is_pending=True,
    )


def on_event(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    if event["RequestType"] == "Delete":
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    config = config_from(event)
    physical = event.get("PhysicalResourceId") or f"sign-in-check:{config.issuer}"
    props = event.get("ResourceProperties") or {}
    max_wait = int(props.get("MaxWaitSeconds", DEFAULT_MAX_WAIT_SECONDS))
    now = time.time()
    # Carried to is_complete by the Provider framework (not resource attributes).
    return {"PhysicalResourceId": physical, "CheckStartedAt": now, "CheckDeadline": now + max_wait}


def is_complete(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    if event["RequestType"] == "Delete":
        return {"IsComplete": True}
    report = sign_in_checks.run_checks(config_from(event))
    LOG.info(json.dumps({"event": "sign_in_report", **report.to_dict()}))
    if report.ok:
        # A first deploy leaves the Lark secret to be filled: say so (stack output), not fail.
        pending = report.pending or "nothing: the sign-in path is ready"
        return {"IsComplete": True, "Data": {"Checks": len(report.passed), "Pending": pending}}
    now = time.time()
    if report.retryable and now < float(event["CheckDeadline"]):
        if stack_is_rolling_back(event, client()):
            log_skipped("sign-in check", report.message)
            return {"IsComplete": True}
        return {"IsComplete": False}
    waited = now - float(event["CheckStartedAt"])
    took = f"{waited:.0f} s" if waited < 120 else f"{waited / 60:.0f} min"
    suffix = f" (still failing after {took} of retries)" if report.retryable else ""
    message = f"sign-in check failed: {report.message}{suffix}"
    if stack_is_rolling_back(event, client()):
        log_skipped("sign-in check", message)
        return {"IsComplete": True}
    raise RuntimeError(message)
