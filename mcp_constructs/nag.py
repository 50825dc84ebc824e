"""Acknowledging cdk-nag findings on one construct, always with a reason (cdk-nag 3 API).

cdk-nag 3 names a finding `RuleId[FindingId]`, the finding id being the flattened
CloudFormation value (`Resource::arn:<AWS::Partition>:...`). A value that crosses stacks is
only known in its final form after CDK has resolved references, so `acknowledge_resolved`
computes the finding id at validation time instead of guessing generated names.
"""

from __future__ import annotations

import json
from typing import Any

import jsii
from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct, IValidation


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge `rule` (e.g. `AwsSolutions-IAM5[Resource::*]`) on `construct` only."""
    if len(reason) < 20:
        raise ValueError(f"say why {rule} does not apply to {construct.node.path}")
    Validations.of(construct).acknowledge(Acknowledgment(id=rule, reason=reason))


def acknowledge_resolved(
    construct: IConstruct, rule: str, kind: str, value: str, reason: str
) -> None:
    """Acknowledge `rule[<kind>::<value as cdk-nag flattens it>]` once `value` is resolved.

    Example: `acknowledge_resolved(policy, "AwsSolutions-IAM5", "Resource", f"{arn}/*", why)`
    where `arn` comes from another stack.
    """
    if len(reason) < 20:
        raise ValueError(f"say why {rule} does not apply to {construct.node.path}")
    construct.node.add_validation(_LateAcknowledgment(construct, rule, kind, value, reason))


@jsii.implements(IValidation)
class _LateAcknowledgment:
    """Runs after references are resolved and before policy-validation plugins (cdk-nag)."""

    def __init__(self, construct: IConstruct, rule: str, kind: str, value: str, reason: str):
        self._construct = construct
        self._rule, self._kind, self._value, self._reason = rule, kind, value, reason

    def validate(self) -> list[str]:
        resolved = Stack.of(self._construct).resolve(self._value)
        finding = f"{self._rule}[{self._kind}::{flatten_cfn_reference(resolved)}]"
        acknowledge(self._construct, finding, self._reason)
        return []


def flatten_cfn_reference(node: Any) -> str:
    """cdk-nag's flattenCfnReference: how a CloudFormation value appears in a finding id."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict) and len(node) == 1:
        ((key, arg),) = node.items()
        if key == "Fn::Join":
            delimiter, items = arg
            return delimiter.join(flatten_cfn_reference(item) for item in items)
        if key in ("Fn::Sub", "Fn::ImportValue"):
            return flatten_cfn_reference(arg)
        if key == "Fn::GetAtt":
            return f"<{flatten_cfn_reference(arg[0])}.{flatten_cfn_reference(arg[1])}>"
        if key == "Ref":
            return f"<{flatten_cfn_reference(arg)}>"
    return json.dumps(node, separators=(",", ":"), ensure_ascii=False)
