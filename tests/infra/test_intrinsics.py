"""Every intrinsic function of every template, checked where CloudFormation will read it.

The checker (tests/infra/intrinsics.py) uses cfn-lint's own function schemas, and it looks
inside properties cfn-lint skips (a gateway target's TargetConfiguration sits under a oneOf).
"""

from __future__ import annotations

import copy
import json

import pytest

from tests.infra.app_contexts import FULL
from tests.infra.intrinsics import intrinsic_problems
from tests.infra.physical_names import synthesized_templates

_WEAK_RUNTIME_ARN = {
    "Fn::GetStackOutput": {
        "StackName": "LarkMcp-Runtime",
        "Region": {"Ref": "AWS::Region"},
        "OutputName": "PublishOutputFnGetAttServerAgentRuntimeArn",
    }
}


def _target(endpoint: object) -> dict:
    """A one-resource template: a gateway target whose Endpoint is `endpoint`."""
    return {
        "Resources": {
            "Target": {
                "Type": "AWS::BedrockAgentCore::GatewayTarget",
                "Properties": {
                    "Name": "lark",
                    "GatewayIdentifier": "gw-1",
                    "TargetConfiguration": {"Mcp": {"McpServer": {"Endpoint": endpoint}}},
                },
            }
        }
    }


def _percent_encoded(arn: object) -> dict:
    """The endpoint shape the Gateway stack had before issue 10 (Split over the ARN)."""
    encoded = {
        "Fn::Join": ["%2F", {"Fn::Split": ["/", {"Fn::Join": ["%3A", {"Fn::Split": [":", arn]}]}]}]
    }
    return {
        "Fn::Join": [
            "",
            [
                "https://bedrock-agentcore.",
                {"Ref": "AWS::Region"},
                ".amazonaws.com/runtimes/",
                encoded,
                "/invocations",
            ],
        ]
    }


def test_catches_split_over_a_weak_cross_stack_reference():
    """The fault of issue 10 item 1, in the exact shape the old Gateway template had."""
    problems = intrinsic_problems(_target(_percent_encoded(_WEAK_RUNTIME_ARN)))
    assert len(problems) == 1, problems
    assert "Resources.Target.Properties.TargetConfiguration.Mcp.McpServer.Endpoint" in problems[0]
    assert "Fn::Split" in problems[0] and "Fn::GetStackOutput is not accepted" in problems[0]


def test_split_over_a_getatt_in_the_same_stack_is_fine():
    template = _target(_percent_encoded({"Fn::GetAtt": ["Runtime", "AgentRuntimeArn"]}))
    template["Resources"]["Runtime"] = {"Type": "AWS::BedrockAgentCore::Runtime"}
    assert intrinsic_problems(template) == []


def test_a_weak_reference_inside_join_or_sub_is_fine():
    joined = {"Fn::Join": ["", ["arn%3A", _WEAK_RUNTIME_ARN]]}
    subbed = {"Fn::Sub": ["x-${Id}", {"Id": _WEAK_RUNTIME_ARN}]}
    assert intrinsic_problems(_target(joined)) == []
    assert intrinsic_problems(_target(subbed)) == []


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ({"Fn::Equals": ["a", "b"]}, "Fn::Equals is not accepted here"),
        ({"Ref": "Nowhere"}, "Ref to 'Nowhere'"),
        ({"Fn::GetAtt": ["Nowhere", "Arn"]}, "Fn::GetAtt of 'Nowhere'"),
        ({"Fn::Sub": "https://${Nowhere}/mcp"}, "${Nowhere}"),
        ({"Fn::Split": [",", ["a", "b"]]}, "expected string"),
        ({"Fn::Join": ["", ["a"], "extra"]}, "takes 2..2 arguments"),
        ({"Fn::Select": [0, {"Fn::GetStackOutput": {"StackName": "s"}}]}, "missing 'OutputName'"),
        ({"Fn::If": ["NoSuchCondition", "a", "b"]}, "condition 'NoSuchCondition'"),
        # Either branch of an Fn::If stands where the Fn::If stands.
        (
            {"Fn::Split": [":", {"Fn::If": ["Cond", "a", _WEAK_RUNTIME_ARN]}]},
            "Fn::GetStackOutput is not accepted",
        ),
        ({"Fn::Frobnicate": "x"}, "Fn::Frobnicate is not accepted here"),
    ],
)
def test_other_misplaced_functions_are_reported(endpoint, expected):
    template = _target(endpoint)
    template["Conditions"] = {"Cond": {"Fn::Equals": ["a", "a"]}}
    problems = intrinsic_problems(template)
    assert any(expected in problem for problem in problems), problems


