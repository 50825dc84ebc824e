"""CloudFormation custom-resource events as the CDK Provider framework hands them to handlers.

CloudFormation sends every scalar property as a string; the framework adds nothing but passes
``on_event``'s extra keys on to ``is_complete`` (merged into the same event).
"""

from __future__ import annotations

import copy
from typing import Any

STACK_ID = (
    "arn:aws:cloudformation:us-east-1:123456789012:stack/LarkMcpGateway/"
    "5b1f8a40-c97d-11f0-9f4e-0affe1c3a1b5"
)
SERVICE_TOKEN = (
    "arn:aws:lambda:us-east-1:123456789012:function:LarkMcpGateway-ToolSyncProviderframewo-k3Jd9"
)


def create(resource_type: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "RequestType": "Create",
        "ServiceToken": SERVICE_TOKEN,
        "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/"
        "arn%3Aaws%3Acloudformation%3Aus-east-1%3A123456789012%3Astack/LarkMcpGateway/x?sig=y",
        "StackId": STACK_ID,
        "RequestId": "e2b1f1c4-8c1a-4c55-9a26-1f0c2c6e2a11",
        "LogicalResourceId": "DeployChecksResource1A2B3C4D",
        "ResourceType": resource_type,
        "ResourceProperties": {"ServiceToken": SERVICE_TOKEN, **copy.deepcopy(properties)},
    }


def update(
    resource_type: str, properties: dict[str, Any], old: dict[str, Any], physical_id: str
) -> dict[str, Any]:
    event = create(resource_type, properties)
    event.update(
        RequestType="Update",
        PhysicalResourceId=physical_id,
        OldResourceProperties={"ServiceToken": SERVICE_TOKEN, **copy.deepcopy(old)},
    )
    return event


def delete(resource_type: str, properties: dict[str, Any], physical_id: str) -> dict[str, Any]:
    event = create(resource_type, properties)
    event.update(RequestType="Delete", PhysicalResourceId=physical_id)
    return event


def for_is_complete(event: dict[str, Any], on_event_result: dict[str, Any]) -> dict[str, Any]:
    """What the framework passes to is_complete: the request merged with on_event's answer."""
    return {**event, **on_event_result}


def stack_status(status: str) -> dict[str, Any]:
    """A DescribeStacks answer for the events' stack in ``status``."""
    return {
        "Stacks": [
            {
                "StackId": STACK_ID,
                "StackName": "LarkMcpGateway",
                "CreationTime": "2026-11-23T10:00:00Z",
                "StackStatus": status,
            }
        ]
    }
