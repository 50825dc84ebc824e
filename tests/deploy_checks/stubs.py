"""botocore Stubbers on the Lambda handlers' clients, shared by the handler tests.

Each handler module (``runtime/smoke_handler.py``, ``runtime/tool_sync.py``) caches its boto3
clients in ``_clients`` and hands them out with ``client(service)``; a Stubber on that client
checks every call against the service model the Lambda loads: the one shipped in its asset
(``AWS_DATA_PATH``, set as the function's environment sets it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

import boto3
import pytest
from botocore.stub import Stubber

from mcp_constructs.deploy_checks.botocore_models import DATA_DIR_NAME, staged_asset
from tests.deploy_checks import events


@contextmanager
def handler_stub(
    monkeypatch: pytest.MonkeyPatch, handler: ModuleType, service: str
) -> Iterator[Stubber]:
    """Fake credentials and region, the asset's models, fresh clients, a Stubber on ``service``."""
    monkeypatch.setenv("AWS_DATA_PATH", str(staged_asset() / DATA_DIR_NAME))
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # a new session reads AWS_DATA_PATH
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    handler._clients.clear()
    with stub(handler, service) as stubber:
        yield stubber
    handler._clients.clear()


@contextmanager
def stub(handler: ModuleType, service: str) -> Iterator[Stubber]:
    """A Stubber on ``handler.client(service)``; every queued answer must have been used."""
    with Stubber(handler.client(service)) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def expect_status(stubber: Stubber, status: str) -> None:
    """Queue a DescribeStacks answer: the events' stack is in ``status``."""
    stubber.add_response(
        "describe_stacks", events.stack_status(status), {"StackName": events.STACK_ID}
    )
