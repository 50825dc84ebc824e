"""The monitoring construct and stack, on the synthesized template (one synth per module).

A bare app with one gateway and two runtimes (the Lark server, whose JSON tool-call lines feed
metric filters, and a second server without them) goes through the Monitoring stack, cdk-nag
`AwsSolutionsChecks` and cfn-lint. Assertions follow the metric names, namespace and
dimensions AgentCore publishes (see `mcp_constructs/monitoring.py` for the sources).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from mcp_constructs.monitoring import McpMonitoring, MonitoredServer
from stacks.monitoring_stack import MonitoringStack
from tests.ops.cfn_lint import run_cfn_lint

ENV = cdk.Environment(account="111111111111", region="eu-west-1")
NAMESPACE = "AWS/Bedrock-AgentCore"


def _runtime(scope: cdk.Stack, construct_id: str, name: str) -> agentcore.CfnRuntime:
    return agentcore.CfnRuntime(
        scope,
        construct_id,
        agent_runtime_name=name,
        role_arn=f"arn:aws:iam::111111111111:role/{name}",
        agent_runtime_artifact=agentcore.CfnRuntime.AgentRuntimeArtifactProperty(
            container_configuration=agentcore.CfnRuntime.ContainerConfigurationProperty(
                container_uri=f"111111111111.dkr.ecr.eu-west-1.amazonaws.com/{name}:latest"
            )
        ),
        network_configuration=agentcore.CfnRuntime.NetworkConfigurationProperty(
            network_mode="PUBLIC"
        ),
        protocol_configuration="MCP",
    )


def _chain(app: cdk.App, name: str) -> tuple[agentcore.CfnGateway, list[MonitoredServer]]:
    chain = cdk.Stack(app, name, env=ENV)
    gateway = agentcore.CfnGateway(
        chain,
        "Gateway",
        name="ops-test-gateway",
        protocol_type="MCP",
        authorizer_type="AWS_IAM",
        role_arn="arn:aws:iam::111111111111:role/gateway",
    )
    servers = [
        MonitoredServer("lark", _runtime(chain, "LarkRuntime", "Ops_lark"), tool_logs=True),
        MonitoredServer("jira", _runtime(chain, "JiraRuntime", "Ops_jira")),
    ]
    return gateway, servers


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("monitoring")))
    gateway, servers = _chain(app, "OpsChain")
    with_mail = MonitoringStack(
        app,
        "Ops-Monitoring",
        env=ENV,
        gateway=gateway,
        servers=servers,
        alarm_email="ops@example.com",
    )
    gateway2, servers2 = _chain(app, "QuietChain")
    quiet = MonitoringStack(app, "Quiet-Monitoring", env=ENV, gateway=gateway2, servers=servers2)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks())
    assembly = app.synth()  # raises if cdk-nag reports an unacknowledged finding
    return {
        "template": Template.from_stack(with_mail),
        "quiet": Template.from_stack(quiet),
        "dir": Path(assembly.directory),
        "names": [with_mail.stack_name, quiet.stack_name],
    }


@pytest.fixture(scope="module")
def template(synthesized: dict[str, Any]) -> Template:
    return synthesized["template"]


def _alarms(template: Template) -> dict[str, dict[str, Any]]:
    found = template.find_resources("AWS::CloudWatch::Alarm")
    return {a["Properties"]["AlarmName"]: a["Properties"] for a in found.values()}


def _dimensions(props: dict[str, Any]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in props["Dimensions"]}


def test_gateway_alarms_use_agentcore_gateway_metrics(template: Template) -> None:
    alarms = _alarms(template)
    for name, metric in [
        ("Ops-Monitoring-GatewaySystemErrors", "SystemErrors"),
        ("Ops-Monitoring-GatewayThrottles", "Throttles"),
        ("Ops-Monitoring-GatewayUserErrors", "UserErrors"),
        ("Ops-Monitoring-GatewaySlow", "Duration"),
    ]:
        props = alarms[name]
        assert props["Namespace"] == NAMESPACE and props["MetricName"] == metric
        dims = _dimensions(props)
        assert dims["Operation"] == "InvokeGateway" and dims["Protocol"] == "MCP"
        assert dims["Resource"]["Fn::ImportValue"]  # the gateway ARN, from the chain's stack
        assert props["TreatMissingData"] == "notBreaching"
    assert alarms["Ops-Monitoring-GatewaySystemErrors"]["Threshold"] == 1
    assert alarms["Ops-Monitoring-GatewaySlow"]["ExtendedStatistic"] == "p99"
    assert alarms["Ops-Monitoring-GatewaySlow"]["EvaluationPeriods"] == 3


def test_runtime_alarms_use_the_runtime_name_and_default_endpoint(template: Template) -> None:
    alarms = _alarms(template)
    for server, runtime_name in [("Lark", "Ops_lark"), ("Jira", "Ops_jira")]:
        for metric in ("SystemErrors", "Throttles"):
            props = alarms[f"Ops-Monitoring-{server}Runtime{metric}"]
            assert props["MetricName"] == metric and props["Namespace"] == NAMESPACE
            dims = _dimensions(props)
            assert dims["Operation"] == "InvokeAgentRuntime"
            assert dims["Name"] == f"{runtime_name}::DEFAULT"
            assert "Fn::ImportValue" in dims["Resource"]


def test_tool_errors_come_from_the_servers_json_log_lines(template: Template) -> None:
    filters = template.find_resources("AWS::Logs::MetricFilter")
    # Only the server that writes tool-call lines gets filters: calls, errors (total and by
    # tool) and duration.
    assert len(filters) == 4
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for resource in filters.values():
        props = resource["Properties"]
        (transform,) = props["MetricTransformations"]
        assert transform["MetricNamespace"] == "McpServers/Ops-Monitoring/lark"
        by_metric.setdefault(transform["MetricName"], []).append({**props, **transform})
        group = props["LogGroupName"]["Fn::Join"][1]
        assert group[0] == "/aws/bedrock-agentcore/runtimes/" and group[2] == "-DEFAULT"
        assert resource["DependsOn"]  # on the LogRetention that creates the group if missing
    errors = by_metric["ToolErrors"]
    assert {e["FilterPattern"] for e in errors} == {'{ ($.tool = "*") && ($.status != "ok") }'}
    assert sorted(json.dumps(e.get("Dimensions")) for e in errors) == sorted(
        [json.dumps([{"Key": "Tool", "Value": "$.tool"}]), "null"]
    )
    (duration,) = by_metric["ToolDuration"]
    assert duration["MetricValue"] == "$.duration_ms" and duration["Unit"] == "Milliseconds"
    template.has_resource_properties(
        "Custom::LogRetention", {"LogGroupName": Match.any_value(), "RetentionInDays": 30}
    )
    tool_alarm = _alarms(template)["Ops-Monitoring-LarkToolErrors"]
    assert tool_alarm["Namespace"] == "McpServers/Ops-Monitoring/lark"
    assert tool_alarm["MetricName"] == "ToolErrors" and "Dimensions" not in tool_alarm


def _dashboard_body(template: Template) -> str:
    (dashboard,) = template.find_resources("AWS::CloudWatch::Dashboard").values()
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    return "".join(p if isinstance(p, str) else "<ref>" for p in parts)


def test_dashboard_shows_gateway_runtimes_tools_and_alarms(template: Template) -> None:
    body = json.loads(_dashboard_body(template))
    titles = [w["properties"].get("title") for w in body["widgets"]]
    assert titles[0] == "Alarms"
    assert len(body["widgets"][0]["properties"]["alarms"]) == len(_alarms(template))
    metrics = json.dumps([w["properties"].get("metrics") for w in body["widgets"]])
    for gateway_metric in (
        "Invocations",
        "UserErrors",
        "SystemErrors",
        "Throttles",
        "Latency",
        "Duration",
        "TargetExecutionTime",
    ):
        assert f'"{NAMESPACE}", "{gateway_metric}", "Operation", "InvokeGateway"' in metrics
    for runtime_metric in ("Invocations", "SessionCount", "UserErrors", "SystemErrors", "Latency"):
        assert f'"{runtime_metric}", "Name", "Ops_jira::DEFAULT"' in metrics
    assert "SEARCH('{McpServers/Ops-Monitoring/lark,Tool} MetricName=\\\"ToolErrors\\\"'" in (
        metrics
    )
    assert "Runtime jira: errors" in titles and "lark: failures by tool" in titles
    assert "jira: failures by tool" not in titles  # it writes no tool-call lines


def test_alarms_notify_an_encrypted_tls_only_topic_that_mails_the_operator(
    template: Template,
) -> None:
    topics = template.find_resources("AWS::SNS::Topic")
    (topic_id,) = topics
    assert topics[topic_id]["Properties"]["KmsMasterKeyId"]
    for props in _alarms(template).values():
        assert props["AlarmActions"] == [{"Ref": topic_id}]
    template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"}
    )
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "EnableKeyRotation": True,
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                            }
                        )
                    ]
                )
            },
        },
    )
    # The key only protects notifications in flight: it goes with the stack.
    template.has_resource("AWS::KMS::Key", {"DeletionPolicy": "Delete"})
    outputs = template.find_outputs("*")
    assert {"DashboardUrl", "LarkRuntimeLogGroup", "JiraRuntimeLogGroup", "AlarmTopicArn"} <= set(
        outputs
    )


def test_without_alarm_email_there_is_no_topic_and_no_actions(
    synthesized: dict[str, Any],
) -> None:
    quiet: Template = synthesized["quiet"]
    quiet.resource_count_is("AWS::SNS::Topic", 0)
    quiet.resource_count_is("AWS::KMS::Key", 0)
    assert all("AlarmActions" not in p for p in _alarms(quiet).values())
    assert "AlarmTopicArn" not in quiet.find_outputs("*")


def test_alarms_and_filters_snapshot(template: Template, snapshot: Any) -> None:
    alarms = {
        name: {
            key: props.get(key)
            for key in (
                "MetricName",
                "Namespace",
                "Statistic",
                "ExtendedStatistic",
                "Threshold",
                "EvaluationPeriods",
                "ComparisonOperator",
                "AlarmDescription",
            )
        }
        for name, props in sorted(_alarms(template).items())
    }
    filters = sorted(
        (
            r["Properties"]["MetricTransformations"][0]["MetricName"],
            r["Properties"]["FilterPattern"],
            json.dumps(r["Properties"]["MetricTransformations"][0].get("Dimensions")),
        )
        for r in template.find_resources("AWS::Logs::MetricFilter").values()
    )
    assert {"alarms": alarms, "filters": filters} == snapshot


def test_cfn_lint_reports_no_errors(synthesized: dict[str, Any]) -> None:
    templates = [str(synthesized["dir"] / f"{name}.template.json") for name in synthesized["names"]]
    result = run_cfn_lint(templates)
    assert result.returncode & 3 == 0, result.stdout + result.stderr  # no error, no crash


def test_bad_input_is_refused_with_a_reason() -> None:
    app = cdk.App()
    gateway, servers = _chain(app, "Bad")
    stack = cdk.Stack(app, "BadMonitoring", env=ENV)
    with pytest.raises(ValueError, match="at least one MonitoredServer"):
        McpMonitoring(stack, "None", gateway=gateway, servers=[])
    with pytest.raises(ValueError, match="unique"):
        McpMonitoring(stack, "Twice", gateway=gateway, servers=[servers[0], servers[0]])
    with pytest.raises(ValueError, match="not an e-mail address"):
        McpMonitoring(stack, "Mail", gateway=gateway, servers=servers, alarm_email="ops")


# -- a runtime whose metrics never arrive is noticed (issue 10 item 7) --------------------------


def test_runtime_dimensions_are_the_ones_aws_cdk_lib_addresses() -> None:
    """Our runtime metric and aws-cdk-lib 2.275's own `RuntimeBase.metric` name the same series."""
    from aws_cdk import aws_bedrockagentcore as agentcore_l2

    from mcp_constructs.monitoring import RUNTIME_DIMENSIONS, runtime_metric

    stack = cdk.Stack(cdk.App(), "Dims", env=ENV)
    arn = "arn:aws:bedrock-agentcore:eu-west-1:111111111111:runtime/Ops_lark-abc1234567"
    theirs = agentcore_l2.Runtime.from_agent_runtime_attributes(
        stack,
        "Imported",
        agent_runtime_arn=arn,
        agent_runtime_id="Ops_lark-abc1234567",
        agent_runtime_name="Ops_lark",
        role_arn="arn:aws:iam::111111111111:role/x",
    ).metric_invocations()
    ours = runtime_metric(arn, "Ops_lark", "Invocations", "Sum")
    assert ours.namespace == theirs.namespace == NAMESPACE
    assert ours.dimensions == theirs.dimensions
    assert tuple(sorted(ours.dimensions)) == tuple(sorted(RUNTIME_DIMENSIONS))