def test_conditions_accept_only_condition_functions():
    template = _target("https://example.com")
    template["Conditions"] = {
        "Good": {
            "Fn::And": [{"Fn::Equals": ["a", {"Ref": "AWS::Region"}]}, {"Condition": "Other"}]
        },
        "Other": {"Fn::Not": [{"Fn::Equals": ["a", "b"]}]},
        "Bad": {"Fn::Join": ["", ["a"]]},
    }
    problems = intrinsic_problems(template)
    assert problems == [
        "Conditions.Bad: Fn::Join is not accepted here (accepted: Condition, Fn::And, "
        "Fn::Equals, Fn::Not, Fn::Or)"
    ]


def test_default_app_templates_pass(synth):
    templates = {
        path.name: json.loads(path.read_text()) for path in synth.outdir.glob("*.template.json")
    }
    assert len(templates) == 4  # Cognito, Runtime, Gateway, Monitoring
    problems = {stack: intrinsic_problems(template) for stack, template in templates.items()}
    assert problems == {stack: [] for stack in templates}
    assert "Fn::GetStackOutput" in str(synth.raw["Gateway"]), "expected weak cross-stack refs"


def test_app_with_teams_and_an_extra_server_passes():
    templates = synthesized_templates(FULL)
    assert len(templates) == 4  # Cognito, Runtime, Gateway, Monitoring
    problems = {stack: intrinsic_problems(template) for stack, template in templates.items()}
    assert problems == {stack: [] for stack in templates}


def test_checker_does_not_modify_the_template(synth):
    before = copy.deepcopy(synth.raw["Gateway"])
    intrinsic_problems(synth.raw["Gateway"])
    assert synth.raw["Gateway"] == before


def test_a_literal_runtime_arn_is_percent_encoded_in_python():
    from mcp_constructs.gateway import runtime_invocation_url

    arn = "arn:aws:bedrock-agentcore:eu-west-1:111111111111:runtime/Lark_server-AbC123xyz0"
    assert runtime_invocation_url(arn, "eu-west-1") == (
        "https://bedrock-agentcore.eu-west-1.amazonaws.com/runtimes/"
        "arn%3Aaws%3Abedrock-agentcore%3Aeu-west-1%3A111111111111%3Aruntime%2F"
        "Lark_server-AbC123xyz0/invocations?qualifier=DEFAULT"
    )


def test_the_invocation_url_uses_the_partitions_dns_suffix(synth):
    """China's endpoints end in amazonaws.com.cn: the template takes AWS::URLSuffix."""
    from mcp_constructs.gateway import runtime_invocation_url

    cn = "arn:aws-cn:bedrock-agentcore:cn-north-1:111111111111:runtime/Lark_server-AbC123xyz0"
    assert runtime_invocation_url(cn, "cn-north-1").startswith(
        "https://bedrock-agentcore.cn-north-1.amazonaws.com.cn/runtimes/arn%3Aaws-cn%3A"
    )
    targets = [
        r
        for r in synth.raw["Gateway"]["Resources"].values()
        if r["Type"] == "AWS::BedrockAgentCore::GatewayTarget"
    ]
    assert targets
    for target in targets:
        endpoint = target["Properties"]["TargetConfiguration"]["Mcp"]["McpServer"]["Endpoint"]
        text = json.dumps(endpoint)
        assert "amazonaws.com" not in text, text
        assert {"Ref": "AWS::URLSuffix"} in endpoint["Fn::Join"][1], text


def test_a_deploy_time_arn_without_its_parts_is_refused():
    from aws_cdk import Aws

    from mcp_constructs.gateway import runtime_invocation_url

    with pytest.raises(ValueError, match="without Fn::Split"):
        runtime_invocation_url(Aws.STACK_ID, "eu-west-1")
