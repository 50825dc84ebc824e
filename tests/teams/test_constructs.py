"""TeamClients and GatewayToolPolicy on a bare stack: the resources and wiring they add.

One synthesis for the module. The whole app with `teams` context is covered by
test_app_teams.py; this file pins the constructs' own contract.
"""

import json

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Match, Template

from mcp_constructs.m2m_auth import M2MAuth
from mcp_constructs.manifest import Tool, load_manifest
from mcp_constructs.teams import add_team_clients, parse_teams
from mcp_constructs.tool_policy import GatewayToolPolicy
from tests.deploy_checks.bare_gateway import bare_gateway, mcp_target

TEAMS = parse_teams('[{"name": "support", "access": "read"}, {"name": "ops", "access": "write"}]')
MANIFEST = load_manifest()


def _build(mode: str = "ENFORCE") -> Template:
    stack = Stack(App(), "TeamsTest", env={"account": "123456789012", "region": "eu-west-1"})
    auth = M2MAuth(
        stack,
        "Auth",
        resource_server_id="lark-mcp",
        scopes={"invoke": "every tool", "read": "read-only tools"},
    )
    add_team_clients(stack, auth, TEAMS, invoke_scope_name="invoke")
    role, gateway = bare_gateway(stack, allowed_clients=auth.client_ids)
    target = mcp_target(stack, "Target", gateway, name="lark", endpoint="https://example.com/mcp")
    policy = GatewayToolPolicy(
        stack,
        "ToolPolicy",
        gateway=gateway,
        gateway_role=role,
        invoke_scope="lark-mcp/invoke",
        read_scope="lark-mcp/read",
        mode=mode,
    )
    policy.add_target(target, target_name="lark", tools=MANIFEST)
    other = mcp_target(
        stack, "OtherTarget", gateway, name="echo-server", endpoint="https://example.com/echo"
    )
    policy.add_target(other, target_name="echo-server", tools=[Tool("echo", read_only=False)])
    return Template.from_stack(stack)


@pytest.fixture(scope="module")
def template() -> Template:
    return _build()


def _statement(template: Template, name: str) -> str:
    """The policy's Cedar text with the gateway ARN token rendered as <GATEWAY_ARN>."""
    (policy,) = template.find_resources(
        "AWS::BedrockAgentCore::Policy", {"Properties": {"Name": name}}
    ).values()
    statement = policy["Properties"]["Definition"]["Cedar"]["Statement"]
    if isinstance(statement, str):
        return statement
    parts = statement["Fn::Join"][1]
    return "".join(p if isinstance(p, str) else "<GATEWAY_ARN>" for p in parts)


def test_one_secret_client_credentials_client_per_team(template):
    for team, scope in (("support", "lark-mcp/read"), ("ops", "lark-mcp/invoke")):
        template.has_resource_properties(
            "AWS::Cognito::UserPoolClient",
            {
                "ClientName": team,
                "GenerateSecret": True,
                "AllowedOAuthFlows": ["client_credentials"],
                "AllowedOAuthFlowsUserPoolClient": True,
                "AllowedOAuthScopes": [
                    {"Fn::Join": ["", [{"Ref": Match.any_value()}, f"/{scope.split('/')[1]}"]]}
                ],
            },
        )
    assert len(template.find_resources("AWS::Cognito::UserPoolClient")) == 3  # + default


def test_summary_output_maps_each_team_to_client_access_and_scope(template):
    value = template.find_outputs("TeamClientsSummary")["TeamClientsSummary"]["Value"]
    text = "".join(p if isinstance(p, str) else f"<{p['Ref']}>" for p in value["Fn::Join"][1])
    summary = json.loads(text)
    clients = {
        props["Properties"]["ClientName"]: f"<{logical_id}>"
        for logical_id, props in template.find_resources("AWS::Cognito::UserPoolClient").items()
    }
    assert summary == {
        "support": {"clientId": clients["support"], "access": "read", "scope": "lark-mcp/read"},
        "ops": {"clientId": clients["ops"], "access": "write", "scope": "lark-mcp/invoke"},
    }