def test_a_silent_runtime_fires_an_alarm(template: Template) -> None:
    """Missing data is breaching here: no invocation for a day, or metrics that never arrive."""
    alarms = _alarms(template)
    for server, runtime_name in [("Lark", "Ops_lark"), ("Jira", "Ops_jira")]:
        props = alarms[f"Ops-Monitoring-{server}RuntimeSilent"]
        assert props["MetricName"] == "Invocations" and props["Namespace"] == NAMESPACE
        assert _dimensions(props)["Name"] == f"{runtime_name}::DEFAULT"
        assert props["Period"] == 86400 and props["EvaluationPeriods"] == 1
        assert props["ComparisonOperator"] == "LessThanThreshold" and props["Threshold"] == 1
        assert props["TreatMissingData"] == "breaching"
        assert "blind" in props["AlarmDescription"]


def test_logged_tool_calls_without_runtime_invocations_fire_an_alarm(template: Template) -> None:
    """The server's own tool-call log against AgentCore's runtime metric: a wrong dimension set
    (the dashboards would stay empty) shows up as an alarm instead of as silence."""
    alarms = _alarms(template)
    assert "Ops-Monitoring-JiraRuntimeMetricsMissing" not in alarms  # jira writes no tool logs
    props = alarms["Ops-Monitoring-LarkRuntimeMetricsMissing"]
    by_id = {m["Id"]: m for m in props["Metrics"]}
    (expression,) = [m for m in props["Metrics"] if "Expression" in m]
    assert expression["Expression"] == "IF(FILL(calls, 0) > 0 AND FILL(invocations, 0) == 0, 1, 0)"
    calls = by_id["calls"]["MetricStat"]["Metric"]
    assert calls["MetricName"] == "ToolCalls"
    assert calls["Namespace"] == "McpServers/Ops-Monitoring/lark"
    invocations = by_id["invocations"]["MetricStat"]["Metric"]
    assert invocations["MetricName"] == "Invocations"
    assert {d["Name"] for d in invocations["Dimensions"]} == {"Operation", "Name", "Resource"}
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert props["Threshold"] == 1 and props["EvaluationPeriods"] == 2
    assert props["TreatMissingData"] == "notBreaching"


def test_silent_alarm_window_is_checked() -> None:
    from mcp_constructs.monitoring import AlarmThresholds

    app = cdk.App()
    gateway, servers = _chain(app, "Window")
    stack = cdk.Stack(app, "WindowMonitoring", env=ENV)
    with pytest.raises(ValueError, match="1-24"):
        McpMonitoring(
            stack,
            "TooLong",
            gateway=gateway,
            servers=servers,
            thresholds=AlarmThresholds(runtime_silent_hours=48),
        )
    quiet = McpMonitoring(
        stack,
        "NoSilent",
        gateway=gateway,
        servers=servers,
        thresholds=AlarmThresholds(runtime_silent_hours=None),
    )
    assert not [a for a in quiet.alarms if "RuntimeSilent" in a.node.id]
