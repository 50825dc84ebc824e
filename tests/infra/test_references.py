"""Cross-stack references after a producer stack is recreated, on the synthesized templates.

The app's references are weak (``Fn::GetStackOutput``), resolved when a consuming stack is
created or updated. These tests resolve the consumer templates the way CloudFormation does, once
with a producer's outputs before it was destroyed and once after it was deployed again, and
check what a stack update then changes: the gateway target's endpoint, the tool sync and smoke
test (they must run again), and the ``ReferencedValues`` record `make deploy` compares.
"""

from __future__ import annotations

import json
from typing import Any

from mcp_constructs.stale_refs import references
from tests.policy_eval import resolve

PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "eu-west-1", "AWS::AccountId": "111111111111"}
PSEUDO |= {"AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "LarkMcp-Gateway"}


def _stack_outputs(node: Any, found: set[tuple[str, str]]) -> set[tuple[str, str]]:
    if isinstance(node, dict):
        get = node.get("Fn::GetStackOutput")
        if get:
            found.add((get["StackName"], get["OutputName"]))
        for value in node.values():
            _stack_outputs(value, found)
    elif isinstance(node, list):
        for value in node:
            _stack_outputs(value, found)
    return found


def _producer_outputs(raw: dict[str, dict], version: str) -> dict[str, str]:
    """Every published output of every stack, as a deploy numbered ``version`` left them."""
    values = {}
    for stack, template in raw.items():
        for output in template.get("Outputs", {}):
            values[f"LarkMcp-{stack}.{output}"] = f"{stack}-{output}-{version}"
    return values


def test_every_stack_records_every_reference_it_reads(synth) -> None:
    for stack, template in synth.raw.items():
        read = _stack_outputs(template.get("Resources", {}), set())
        recorded = {(r.producer, r.output) for r in references(template) or []}
        assert read <= recorded, f"{stack}: reads {sorted(read - recorded)} without recording"
        assert template["Parameters"]["ReferencesRevision"]["Default"] == "0"
        assert template["Outputs"]["ReferencesRevision"]["Value"] == {"Ref": "ReferencesRevision"}
    assert references(synth.raw["Gateway"]), "the Gateway stack reads the Runtime and Cognito"


def _resolved_gateway(synth, version_of: dict[str, str]) -> dict[str, Any]:
    refs = dict(PSEUDO)
    for stack, version in version_of.items():
        for key, value in _producer_outputs({stack: synth.raw[stack]}, version).items():
            refs[key] = value
    return resolve(synth.raw["Gateway"], refs)


def _by_type(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == kind]


def test_a_recreated_runtime_changes_what_the_gateway_resolves(synth) -> None:
    before = _resolved_gateway(synth, {"Runtime": "v1", "Cognito": "v1"})
    again = _resolved_gateway(synth, {"Runtime": "v1", "Cognito": "v1"})
    after = _resolved_gateway(synth, {"Runtime": "v2", "Cognito": "v1"})
    assert before == again  # nothing moved: no update, no rerun (no timestamps)
    for kind in (
        "AWS::BedrockAgentCore::GatewayTarget",
        "Custom::GatewayToolSync",
        "Custom::GatewaySmokeTest",
    ):
        (old,) = _by_type(before, kind)
        (new,) = _by_type(after, kind)
        assert old != new, f"{kind} would not change (its check would not run again)"
        assert "Runtime-" in json.dumps(new) and "-v2" in json.dumps(new), kind
    recorded_before = before["Outputs"]["ReferencedValues"]["Value"]
    recorded_after = after["Outputs"]["ReferencedValues"]["Value"]
    assert recorded_before != recorded_after
    assert all(line.endswith("-v1") for line in recorded_before.split("\n"))


def test_a_recreated_user_pool_changes_the_smoke_test(synth) -> None:
    before = _resolved_gateway(synth, {"Runtime": "v1", "Cognito": "v1"})
    after = _resolved_gateway(synth, {"Runtime": "v1", "Cognito": "v2"})
    (old,) = _by_type(before, "Custom::GatewaySmokeTest")
    (new,) = _by_type(after, "Custom::GatewaySmokeTest")
    assert old["UserPoolId"] != new["UserPoolId"] and old["ClientId"] != new["ClientId"]
