"""The small props the feature added to shared constructs, and its context keys: each refuses
what the service would refuse, with a message that says what to do."""

from __future__ import annotations

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from mcp_constructs.gateway import JwtAuthorizer, McpGateway
from stacks.config import ConfigError
from stacks.user_auth_config import UserAuthConfig, load_user_auth_config

DISCOVERY = "https://issuer.example/.well-known/openid-configuration"


def _gateway(authorizer: JwtAuthorizer) -> tuple[Stack, McpGateway]:
    stack = Stack(App(), "Test")
    return stack, McpGateway(stack, "Gw", gateway_name="test-gw", authorizer=authorizer)


def test_a_gateway_without_scopes_needs_any_scope_on_purpose():
    with pytest.raises(ValueError, match="one allowed scope"):
        _gateway(JwtAuthorizer(DISCOVERY, ("quicksuite",), ()))
    stack, _ = _gateway(JwtAuthorizer(DISCOVERY, ("quicksuite",), (), any_scope=True))
    jwt = Template.from_stack(stack).find_resources("AWS::BedrockAgentCore::Gateway")
    (gateway,) = jwt.values()
    config = gateway["Properties"]["AuthorizerConfiguration"]["CustomJWTAuthorizer"]
    assert config == {"AllowedClients": ["quicksuite"], "DiscoveryUrl": DISCOVERY}
    with pytest.raises(ValueError, match="one allowed client"):
        _gateway(JwtAuthorizer(DISCOVERY, (), (), any_scope=True))


def _function(stack: Stack, id: str) -> lambda_.Function:
    return lambda_.Function(
        stack,
        id,
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(e, c): return e"),
    )


def test_one_request_interceptor_per_gateway():
    stack, gateway = _gateway(JwtAuthorizer(DISCOVERY, ("c",), ("s",)))
    gateway.add_request_interceptor(_function(stack, "A"), pass_request_headers=True)
    with pytest.raises(ValueError, match="at most one REQUEST interceptor"):
        gateway.add_request_interceptor(_function(stack, "B"))


class _Runtime:
    """A runtime as the gateway sees it (InvokableRuntime), with a literal ARN."""

    def __init__(self, stack: Stack) -> None:
        self.node = stack.node
        self.runtime_arn = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/r-abc"

    def grant_invoke(self, grantee):
        from aws_cdk import aws_iam as iam

        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["bedrock-agentcore:InvokeAgentRuntime"], resource_arns=["*"]
        )


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (["X-Amzn-Trace-Id"], "only X-Amzn-Bedrock-AgentCore-Runtime-Custom"),
        ([f"X-Custom-{i}" for i in range(11)], "at most 10"),
    ],
)
def test_target_header_allowlist_follows_the_service_rules(headers, message):
    stack, gateway = _gateway(JwtAuthorizer(DISCOVERY, ("c",), ("s",)))
    with pytest.raises(ValueError, match=message):
        gateway.add_mcp_server_target(
            "T", _Runtime(stack), target_name="lark", allowed_request_headers=headers
        )


def _context(**values):
    return lambda key: values.get(key)


def test_user_auth_is_off_unless_asked_for():
    assert load_user_auth_config(_context()) is None
    assert load_user_auth_config(_context(userAuth="false")) is None
    assert load_user_auth_config(_context(userAuth=True)) == UserAuthConfig()


def test_user_auth_context_values_are_parsed():
    config = load_user_auth_config(
        _context(
            userAuth="yes",
            larkUserScopes="calendar:calendar:readonly, docx:document:readonly",
            userAuthRedirectUris='["https://example.com/cb"]',
            quickSuiteRegion="us-west-2",
            userAuthConcurrency="0",
        )
    )
    assert config.lark_user_scopes == ("calendar:calendar:readonly", "docx:document:readonly")
    assert config.extra_redirect_uris == ("https://example.com/cb",)
    assert config.quick_suite_region == "us-west-2"
    assert config.concurrency == 0


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("userAuth", "maybe", "not a boolean"),
        ("larkUserScopes", "calendar calendar;drop", "invalid Lark scopes"),
        ("userAuthRedirectUris", "http://example.com/cb", "https URL"),
        ("quickSuiteRegion", "Europe", "not an AWS region"),
        ("userAuthConcurrency", "-1", "whole number from 0"),
    ],
)
def test_bad_user_auth_context_says_what_to_do(key, value, message):
    values = {"userAuth": "true", key: value}
    with pytest.raises(ConfigError, match=message):
        load_user_auth_config(_context(**values))
