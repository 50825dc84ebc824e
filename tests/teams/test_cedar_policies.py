"""The Cedar policies, evaluated with the Cedar engine itself (cedarpy) against sample requests.

What AgentCore gives a policy (AgentCore developer guide, "Policy conditions" and "Schema
constraints"): the caller is an `AgentCore::OAuthUser` whose JWT claims are string tags, each tool
is the action `AgentCore::Action::"<target>___<tool>"`, the resource is the gateway. The schema
below mirrors that, so `validate_policies` catches what the service's FAIL_ON_ANY_FINDINGS would.
"""

import cedarpy
import pytest

from mcp_constructs.manifest import ManifestError, Tool, load_manifest, parse_manifest, select_tools
from mcp_constructs.tool_policy import cedar_policies, policy_name, scope_condition

GATEWAY_ARN = "arn:aws:bedrock-agentcore:eu-west-1:123456789012:gateway/lark-mcp-abcdefghij"
TARGET = "lark"
RS = "lark-mcp"
INVOKE, READ = f"{RS}/invoke", f"{RS}/read"
MANIFEST = load_manifest()


def _policies(tools=MANIFEST) -> dict[str, str]:
    return cedar_policies(
        tools=tools,
        target_name=TARGET,
        gateway_arn=GATEWAY_ARN,
        invoke_scope=INVOKE,
        read_scope=READ,
    )


def _schema(tools) -> str:
    actions = "\n".join(
        f'  action "{TARGET}___{t.name}" in ["CallTool"] appliesTo '
        "{ principal: [OAuthUser], resource: [Gateway], context: {} };"
        for t in tools
    )
    return (
        "namespace AgentCore {\n"
        "  entity OAuthUser tags String;\n"
        "  entity Gateway;\n"
        '  action "Mcp";\n'
        '  action "CallTool" in ["Mcp"];\n'
        f"{actions}\n}}\n"
    )


def _decide(policy_text: str, tool: str, scope_claim: str | None) -> str:
    tags = {} if scope_claim is None else {"scope": scope_claim}
    entities = [
        {
            "uid": {"type": "AgentCore::OAuthUser", "id": "client-1"},
            "attrs": {},
            "parents": [],
            "tags": tags,
        },
        {"uid": {"type": "AgentCore::Gateway", "id": GATEWAY_ARN}, "attrs": {}, "parents": []},
    ]
    request = {
        "principal": 'AgentCore::OAuthUser::"client-1"',
        "action": f'AgentCore::Action::"{TARGET}___{tool}"',
        "resource": f'AgentCore::Gateway::"{GATEWAY_ARN}"',
        "context": {},
    }
    result = cedarpy.is_authorized(request, policy_text, entities)
    assert not result.diagnostics.errors, result.diagnostics.errors
    return result.decision.value


def test_manifest_has_both_kinds_of_tool():
    assert any(t.read_only for t in MANIFEST) and any(not t.read_only for t in MANIFEST)


def test_policies_validate_against_the_gateway_shaped_schema():
    text = "\n\n".join(_policies().values())
    result = cedarpy.validate_policies(text, _schema(MANIFEST))
    assert result.validation_passed, [e.error for e in result.errors]


def test_read_policy_names_exactly_the_read_only_tools():
    read_text = _policies()["read"]
    for tool in MANIFEST:
        action = f'AgentCore::Action::"{TARGET}___{tool.name}"'
        assert (action in read_text) is tool.read_only, tool.name


def test_invoke_policy_names_every_tool():
    invoke_text = _policies()["invoke"]
    assert all(f'"{TARGET}___{t.name}"' in invoke_text for t in MANIFEST)


@pytest.mark.parametrize("tool", MANIFEST, ids=lambda t: t.name)
def test_each_tool_by_scope(tool):
    text = "\n\n".join(_policies().values())
    assert _decide(text, tool.name, INVOKE) == "Allow"
    assert _decide(text, tool.name, READ) == ("Allow" if tool.read_only else "Deny")
    assert _decide(text, tool.name, None) == "Deny"
    assert _decide(text, tool.name, "openid email") == "Deny"


@pytest.mark.parametrize(
    ("claim", "allowed"),
    [
        (READ, True),
        (f"{READ} other/scope", True),
        (f"other/scope {READ}", True),
        (f"a/b {READ} c/d", True),
        (f'["{READ}","c/d"]', True),  # an array claim arrives as its JSON text
        (f"{RS}/readwrite", False),
        (f"{RS}/read-only", False),
        (f"x{READ}", False),
        (f"{READ}x other", False),
        (f"other x{READ}", False),
        (f"{RS}/rea", False),
        ("", False),
    ],
)
def test_scope_is_matched_as_a_whole_word_not_a_substring(claim, allowed):
    read_only_tool = next(t.name for t in MANIFEST if t.read_only)
    text = _policies()["read"]
    assert _decide(text, read_only_tool, claim) == ("Allow" if allowed else "Deny")


def test_other_gateway_is_not_covered():
    read_only_tool = next(t.name for t in MANIFEST if t.read_only)
    text = "\n\n".join(_policies().values()).replace(GATEWAY_ARN, GATEWAY_ARN + "x")
    assert _decide(text, read_only_tool, INVOKE) == "Deny"


def test_no_read_only_tools_means_no_read_policy():
    assert list(_policies([Tool("send_message", False)])) == ["invoke"]


@pytest.mark.parametrize("scope", ["", "a b", "rs/*", 'rs/"x', "rs\\x"])
def test_scopes_that_would_change_the_cedar_are_refused(scope):
    with pytest.raises(ValueError, match="scope"):
        scope_condition(scope)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "expected"),
        ({"tools": [{"name": "x"}]}, "read_only: true or false"),
        ({"tools": [{"name": "bad name", "read_only": True}]}, "not a valid tool name"),
        (
            {"tools": [{"name": "x", "read_only": True}, {"name": "x", "read_only": False}]},
            "listed twice",
        ),
    ],
)
def test_manifest_errors_name_the_problem(data, message):
    with pytest.raises(ManifestError, match=message):
        parse_manifest(data)


def test_cedar_shape_snapshot(snapshot):
    """The policy text a reviewer reads in `cdk diff`, on two fixed tools so that adding a tool
    to the manifest does not move it; update with --snapshot-update only on purpose."""
    tools = [Tool("list_chats", True), Tool("send_message", False)]
    assert _policies(tools) == snapshot


def test_policy_names_fit_the_service_pattern():
    assert policy_name("invoke", "lark") == "invoke_lark"
    assert policy_name("read", "my-server") == "read_my_server"
    long = policy_name("invoke", "x" * 100)
    assert len(long) == 48 and long.startswith("invoke_xxx")
    assert long != policy_name("invoke", "x" * 99)


def test_select_tools_keeps_manifest_order_and_flags():
    served = select_tools(MANIFEST, ["list_chats", "send_message", "not_served"])
    assert [t.name for t in served] == [t.name for t in MANIFEST if t.name in served_names(served)]
    assert {t.name: t.read_only for t in served} == {"send_message": False, "list_chats": True}


def served_names(tools):
    return {t.name for t in tools}


def test_a_statement_over_the_service_limit_is_refused_at_synth():
    many = [Tool(f"tool_{i:03d}_with_a_long_descriptive_name", True) for i in range(200)]
    with pytest.raises(ValueError, match="split the tools over more gateway targets"):
        _policies(many)
