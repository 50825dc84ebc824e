"""A boto3 Session for the operator-side CLIs (``verify``, ``verify_sign_in``) in tests.

Real clients of the pinned botocore (the one those CLIs run with), answering from botocore
Stubbers: no AWS account here, and every call is still checked against the service model.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.stub import Stubber


class StubbedSession:
    """What the CLIs use of a boto3 Session: ``region_name`` and ``client(service)``."""

    region_name = "eu-west-1"

    def __init__(self, services: tuple[str, ...] = ("cloudformation", "cognito-idp")) -> None:
        self.clients = {
            name: boto3.client(
                name,
                region_name=self.region_name,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            for name in services
        }
        self.stubbers = {name: Stubber(c) for name, c in self.clients.items()}

    def client(self, name: str) -> Any:
        return self.clients[name]


def expect_stack(session: StubbedSession, name: str, outputs: dict[str, str]) -> None:
    """Queue CloudFormation's DescribeStacks answer for a deployed stack with these outputs."""
    session.stubbers["cloudformation"].add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": name,
                    "CreationTime": "2026-11-23T10:00:00Z",
                    "StackStatus": "CREATE_COMPLETE",
                    "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
                }
            ]
        },
        {"StackName": name},
    )
