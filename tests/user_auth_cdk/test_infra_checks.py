"""The whole-app checks of issue 10, run on the ``userAuth`` app (tests/infra's checkers)."""

from __future__ import annotations

import pytest

from tests.infra.app_contexts import FULL
from tests.infra.intrinsics import intrinsic_problems
from tests.infra.physical_names import (
    ACCOUNT,
    physical_names,
    prefix_collisions,
    synthesized_templates,
)

USER_AUTH = {"userAuth": True}
CONTEXTS = {"user-auth": USER_AUTH, "user-auth+full": FULL | USER_AUTH}


@pytest.mark.parametrize("context", CONTEXTS.values(), ids=CONTEXTS.keys())
def test_every_intrinsic_is_one_cloudformation_accepts(context):
    templates = synthesized_templates(context)
    assert {"LarkMcp-UserAuth", "LarkMcp-UserGateway"} <= set(templates)
    problems = {stack: intrinsic_problems(t) for stack, t in templates.items()}
    assert {stack: p for stack, p in problems.items() if p} == {}


def test_two_user_auth_deployments_in_one_account_share_no_name():
    assert prefix_collisions(USER_AUTH) == []


def test_the_user_stacks_physical_names_are_seen_and_per_prefix():
    context = USER_AUTH | {"stackPrefix": "LarkMcp", "account": ACCOUNT, "region": "us-east-1"}
    names, problems = physical_names(synthesized_templates(context))
    assert problems == []
    mine = {(n.kind, n.name) for n in names if n.where.startswith("LarkMcp-User")}
    assert ("AWS::BedrockAgentCore::Gateway.Name", "larkmcp-user-gw") in mine
    assert ("AWS::BedrockAgentCore::PolicyEngine.Name", "LarkMcp_UserGateway_tools") in mine
    assert ("AWS::BedrockAgentCore::Policy.Name", "LarkMcp_UserGateway_user_lark") in mine
    # Table, keys, secret, functions, log groups and the API: names left to CloudFormation.
    named = {kind.split(".")[0] for kind, _ in mine}
    for type_ in (
        "AWS::DynamoDB::Table",
        "AWS::SecretsManager::Secret",
        "AWS::Lambda::Function",
        "AWS::Logs::LogGroup",
        "AWS::KMS::Alias",
    ):
        assert type_ not in named, type_
