"""Is the stack rolling back? Then a deploy check must not fail.

When a deploy fails (perhaps because of the smoke test), CloudFormation rolls back and sends
these custom resources an Update with the old properties. Failing that Update would leave the
stack in UPDATE_ROLLBACK_FAILED, so during a rollback the checks log their finding and succeed.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)


def stack_is_rolling_back(event: dict[str, Any], cloudformation: Any) -> bool:
    """True while the event's stack is rolling back; False if unknown (then checks still fail)."""
    if event.get("RequestType") != "Update" or not event.get("StackId"):
        return False  # a rollback only ever sends Update (and Delete, which checks ignore)
    try:
        stacks = cloudformation.describe_stacks(StackName=event["StackId"])["Stacks"]
    except (BotoCoreError, ClientError) as exc:
        LOG.warning(json.dumps({"event": "stack_status_unknown", "error": str(exc)}))
        return False
    status = stacks[0]["StackStatus"] if stacks else ""
    return status.endswith("ROLLBACK_IN_PROGRESS")


def log_skipped(check: str, finding: str) -> None:
    LOG.warning(json.dumps({"event": "rollback_not_blocked", "check": check, "finding": finding}))
