"""The IAM role AgentCore assumes for a gateway or a runtime.

Both trust the service principal only for this account and for the given resource ARN
(``aws:SourceAccount`` / ``aws:SourceArn``), so no other account's AgentCore resource can make
the service act with the role (the confused-deputy case).
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct


def agentcore_service_role(
    scope: Construct, id: str, *, source_arn: str, description: str
) -> iam.Role:
    """A role only ``bedrock-agentcore.amazonaws.com`` may assume, for ``source_arn`` (may use
    ``*``) in ``scope``'s account."""
    return iam.Role(
        scope,
        id,
        assumed_by=iam.ServicePrincipal(
            "bedrock-agentcore.amazonaws.com",
            conditions={
                "StringEquals": {"aws:SourceAccount": Stack.of(scope).account},
                "ArnLike": {"aws:SourceArn": source_arn},
            },
        ),
        description=description,
    )
