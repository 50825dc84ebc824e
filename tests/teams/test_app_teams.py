"""The whole app synthesized once with two teams: clients, scopes, gateway wiring, policies.

`teams` = support (read) + ops (write), the README's example. Asserts what a reviewer of
`cdk diff` relies on, plus cdk-nag and cfn-lint staying clean with teams on.
"""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match, Template

from mcp_constructs.manifest import expected_tool_names, load_manifest
from tests.infra.conftest import synthesize

TEAMS = '[{"name": "support", "access": "read"}, {"name": "ops", "access": "write"}]'
READ, INVOKE = "lark-mcp/read", "lark-mcp/invoke"


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    return synthesize(tmp_path_factory.mktemp("teams-cdk-out"), {"teams": TEAMS})


@pytest.fixture(scope="module")
def cognito(synth) -> Template:
    return synth.template("Cognito")


@pytest.fixture(scope="module")
def gateway(synth) -> Template:
    return synth.template("Gateway")


def _clients(cognito: Template) -> dict[str, tuple[str, list]]:
    """Client name -> (logical id, allowed OAuth scopes as rendered)."""
    return {
        c["Properties"]["ClientName"]: (logical_id, c["Properties"]["AllowedOAuthScopes"])
        for logical_id, c in cognito.find_resources("AWS::Cognito::UserPoolClient").items()
    }


def _scope_names(scopes: list) -> list[str]:
    """`{"Fn::Join": ["", [{"Ref": rs}, "/read"]]}` -> "read"."""
    return sorted(s["Fn::Join"][1][1].lstrip("/") for s in scopes)


def _cedar(gateway: Template, name: str) -> str:
    (policy,) = gateway.find_resources(
        "AWS::BedrockAgentCore::Policy", {"Properties": {"Name": name}}
    ).values()
    parts = policy["Properties"]["Definition"]["Cedar"]["Statement"]["Fn::Join"][1]
    return "".join(p if isinstance(p, str) else "<GATEWAY_ARN>" for p in parts)


def test_resource_server_has_invoke_and_read(cognito):
    cognito.has_resource_properties(
        "AWS::Cognito::UserPoolResourceServer",
        {
            "Identifier": "lark-mcp",
            "Scopes": [
                Match.object_like({"ScopeName": "invoke"}),
                Match.object_like({"ScopeName": "read"}),
            ],
        },
    )


def test_each_team_has_its_own_client_with_its_access_scope(cognito):
    clients = _clients(cognito)
    assert sorted(clients) == ["default", "ops", "support"]
    assert _scope_names(clients["support"][1]) == ["read"]
    assert _scope_names(clients["ops"][1]) == ["invoke"]
    assert "invoke" in _scope_names(clients["default"][1])  # full access stays
    for name in ("support", "ops"):
        cognito.has_resource_properties(
            "AWS::Cognito::UserPoolClient",
            {
                "ClientName": name,
                "GenerateSecret": True,
                "AllowedOAuthFlows": ["client_credentials"],
                "ExplicitAuthFlows": ["ALLOW_REFRESH_TOKEN_AUTH"],
            },
        )


def test_team_outputs(cognito):
    outputs = cognito.find_outputs("*")
    for suffix in ("Support", "Ops"):
        assert f"ClientId{suffix}" in outputs
        command = json.dumps(outputs[f"ClientSecretCommand{suffix}"]["Value"])
        assert "describe-user-pool-client" in command and "ClientSecret" in command
    summary = outputs["TeamClientsSummary"]["Value"]["Fn::Join"][1]
    text = "".join(p if isinstance(p, str) else f"<{p['Ref']}>" for p in summary)
    clients = _clients(cognito)
    assert json.loads(text) == {
        "support": {"clientId": f"<{clients['support'][0]}>", "access": "read", "scope": READ},
        "ops": {"clientId": f"<{clients['ops'][0]}>", "access": "write", "scope": INVOKE},
    }


def test_gateway_accepts_every_client_and_both_scopes(gateway, cognito):
    jwt = next(iter(gateway.find_resources("AWS::BedrockAgentCore::Gateway").values()))
    authorizer = jwt["Properties"]["AuthorizerConfiguration"]["CustomJWTAuthorizer"]
    assert authorizer["AllowedScopes"] == [INVOKE, READ]
    allowed = json.dumps(authorizer["AllowedClients"])
    for logical_id, _ in _clients(cognito).values():
        assert logical_id in allowed  # imported from the Cognito stack's outputs
    assert len(authorizer["AllowedClients"]) == 3


def test_policy_engine_enforces_at_the_gateway(gateway):
    (engine_id,) = gateway.find_resources("AWS::BedrockAgentCore::PolicyEngine")
    gateway.has_resource_properties(
        "AWS::BedrockAgentCore::Gateway",
        {
            "PolicyEngineConfiguration": {
                "Arn": {"Fn::GetAtt": [engine_id, "PolicyEngineArn"]},
                "Mode": "ENFORCE",
            }
        },
    )
    gateway.has_resource_properties(
        "AWS::BedrockAgentCore::PolicyEngine", {"Name": "LarkMcp_Gateway_tools"}
    )


def test_policies_wait_for_the_tool_sync_and_the_smoke_test_waits_for_them(gateway):
    policies = gateway.find_resources("AWS::BedrockAgentCore::Policy")
    assert sorted(p["Properties"]["Name"] for p in policies.values()) == [
        "LarkMcp_Gateway_invoke_lark",
        "LarkMcp_Gateway_read_lark",
    ]
    (sync_id,) = gateway.find_resources("Custom::GatewayToolSync")
    (smoke,) = gateway.find_resources("Custom::GatewaySmokeTest").values()
    for logical_id, policy in policies.items():
        assert sync_id in policy["DependsOn"]
        assert logical_id in smoke["DependsOn"]


def test_read_policy_names_exactly_the_served_read_only_tools(gateway):
    served = set(expected_tool_names())
    read, invoke = (
        _cedar(gateway, "LarkMcp_Gateway_read_lark"),
        _cedar(gateway, "LarkMcp_Gateway_invoke_lark"),
    )
    for tool in load_manifest():
        action = f'AgentCore::Action::"lark___{tool.name}"'
        assert (action in read) is (tool.read_only and tool.name in served), tool.name
        assert (action in invoke) is (tool.name in served), tool.name
    assert f'getTag("scope") == "{READ}"' in read
    assert f'getTag("scope") == "{INVOKE}"' in invoke
    assert 'resource == AgentCore::Gateway::"<GATEWAY_ARN>"' in read


def test_cdk_nag_clean_with_teams(synth):
    report = json.loads(synth.file("validation-report.json").read_text())
    assert [v for p in report["pluginReports"] for v in p.get("violations", [])] == []


def test_cfn_lint_clean_with_teams(synth):
    from cfnlint.api import lint_file

    for stack in ("Cognito", "Gateway"):  # the stacks teams and policies change
        matches = [str(m) for m in lint_file(synth.file(f"LarkMcp-{stack}.template.json"))]
        assert [m for m in matches if m.startswith("[E")] == [], stack
        # Warnings elsewhere are the deploy checks' business; none may come from teams/policies.
        ours = ("ToolPolicy", "ClientSupport", "ClientOps", "TeamClients")
        assert [m for m in matches if any(name in m for name in ours)] == [], stack
