"""Template tests: the two custom resources on a bare stack, their order, triggers and cdk-nag.

The stack holds only what the constructs need (a pool + client, a gateway, a target), so the
tests stay fast and independent of the app's stacks. Every synth runs cdk-nag AwsSolutions as
a validation plugin: a finding fails the synth, so each `build()` is also a cdk-nag test.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from mcp_constructs.deploy_checks import GatewaySmokeTest, GatewayToolSync
from mcp_constructs.deploy_checks.runtime.mcp_smoke import DEFAULT_PROTOCOL_VERSION
from tests.deploy_checks.bare_gateway import bare_gateway, mcp_target

TOOLS = ["send_message", "list_chats", "get_document"]
# Two server image build contexts that differ in one line of code.
IMAGE_V1 = {"Dockerfile": "FROM python:3.13-slim\nCOPY server.py /\n", "server.py": "v = 1\n"}
IMAGE_V2 = {**IMAGE_V1, "server.py": "v = 2\n"}
ENV = cdk.Environment(account="123456789012", region="us-east-1")
SYNC = "Custom::GatewayToolSync"
SMOKE = "Custom::GatewaySmokeTest"


def build(image: dict[str, str] = IMAGE_V1, tools: list[str] = TOOLS) -> dict[str, Any]:
    """Synthesize a bare stack with both constructs; return its template."""
    app = cdk.App()
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks())
    stack = cdk.Stack(app, "DeployChecksTest", env=ENV)
    context = Path(tempfile.mkdtemp())  # the image's build context: synth hashes it, no Docker
    for name, text in image.items():
        (context / name).write_text(text)
    image_hash = ecr_assets.DockerImageAsset(stack, "Image", directory=str(context)).asset_hash
    pool = cognito.UserPool(stack, "Pool")
    cdk.Validations.of(pool).acknowledge(
        *[
            cdk.Acknowledgment(id=f"AwsSolutions::AwsSolutions-{rule}", reason="test pool")
            for rule in ("COG1", "COG2", "COG8")
        ]
    )
    client = pool.add_client(
        "Client",
        generate_secret=True,
        o_auth=cognito.OAuthSettings(
            flows=cognito.OAuthFlows(client_credentials=True),
            scopes=[cognito.OAuthScope.custom("lark-mcp/invoke")],
        ),
    )
    _, gateway = bare_gateway(stack, allowed_clients=[client.user_pool_client_id])
    target = mcp_target(stack, "Target", gateway, name="lark", endpoint="https://example.com/mcp")
    sync = GatewayToolSync(
        stack, "ToolSync", gateway=gateway, targets=[target], triggers={"image": image_hash}
    )
    GatewaySmokeTest(
        stack,
        "SmokeTest",
        gateway=gateway,
        target=target,
        user_pool=pool,
        client=client,
        oauth_scope="lark-mcp/invoke",
        token_url="https://lark-mcp.auth.us-east-1.amazoncognito.com/oauth2/token",
        expected_tools=tools,
        after=sync,
        triggers={"image": image_hash},
    )
    try:
        return Template.from_stack(stack).to_json()
    finally:
        shutil.rmtree(context)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return build()


def image_hash(template: dict[str, Any]) -> str:
    return only(template, SYNC)[1]["Properties"]["Triggers"]["image"]


def only(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    found = [(k, v) for k, v in template["Resources"].items() if v["Type"] == resource_type]
    assert len(found) == 1, f"expected one {resource_type}, found {[k for k, _ in found]}"
    return found[0]


def logical_id(template: dict[str, Any], resource_type: str) -> str:
    return only(template, resource_type)[0]


def test_tool_sync_resource(template: dict[str, Any]) -> None:
    Template.from_json(template).has_resource_properties(
        SYNC,
        {
            "GatewayIdentifier": {
                "Fn::GetAtt": [
                    logical_id(template, "AWS::BedrockAgentCore::Gateway"),
                    "GatewayIdentifier",
                ]
            },
            "TargetIds": [
                {
                    "Fn::GetAtt": [
                        logical_id(template, "AWS::BedrockAgentCore::GatewayTarget"),
                        "TargetId",
                    ]
                }
            ],
            "MaxWaitSeconds": 600,
            "Triggers": {
                "image": Match.string_like_regexp("^[0-9a-f]{64}$"),
                "targets": Match.string_like_regexp("^[0-9a-f]{16}$"),
            },
        },
    )


def test_smoke_test_resource_carries_no_secret(template: dict[str, Any]) -> None:
    gateway = logical_id(template, "AWS::BedrockAgentCore::Gateway")
    Template.from_json(template).has_resource_properties(
        SMOKE,
        {
            "GatewayUrl": {"Fn::GetAtt": [gateway, "GatewayUrl"]},
            "TokenUrl": "https://lark-mcp.auth.us-east-1.amazoncognito.com/oauth2/token",
            "UserPoolId": {"Ref": logical_id(template, "AWS::Cognito::UserPool")},
            "ClientId": {"Ref": logical_id(template, "AWS::Cognito::UserPoolClient")},
            "Scope": "lark-mcp/invoke",
            "TargetName": "lark",
            "ExpectedTools": TOOLS,
            "ProtocolVersion": DEFAULT_PROTOCOL_VERSION,
            "Triggers": {
                "image": image_hash(template),
                "targets": Match.any_value(),
                "expected_tools": Match.string_like_regexp("^[0-9a-f]{16}$"),
            },
        },
    )
    assert "ClientSecret" not in json.dumps(template)


def test_smoke_depends_on_sync_which_depends_on_the_target(template: dict[str, Any]) -> None:
    sync_id, sync = only(template, SYNC)
    _, smoke = only(template, SMOKE)
    target_id = logical_id(template, "AWS::BedrockAgentCore::GatewayTarget")

    assert sync_id in smoke["DependsOn"]
    assert target_id in sync["DependsOn"]


def test_least_privilege_roles(template: dict[str, Any]) -> None:
    statements = [
        statement
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::Policy"
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]
    agentcore_calls = [s for s in statements if "bedrock-agentcore" in json.dumps(s["Action"])]
    cognito_calls = [s for s in statements if "cognito-idp" in json.dumps(s["Action"])]
    stack_reads = [s for s in statements if "cloudformation" in json.dumps(s["Action"])]

    assert agentcore_calls == [
        {
            "Action": [
                "bedrock-agentcore:SynchronizeGatewayTargets",
                "bedrock-agentcore:GetGatewayTarget",
            ],
            "Effect": "Allow",
            "Resource": {
                "Fn::GetAtt": [logical_id(template, "AWS::BedrockAgentCore::Gateway"), "GatewayArn"]
            },
        }
    ]
    assert cognito_calls == [
        {
            "Action": "cognito-idp:DescribeUserPoolClient",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [logical_id(template, "AWS::Cognito::UserPool"), "Arn"]},
        }
    ]
    # Each handler may read only its own stack's status (to tell a rollback from a deploy).
    assert stack_reads == 2 * [
        {
            "Action": "cloudformation:DescribeStacks",
            "Effect": "Allow",
            "Resource": {"Ref": "AWS::StackId"},
        }
    ]


def test_handlers_are_plain_python_on_arm64_with_bounded_logs(template: dict[str, Any]) -> None:
    functions = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"].get("Runtime", "").startswith("python")
    ]
    assert sorted(f["Handler"] for f in functions) == [
        "smoke_handler.is_complete",
        "smoke_handler.on_event",
        "tool_sync.is_complete",
        "tool_sync.on_event",
    ]
    for function in functions:
        assert function["Runtime"] == "python3.14"
        assert function["Architectures"] == ["arm64"]
        assert "Layers" not in function  # standard library + the runtime's boto3 only
    retention = {
        r["Properties"].get("RetentionInDays")
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Logs::LogGroup"
    }
    assert retention == {30}


def test_image_change_reruns_both_checks(template: dict[str, Any]) -> None:
    moved = build(image=IMAGE_V2)

    for resource_type in (SYNC, SMOKE):
        before = only(template, resource_type)[1]["Properties"]["Triggers"]
        after = only(moved, resource_type)[1]["Properties"]["Triggers"]
        assert after["image"] != before["image"]
        assert after["image"] == image_hash(moved)
        assert {k: v for k, v in after.items() if k != "image"} == {
            k: v for k, v in before.items() if k != "image"
        }


def test_expected_tools_change_reruns_the_smoke_test_only(template: dict[str, Any]) -> None:
    moved = build(tools=[*TOOLS, "find_users"])

    assert only(moved, SYNC)[1] == only(template, SYNC)[1]
    before = only(template, SMOKE)[1]["Properties"]["Triggers"]["expected_tools"]
    assert only(moved, SMOKE)[1]["Properties"]["Triggers"]["expected_tools"] != before


def test_two_synths_are_identical(template: dict[str, Any]) -> None:
    assert json.dumps(build(), sort_keys=True) == json.dumps(template, sort_keys=True)


def test_a_wait_longer_than_cloudformation_allows_is_refused_at_synth() -> None:
    stack = cdk.Stack(cdk.App(), "TooLong", env=ENV)
    gateway = agentcore.CfnGateway(
        stack, "Gateway", name="g", protocol_type="MCP", authorizer_type="AWS_IAM", role_arn="r"
    )
    target = agentcore.CfnGatewayTarget(
        stack, "Target", name="lark", target_configuration={}, gateway_identifier="g"
    )

    with pytest.raises(ValueError, match="CloudFormation waits at most an hour"):
        GatewayToolSync(
            stack, "ToolSync", gateway=gateway, targets=[target], max_wait=cdk.Duration.hours(2)
        )