def test_gateway_allows_every_team_client(template):
    clients = template.find_resources("AWS::Cognito::UserPoolClient")
    template.has_resource_properties(
        "AWS::BedrockAgentCore::Gateway",
        {
            "AuthorizerConfiguration": {
                "CustomJWTAuthorizer": {
                    "AllowedClients": Match.array_with([{"Ref": cid} for cid in clients])
                }
            }
        },
    )


def test_policy_engine_attached_in_enforce_mode(template):
    (engine_id,) = template.find_resources("AWS::BedrockAgentCore::PolicyEngine")
    template.has_resource_properties(
        "AWS::BedrockAgentCore::Gateway",
        {
            "PolicyEngineConfiguration": {
                "Arn": {"Fn::GetAtt": [engine_id, "PolicyEngineArn"]},
                "Mode": "ENFORCE",
            }
        },
    )


def test_log_only_dry_run():
    _build("LOG_ONLY").has_resource_properties(
        "AWS::BedrockAgentCore::Gateway",
        {"PolicyEngineConfiguration": {"Mode": "LOG_ONLY"}},
    )


def test_bad_mode_is_refused():
    with pytest.raises(ValueError, match="'policyMode'='AUDIT' is not valid: use ENFORCE"):
        _build("AUDIT")


def test_gateway_role_may_evaluate_only_this_engine_and_gateway(template):
    (engine_id,) = template.find_resources("AWS::BedrockAgentCore::PolicyEngine")
    engine_arn = {"Fn::GetAtt": [engine_id, "PolicyEngineArn"]}
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": "bedrock-agentcore:GetPolicyEngine",
                        "Effect": "Allow",
                        "Resource": engine_arn,
                    },
                    {
                        "Action": [
                            "bedrock-agentcore:AuthorizeAction",
                            "bedrock-agentcore:PartiallyAuthorizeActions",
                        ],
                        "Effect": "Allow",
                        "Resource": [
                            engine_arn,
                            {
                                "Fn::Join": [
                                    "",
                                    [
                                        "arn:",
                                        {"Ref": "AWS::Partition"},
                                        ":bedrock-agentcore:eu-west-1:123456789012:"
                                        "gateway/lark-mcp-??????????",
                                    ],
                                ]
                            },
                        ],
                    },
                ]
            },
            "Roles": [{"Ref": Match.string_like_regexp("GatewayRole")}],
        },
    )


def test_gateway_waits_for_its_evaluate_permissions(template):
    (gateway,) = template.find_resources("AWS::BedrockAgentCore::Gateway").values()
    policies = template.find_resources("AWS::IAM::Policy")
    assert set(policies) <= set(gateway["DependsOn"])


def test_each_target_gets_its_policies_validated_after_it(template):
    targets = {
        t["Properties"]["Name"]: logical_id
        for logical_id, t in template.find_resources("AWS::BedrockAgentCore::GatewayTarget").items()
    }
    policies = template.find_resources("AWS::BedrockAgentCore::Policy").values()
    by_name = {p["Properties"]["Name"]: p for p in policies}
    # echo-server has no read-only tool: no read policy, so read callers never see it.
    assert sorted(by_name) == [
        "TeamsTest_invoke_echo_server",
        "TeamsTest_invoke_lark",
        "TeamsTest_read_lark",
    ]
    for name, policy in by_name.items():
        assert policy["Properties"]["ValidationMode"] == "FAIL_ON_ANY_FINDINGS"
        target = "echo-server" if "echo" in name else "lark"
        assert targets[target] in policy["DependsOn"]


def test_read_policy_lists_exactly_the_read_only_tools(template):
    read = _statement(template, "TeamsTest_read_lark")
    invoke = _statement(template, "TeamsTest_invoke_lark")
    for tool in MANIFEST:
        assert (f'AgentCore::Action::"lark___{tool.name}"' in read) is tool.read_only
        assert f'AgentCore::Action::"lark___{tool.name}"' in invoke
    assert 'resource == AgentCore::Gateway::"<GATEWAY_ARN>"' in read
    assert '== "lark-mcp/read"' in read and "lark-mcp/invoke" not in read
