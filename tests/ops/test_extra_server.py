"""A second MCP server from context: the whole app synthesized with `extraServers` (one synth).

`-c extraServers='[{"name": "jira", "directory": "examples/echo_server", "tools": ["echo"]}]'`
must give a second runtime built from that directory, a gateway target `jira` the gateway role
may invoke, its own tool sync and a smoke test expecting `echo`, and its widgets and alarms in
the Monitoring stack; cdk-nag (run by the app) and cfn-lint stay clean.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from app import build_app
from tests.ops.cfn_lint import run_cfn_lint

ROOT = Path(__file__).resolve().parents[2]
ECHO_DIR = ROOT / "examples" / "echo_server"
EXTRA = [{"name": "jira", "directory": "examples/echo_server", "tools": ["echo"]}]


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    context |= {"extraServers": json.dumps(EXTRA), "alarmEmail": "ops@example.com"}
    outdir = tmp_path_factory.mktemp("extra")
    app = build_app(context, outdir=str(outdir), environ={})
    cloud = app.synth()  # the app's cdk-nag plugin raises on any unacknowledged finding
    templates = {
        stack.stack_name.split("-")[-1]: Template.from_json(stack.template)
        for stack in cloud.stacks
    }
    return {"dir": Path(cloud.directory), "stacks": cloud.stacks, "t": templates}


def _runtimes(template: Template) -> dict[str, dict[str, Any]]:
    found = template.find_resources("AWS::BedrockAgentCore::Runtime")
    return {r["Properties"]["AgentRuntimeName"]: {"id": k, **r} for k, r in found.items()}


def test_second_runtime_is_built_from_its_own_directory(assembly: dict[str, Any]) -> None:
    runtimes = _runtimes(assembly["t"]["Runtime"])
    assert set(runtimes) == {"LarkMcp_server", "LarkMcp_jira"}
    jira = runtimes["LarkMcp_jira"]["Properties"]
    assert jira["ProtocolConfiguration"] == "MCP"
    assert jira["NetworkConfiguration"] == {"NetworkMode": "PUBLIC"}
    uri = json.dumps(jira["AgentRuntimeArtifact"]["ContainerConfiguration"]["ContainerUri"])
    (runtime_stack,) = [s for s in assembly["stacks"] if s.stack_name == "LarkMcp-Runtime"]
    manifest = json.loads(
        Path(assembly["dir"], f"{runtime_stack.stack_name}.assets.json").read_text()
    )
    images = {
        image_hash: assembly["dir"] / image["source"]["directory"]
        for image_hash, image in manifest["dockerImages"].items()
    }
    (jira_hash,) = [h for h in images if h in uri]
    built_from = images[jira_hash]
    assert sorted(p.name for p in built_from.iterdir()) == sorted(
        p.name for p in ECHO_DIR.iterdir() if p.name != "__pycache__"
    )
    assert (built_from / "server.py").read_text() == (ECHO_DIR / "server.py").read_text()


def test_gateway_gets_a_target_it_may_invoke(assembly: dict[str, Any]) -> None:
    gateway = assembly["t"]["Gateway"]
    targets = {
        r["Properties"]["Name"]: r
        for r in gateway.find_resources("AWS::BedrockAgentCore::GatewayTarget").values()
    }
    assert set(targets) == {"lark", "jira"}
    endpoint = json.dumps(
        targets["jira"]["Properties"]["TargetConfiguration"]["Mcp"]["McpServer"]["Endpoint"]
    )
    assert "/invocations?qualifier=DEFAULT" in endpoint
    assert "JiraServer" in endpoint  # the jira runtime's ARN, not the Lark one
    assert (
        targets["jira"]["Properties"]["CredentialProviderConfigurations"][0][
            "CredentialProviderType"
        ]
        == "GATEWAY_IAM_ROLE"
    )
    statements = [
        statement
        for policy in gateway.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement.get("Action") == "bedrock-agentcore:InvokeAgentRuntime"
    ]
    invoked = json.dumps(statements)
    assert "JiraServer" in invoked and "/runtime-endpoint/*" in invoked


def test_deploy_checks_expect_the_new_servers_tools(assembly: dict[str, Any]) -> None:
    gateway = assembly["t"]["Gateway"]
    gateway.has_resource_properties(
        "Custom::GatewaySmokeTest", {"TargetName": "jira", "ExpectedTools": ["echo"]}
    )
    syncs = gateway.find_resources("Custom::GatewayToolSync")
    jira_syncs = [s for s in syncs.values() if "JiraTarget" in json.dumps(s["Properties"])]
    assert len(jira_syncs) == 1
    image_hash = jira_syncs[0]["Properties"]["Triggers"]["image"]
    uri = json.dumps(_runtimes(assembly["t"]["Runtime"])["LarkMcp_jira"]["Properties"])
    assert image_hash in uri  # the sync reruns exactly when the jira image changes


def test_the_gateway_policy_engine_lets_the_invoke_scope_call_the_new_tools(
    assembly: dict[str, Any],
) -> None:
    gateway = assembly["t"]["Gateway"]
    policies = {
        r["Properties"]["Name"]: (k, r)
        for k, r in gateway.find_resources("AWS::BedrockAgentCore::Policy").items()
    }
    logical_id, jira = policies["LarkMcp_Gateway_invoke_jira"]
    statement = json.dumps(jira["Properties"]["Definition"]["Cedar"]["Statement"])
    assert 'AgentCore::Action::\\"jira___echo\\"' in statement
    assert "lark___" not in statement
    smoke = next(
        r
        for r in gateway.find_resources("Custom::GatewaySmokeTest").values()
        if r["Properties"]["TargetName"] == "jira"
    )
    assert logical_id in smoke["DependsOn"]  # tools/list is checked once the policy exists


def test_monitoring_watches_both_runtimes(assembly: dict[str, Any]) -> None:
    monitoring = assembly["t"]["Monitoring"]
    names = {
        a["Properties"]["AlarmName"]
        for a in monitoring.find_resources("AWS::CloudWatch::Alarm").values()
    }
    assert {
        "LarkMcp-Monitoring-LarkRuntimeSystemErrors",
        "LarkMcp-Monitoring-JiraRuntimeSystemErrors",
        "LarkMcp-Monitoring-LarkToolErrors",
        "LarkMcp-Monitoring-GatewaySystemErrors",
    } <= names
    assert "LarkMcp-Monitoring-JiraToolErrors" not in names  # echo writes no tool-call lines
    monitoring.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": "LarkMcp-Monitoring-JiraRuntimeSystemErrors",
            "Dimensions": Match.array_with([{"Name": "Name", "Value": "LarkMcp_jira::DEFAULT"}]),
        },
    )
    monitoring.resource_count_is("AWS::SNS::Subscription", 1)


def test_cfn_lint_reports_no_errors(assembly: dict[str, Any]) -> None:
    templates = sorted(str(p) for p in assembly["dir"].glob("*.template.json"))
    assert len(templates) == 4
    result = run_cfn_lint(templates)
    assert result.returncode & 3 == 0, result.stdout + result.stderr  # no error, no crash
