"""The alarm topic's policy, evaluated as SNS would: CloudWatch alarms of this stack may publish.

A topic policy replaces SNS's default one, so without an explicit allow no alarm mail is ever
sent. These tests take the synthesized ``AWS::SNS::TopicPolicy`` (and the topic key's policy)
and decide requests with ``tests.policy_eval`` (explicit deny wins, an allow is needed), for
CloudWatch publishing on behalf of this stack's alarms and for everyone who must not.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from stacks.monitoring_stack import MonitoringStack
from tests.ops.test_monitoring import ENV, _chain
from tests.policy_eval import ALLOW, DENY, IMPLICIT_DENY, evaluate

ACCOUNT, REGION = ENV.account, ENV.region
STACK = "Ops-Monitoring"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:{STACK}-AlarmTopic"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
CLOUDWATCH = {"Service": "cloudwatch.amazonaws.com"}
OWN_ALARM = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{STACK}-GatewaySystemErrors"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("alarm-topic")))
    gateway, servers = _chain(app, "OpsChain")
    stack = MonitoringStack(
        app, STACK, env=ENV, gateway=gateway, servers=servers, alarm_email="ops@example.com"
    )
    return Template.from_stack(stack).to_json()


def _refs(template: dict[str, Any]) -> dict[str, str]:
    refs = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::SNS::Topic":
            refs[logical_id] = TOPIC_ARN
        if resource["Type"] == "AWS::KMS::Key":
            refs[f"{logical_id}.Arn"] = KEY_ARN
    return refs


def _one(template: dict[str, Any], kind: str) -> dict[str, Any]:
    (found,) = [r for r in template["Resources"].values() if r["Type"] == kind]
    return found["Properties"]


def publish(template: dict[str, Any], principal: dict[str, str], **context: str) -> str:
    """SNS's decision on ``sns:Publish`` to the topic by ``principal`` with ``context`` keys."""
    policy = _one(template, "AWS::SNS::TopicPolicy")
    assert policy["Topics"] == [
        {"Ref": k} for k, r in template["Resources"].items() if r["Type"] == "AWS::SNS::Topic"
    ]
    return evaluate(
        policy["PolicyDocument"],
        _refs(template),
        principal=principal,
        action="sns:Publish",
        resource=TOPIC_ARN,
        context={"aws:SecureTransport": "true"} | context,
    )


def test_cloudwatch_may_publish_for_this_stacks_alarms(template: dict[str, Any]) -> None:
    assert (
        publish(template, CLOUDWATCH, **{"aws:SourceAccount": ACCOUNT, "aws:SourceArn": OWN_ALARM})
        == ALLOW
    )


@pytest.mark.parametrize(
    ("principal", "context", "decision"),
    [
        # Confused deputy: CloudWatch acting for another account's alarm.
        (CLOUDWATCH, {"aws:SourceAccount": "222222222222"}, IMPLICIT_DENY),
        (
            CLOUDWATCH,
            {"aws:SourceArn": f"arn:aws:cloudwatch:{REGION}:222222222222:alarm:{STACK}-X"},
            IMPLICIT_DENY,
        ),
        # Another stack's alarm in this account.
        (
            CLOUDWATCH,
            {"aws:SourceArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:Other-Alarm"},
            IMPLICIT_DENY,
        ),
        # Without the source keys at all.
        (CLOUDWATCH, {"aws:SourceAccount": None, "aws:SourceArn": None}, IMPLICIT_DENY),
        # Over plain HTTP: the TLS-only statement denies even CloudWatch.
        (CLOUDWATCH, {"aws:SecureTransport": "false"}, DENY),
        ({"Service": "events.amazonaws.com"}, {}, IMPLICIT_DENY),
        ({"AWS": "arn:aws:iam::222222222222:root"}, {}, IMPLICIT_DENY),
    ],
)
def test_nobody_else_may_publish(
    template: dict[str, Any],
    principal: dict[str, str],
    context: dict[str, str | None],
    decision: str,
) -> None:
    base = {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": OWN_ALARM}
    merged = {k: v for k, v in (base | context).items() if v is not None}
    assert publish(template, principal, **merged) == decision


def test_cloudwatch_may_use_the_topic_key_for_this_account_only(
    template: dict[str, Any],
) -> None:
    key_policy = _one(template, "AWS::KMS::Key")["KeyPolicy"]

    def use(action: str, account: str) -> str:
        return evaluate(
            key_policy,
            _refs(template),
            principal=CLOUDWATCH,
            action=action,
            resource=KEY_ARN,
            context={"aws:SourceAccount": account},
        )

    assert use("kms:GenerateDataKey", ACCOUNT) == ALLOW
    assert use("kms:Decrypt", ACCOUNT) == ALLOW
    assert use("kms:GenerateDataKey", "222222222222") == IMPLICIT_DENY
    assert use("kms:ScheduleKeyDeletion", ACCOUNT) == IMPLICIT_DENY


def test_the_evaluator_lets_a_deny_win_and_needs_an_allow() -> None:
    allow = {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}
    deny = dict(allow, Effect="Deny", Action="s3:DeleteObject")
    ask = {"principal": {"AWS": "x"}, "resource": "r", "context": {}}
    assert evaluate({"Statement": [allow, deny]}, {}, action="s3:GetObject", **ask) == ALLOW
    assert evaluate({"Statement": [allow, deny]}, {}, action="s3:DeleteObject", **ask) == DENY
    assert evaluate({"Statement": [deny]}, {}, action="s3:GetObject", **ask) == IMPLICIT_DENY
    with pytest.raises(NotImplementedError):
        evaluate(
            {"Statement": [dict(allow, Condition={"NumericLessThan": {"k": "1"}})]},
            {},
            action="s3:GetObject",
            principal={"AWS": "x"},
            resource="r",
            context={"k": "0"},
        )
