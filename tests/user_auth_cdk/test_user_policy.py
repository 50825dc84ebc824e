"""The user gateway's Cedar policy, evaluated with the Cedar engine (cedarpy): every tool to a
token whose `aud` is this gateway's MCP URL, whichever client holds it; nothing otherwise."""

from __future__ import annotations

import cedarpy
import pytest

from mcp_constructs.manifest import load_manifest
from mcp_constructs.tool_policy import action_name
from mcp_constructs.user_gateway import user_permit

GATEWAY_ARN = "arn:aws:bedrock-agentcore:eu-west-1:123456789012:gateway/larkmcp-user-gw-abcdefghij"
MCP_URL = "https://larkmcp-user-gw-abcdefghij.gateway.bedrock-agentcore.eu-west-1.amazonaws.com/mcp"
TOOLS = [t.name for t in load_manifest()]
POLICY = user_permit(
    gateway_arn=GATEWAY_ARN, actions=[action_name("lark", t) for t in TOOLS], audience=MCP_URL
)
SCHEMA = (
    "namespace AgentCore {\n"
    "  entity OAuthUser tags String;\n"
    "  entity Gateway;\n"
    '  action "Mcp";\n'
    '  action "CallTool" in ["Mcp"];\n'
    + "\n".join(
        f'  action "lark___{t}" in ["CallTool"] appliesTo '
        "{ principal: [OAuthUser], resource: [Gateway], context: {} };"
        for t in TOOLS
    )
    + "\n}\n"
)


def _decide(tags: dict[str, str], tool: str = TOOLS[0]) -> str:
    entities = [
        {
            "uid": {"type": "AgentCore::OAuthUser", "id": "p"},
            "attrs": {},
            "parents": [],
            "tags": tags,
        },
        {"uid": {"type": "AgentCore::Gateway", "id": GATEWAY_ARN}, "attrs": {}, "parents": []},
    ]
    request = {
        "principal": 'AgentCore::OAuthUser::"p"',
        "action": f'AgentCore::Action::"lark___{tool}"',
        "resource": f'AgentCore::Gateway::"{GATEWAY_ARN}"',
        "context": {},
    }
    result = cedarpy.is_authorized(request, POLICY, entities)
    assert not result.diagnostics.errors, result.diagnostics.errors
    return result.decision.value


def test_the_policy_validates_against_the_gateway_shaped_schema():
    result = cedarpy.validate_policies(POLICY, SCHEMA)
    assert result.validation_passed, [e.error for e in result.errors]


@pytest.mark.parametrize("tool", TOOLS)
def test_every_tool_to_a_token_for_this_gateway_from_any_client(tool):
    for client in ("quicksuite", "Xk2_self-registered-id", ""):
        assert _decide({"aud": MCP_URL, "client_id": client, "scope": ""}, tool) == "Allow"


@pytest.mark.parametrize(
    "tags",
    [
        {},
        {"client_id": "quicksuite"},  # the old rule: a client id alone is not enough
        {"aud": MCP_URL + "/"},
        {"aud": MCP_URL.replace("abcdefghij", "otherother")},  # another deployment's gateway
        {"aud": "Xk2_self-registered-id"},  # an ID token: its audience is the client
        {"aud": f'["{MCP_URL}"]'},
        {"aud": MCP_URL.upper()},
    ],
)
def test_nothing_to_a_token_for_anything_else(tags):
    assert _decide(tags) == "Deny"


@pytest.mark.parametrize(
    "audience", ["", "http://x.example/mcp", 'https://x.example/"mcp', "https://a b"]
)
def test_an_audience_that_could_change_the_policy_is_refused(audience):
    with pytest.raises(ValueError):
        user_permit(gateway_arn=GATEWAY_ARN, actions=["lark___x"], audience=audience)
