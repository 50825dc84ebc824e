"""Custom resource: the named secret exists after Create/Update; it is never deleted.

Create and Update adopt the secret if it already exists (e.g. left behind by `make destroy`,
which keeps it on purpose: it holds the operator's Lark credentials), restore it if it is
scheduled for deletion, and otherwise create it with a placeholder value for the operator to
fill. Delete does nothing. `Data.Arn` is the secret's full ARN; `Data.Outcome` says which of
`created` / `adopted` / `restored` happened (also logged).

Standard library + the boto3 the Lambda runtime ships: DescribeSecret, CreateSecret and
RestoreSecret have been in every boto3 release for years.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)
PLACEHOLDER = '{"app_id": "", "app_secret": ""}'


def handler(event: dict[str, Any], context: Any, client: Any = None) -> None:
    """CloudFormation entry point: always answers the pre-signed ResponseURL."""
    physical_id = event.get("PhysicalResourceId") or event["ResourceProperties"]["SecretName"]
    try:
        if client is None:
            import boto3

            client = boto3.client("secretsmanager")
        physical_id, data = handle(event, client)
        _respond(event, "SUCCESS", physical_id, data)
    except Exception as exc:  # every failure must reach CloudFormation
        LOG.exception("secret %s: %s", event["ResourceProperties"].get("SecretName"), exc)
        _respond(event, "FAILED", physical_id, {}, reason=_reason(exc))


def handle(event: dict[str, Any], client: Any) -> tuple[str, dict[str, str]]:
    """(physical id, Data) for one request; raises on anything CloudFormation must see."""
    props = event["ResourceProperties"]
    name = props["SecretName"]
    if event["RequestType"] == "Delete":
        LOG.info("keeping secret %s (it holds credentials the operator stored)", name)
        return event.get("PhysicalResourceId") or name, {}
    arn, outcome = ensure_secret(client, name, props.get("Description", ""))
    LOG.info("secret %s %s", name, outcome)
    return arn, {"Arn": arn, "Name": name, "Outcome": outcome}


def ensure_secret(client: Any, name: str, description: str) -> tuple[str, str]:
    """The secret's ARN and whether it was created, adopted or restored."""
    found = _describe(client, name)
    if found is None:
        try:
            created = client.create_secret(
                Name=name, Description=description, SecretString=PLACEHOLDER
            )
            return created["ARN"], "created"
        except client.exceptions.ResourceExistsException:
            found = _describe(client, name)  # created meanwhile by someone else: adopt it
            if found is None:
                raise
    if found.get("DeletedDate"):
        client.restore_secret(SecretId=name)
        return found["ARN"], "restored"
    return found["ARN"], "adopted"


def _describe(client: Any, name: str) -> dict[str, Any] | None:
    try:
        return client.describe_secret(SecretId=name)
    except client.exceptions.ResourceNotFoundException:
        return None


def _reason(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:1000]


def _respond(
    event: dict[str, Any],
    status: str,
    physical_id: str,
    data: dict[str, str],
    reason: str = "",
) -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason or f"secret {status.lower()}",
            "PhysicalResourceId": physical_id,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data,
        }
    ).encode()
    request = urllib.request.Request(
        event["ResponseURL"],
        data=body,
        method="PUT",
        headers={"Content-Type": "", "Content-Length": str(len(body))},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
