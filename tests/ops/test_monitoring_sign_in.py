"""With `userAuth`, the Monitoring stack counts sign-ins, registrations, refresh refusals and
people asked to reconnect, and alarms on the authorization server's errors and throttling.

One synth of the whole app (as `cdk synth -c userAuth=true` builds it); the metric filters'
patterns are checked against the `event` values the servers really log
(tests/ops/test_log_events.py shows real local runs emitting them). Without `userAuth` there
is no sign-in part: tests/ops/test_monitoring.py counts the filters and alarms of a bare chain.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from mcp_constructs.monitoring import SIGN_IN_EVENTS
from scripts import cost
from tests.user_auth_cdk.conftest import USER_AUTH, Assembly, synthesize

# One whole-app synth with the Lambda bundle: ~40 s idle, far more on a loaded runner.
pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    return synthesize(tmp_path_factory.mktemp("monitoring-sign-in"), USER_AUTH)


@pytest.fixture(scope="module")
def monitoring(assembly: Assembly) -> dict[str, Any]:
    return assembly.raw("Monitoring")


def _filters(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Logs::MetricFilter":
            props = resource["Properties"]
            found[props["MetricTransformations"][0]["MetricName"]] = props
    return found


def _import_of(value: Any) -> str:
    """The cross-stack reference a property reads (it names the producing resource)."""
    assert isinstance(value, dict), value
    (kind,) = value
    assert kind in ("Fn::ImportValue", "Fn::GetStackOutput"), value
    return json.dumps(value)


def test_each_sign_in_event_has_a_metric_filter_on_the_right_log_group(monitoring: dict):
    filters = _filters(monitoring)
    for metric, event, where in SIGN_IN_EVENTS:
        props = filters[metric]
        assert props["FilterPattern"] == f'{{ $.event = "{event}" }}'
        assert props["MetricTransformations"][0]["MetricValue"] == "1"
        group = props["LogGroupName"]
        if where == "auth":
            assert "ServerLogs" in _import_of(group)  # the authorization server's log group
        else:  # the Lark runtime's group, which AgentCore names after the runtime id
            assert "/aws/bedrock-agentcore/runtimes/" in str(group)
    throttled = filters["AuthThrottled"]
    assert throttled["FilterPattern"] == '{ $.status = "429" }'
    assert "ApiAccessLogs" in _import_of(throttled["LogGroupName"])


def test_the_authorization_server_has_error_and_throttling_alarms(monitoring: dict):
    alarms = {
        r["Properties"]["AlarmName"]: r["Properties"]
        for r in monitoring["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }
    prefix = "LarkMcp-Monitoring-"
    expected = {
        "AuthServerErrors": ("AWS/Lambda", "Errors", "FunctionName"),
        "AuthServerThrottles": ("AWS/Lambda", "Throttles", "FunctionName"),
        "AuthApi5xx": ("AWS/ApiGateway", "5xx", "ApiId"),
    }
    for name, (namespace, metric, dimension) in expected.items():
        props = alarms[prefix + name]
        assert (props["Namespace"], props["MetricName"]) == (namespace, metric)
        assert [d["Name"] for d in props["Dimensions"]] == [dimension]
        assert props["Threshold"] == 1 and props["TreatMissingData"] == "notBreaching"
    throttled = alarms[prefix + "AuthApiThrottled"]
    assert throttled["MetricName"] == "AuthThrottled" and throttled["Threshold"] == 20
    signing_in = [name for name in alarms if name.startswith(prefix + "Auth")]
    assert len(signing_in) == cost.SIGN_IN_ALARMS  # docs/cost.md counts them


def test_the_dashboard_shows_the_sign_in_widgets_and_the_stack_order(assembly: Assembly):
    dashboard = next(
        r["Properties"]
        for r in assembly.raw("Monitoring")["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Dashboard"
    )
    body = str(dashboard["DashboardBody"])
    for title in (
        "Sign-ins (people) and registrations (clients)",
        "Refreshes refused and people asked to reconnect",
        "Authorization server: errors and throttling",
    ):
        assert title in body
    assert "UserAuth" in assembly.dependencies("Monitoring")
