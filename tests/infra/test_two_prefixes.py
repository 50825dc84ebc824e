"""Two deployments in one account (different `stackPrefix`) ask for no name in common."""

from __future__ import annotations

import json

from tests.infra.app_contexts import FULL
from tests.infra.physical_names import (
    ACCOUNT,
    PhysicalName,
    collisions,
    physical_names,
    prefix_collisions,
    synthesized_templates,
)


def test_full_app_twice_in_one_account_shares_no_physical_name():
    assert prefix_collisions(FULL) == []


def test_every_kind_of_name_is_collected():
    """The check sees the names issue 10 lists (so an empty collision list means something)."""
    context = FULL | {"stackPrefix": "LarkMcp", "account": ACCOUNT, "region": "us-east-1"}
    names, problems = physical_names(synthesized_templates(context))
    assert problems == []
    kinds = {name.kind for name in names}
    for kind in (
        "CloudFormation stack",
        "AWS::BedrockAgentCore::Gateway.Name",
        "AWS::BedrockAgentCore::Runtime.AgentRuntimeName",
        "AWS::BedrockAgentCore::PolicyEngine.Name",
        "AWS::BedrockAgentCore::Policy.Name",
        "AWS::Cognito::UserPoolDomain.Domain",
        "AWS::CloudWatch::Alarm.AlarmName",
        "AWS::CloudWatch::Dashboard.DashboardName",
        "Custom::LogRetention.LogGroupName",
    ):
        assert kind in kinds, kind
    secret_names = {n.name for n in names if "Secret" in n.kind}
    assert secret_names == {"LarkMcp/lark-app-credentials"}
    policies = {n.name for n in names if n.kind == "AWS::BedrockAgentCore::Policy.Name"}
    assert policies == {
        "LarkMcp_Gateway_invoke_lark",
        "LarkMcp_Gateway_read_lark",
        "LarkMcp_Gateway_invoke_jira",
    }
    assert {n.name for n in names if n.kind.endswith("UserPoolDomain.Domain")} == {
        f"larkmcp-{ACCOUNT}"
    }


def test_a_shared_name_is_reported_with_both_places():
    """What issue 10 item 4 was: Cedar policy names without the deployment in them."""

    def app(stack: str) -> dict:
        policy = {"Type": "AWS::BedrockAgentCore::Policy", "Properties": {"Name": "invoke_lark"}}
        return {stack: {"Resources": {"InvokePolicy": policy}}}

    first, _ = physical_names(app("A-Gateway"))
    second, _ = physical_names(app("B-Gateway"))
    assert collisions(first, second) == [
        "AWS::BedrockAgentCore::Policy.Name 'invoke_lark': A-Gateway/InvokePolicy and "
        "B-Gateway/InvokePolicy"
    ]


def test_names_built_from_the_stack_or_a_resource_are_per_deployment():
    def app(stack: str) -> dict:
        group = {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": {"Fn::Join": ["", ["/x/", {"Ref": "AWS::StackName"}]]}},
        }
        shared = {
            "Type": "AWS::SSM::Parameter",
            "Properties": {"Name": {"Fn::Sub": "/lark/${AWS::Region}/config"}},
        }
        return {stack: {"Resources": {"Group": group, "Param": shared}}}

    first, _ = physical_names(app("A"))
    second, _ = physical_names(app("B"))
    assert collisions(first, second) == [
        "AWS::SSM::Parameter.Name '/lark/us-east-1/config': A/Param and B/Param"
    ]


def test_an_unclassified_resource_type_is_a_problem():
    names, problems = physical_names(
        {"S": {"Resources": {"Thing": {"Type": "AWS::New::Thing", "Properties": {}}}}}
    )
    assert names == [PhysicalName("S", "CloudFormation stack", "S")]
    assert problems == [
        "S/Thing: resource type AWS::New::Thing is not classified; add it to "
        "ACCOUNT_UNIQUE_NAMES (with its name properties) or NO_ACCOUNT_UNIQUE_NAME"
    ]


def test_default_context_is_a_subset_of_the_full_one(synth):
    """The full app covers the default one: every default resource type appears in it."""
    default = {p.name: json.loads(p.read_text()) for p in synth.outdir.glob("*.template.json")}
    full = synthesized_templates(
        FULL | {"stackPrefix": "LarkMcp", "account": ACCOUNT, "region": "us-east-1"}
    )

    def types(templates: dict) -> set[str]:
        return {r["Type"] for t in templates.values() for r in (t.get("Resources") or {}).values()}

    assert types(default) <= types(full)
