"""Context parsing: defaults, accepted spellings, and errors a person can act on."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcp_constructs.m2m_auth import _check_domain_prefix, default_domain_base
from stacks.config import AppConfig, ConfigError, load_config


def load(context: dict | None = None, environ: dict | None = None) -> AppConfig:
    return load_config((context or {}).get, environ or {})


def test_defaults_need_no_context_and_no_aws_environment():
    config = load()
    assert config.stack_names == {
        "Cognito": "LarkMcp-Cognito",
        "Runtime": "LarkMcp-Runtime",
        "Gateway": "LarkMcp-Gateway",
    }
    assert (config.account, config.region) == (None, None)
    assert config.lark_domain == "https://open.feishu.cn"
    assert config.full_scope == "lark-mcp/invoke"
    assert config.extra_clients == ()
    assert config.runtime_environment() == {
        "LARK_DOMAIN": "https://open.feishu.cn",
        "LOG_LEVEL": "INFO",
    }


def test_cli_environment_fills_account_and_region_unless_context_sets_them():
    environ = {"CDK_DEFAULT_ACCOUNT": "111111111111", "CDK_DEFAULT_REGION": "eu-west-1"}
    assert (load(environ=environ).account, load(environ=environ).region) == (
        "111111111111",
        "eu-west-1",
    )
    config = load({"account": "222222222222", "region": "us-west-2"}, environ)
    assert (config.account, config.region) == ("222222222222", "us-west-2")


@pytest.mark.parametrize(
    ("value", "origin"),
    [
        ("feishu", "https://open.feishu.cn"),
        ("Lark", "https://open.larksuite.com"),
        ("https://lark.example.com/", "https://lark.example.com"),
    ],
)
def test_lark_domain_names_or_origins(value, origin):
    assert load({"larkDomain": value}).lark_domain == origin


def test_lists_and_booleans_accept_cli_strings_and_json():
    config = load(
        {
            "extraClients": "team-a, team-b",
            "larkTools": '["send_message", "list_chats"]',
            "larkReadOnly": "yes",
        }
    )
    assert config.extra_clients == ("team-a", "team-b")
    assert config.runtime_environment()["LARK_TOOLS"] == "send_message,list_chats"
    assert config.runtime_environment()["LARK_READ_ONLY"] == "true"
    assert load({"extraClients": ["ops"]}).extra_clients == ("ops",)


def test_stack_prefix_names_stacks_runtime_and_gateway():
    config = load({"stackPrefix": "Acme-Lark"})
    assert config.stack_names["Gateway"] == "Acme-Lark-Gateway"
    assert config.runtime_name == "Acme_Lark_server"
    assert config.gateway_name == "acme-lark-gateway"
    assert config.default_secret_name == "Acme-Lark/lark-app-credentials"


@pytest.mark.parametrize(
    ("context", "says"),
    [
        ({"stackPrefix": "1bad"}, "context 'stackPrefix'='1bad' is not valid"),
        ({"stackPrefix": "has space"}, "Example: -c stackPrefix=LarkMcp"),
        ({"stackPrefix": "A" * 41}, "up to 39 letters"),
        ({"stackPrefix": "Lark--Mcp"}, "single hyphens"),
        ({"account": "12345"}, "12-digit AWS account id"),
        ({"region": "Europe"}, "Example: -c region=us-east-1"),
        ({"larkDomain": "http://open.feishu.cn"}, "'feishu'"),
        ({"larkDomain": "https://open.feishu.cn/open-apis"}, "without a path"),
        ({"resourceServerId": "has space"}, "context 'resourceServerId'"),
        ({"scope": "a/b"}, "no spaces or slashes"),
        ({"extraClients": "default"}, "must not contain 'default'"),
        ({"extraClients": "team-a,Team-A"}, "team-a more than once"),
        ({"extraClients": "-bad"}, "context 'extraClients'='-bad' is not valid"),
        ({"extraClients": "[not json"}, "does not parse"),
        ({"extraClients": {"a": 1}}, "must be a list of strings"),
        ({"cognitoDomainPrefix": "My_Domain"}, "lowercase letters, digits or hyphens"),
        ({"cognitoDomainPrefix": "my-aws-tools"}, "contains 'aws'"),
        ({"larkSecretName": "arn:aws:secretsmanager:x"}, "not its ARN"),
        ({"larkTools": "SendMessage"}, "snake_case"),
        ({"larkReadOnly": "maybe"}, "use true or false"),
        ({"logLevel": "verbose"}, "DEBUG, INFO, WARNING, ERROR"),
    ],
)
def test_bad_values_name_the_key_and_the_fix(context, says):
    with pytest.raises(ConfigError) as err:
        load(context)
    assert says in str(err.value)


def test_bad_cli_environment_account_is_reported_too():
    with pytest.raises(ConfigError, match="12-digit"):
        load(environ={"CDK_DEFAULT_ACCOUNT": "not-an-account"})


@pytest.mark.parametrize(
    ("stack_name", "base"),
    [
        ("LarkMcp-Cognito", "larkmcp"),  # unchanged: existing deployments keep their domain
        ("Team-A-Cognito", "team-a"),
        ("AwsTools-Cognito", re.compile(r"tools-[0-9a-f]{8}")),
        ("Amazon", re.compile(r"mcp-[0-9a-f]{8}")),
        ("X" * 120, re.compile(r"x{41}-[0-9a-f]{8}")),
    ],
)
def test_default_domain_prefix_is_always_valid(stack_name, base):
    got = default_domain_base(stack_name)
    assert got == base if isinstance(base, str) else base.fullmatch(got), got
    _check_domain_prefix(f"{got}-123456789012", "test")


def test_prefixes_differing_by_a_reserved_word_get_distinct_domains():
    """`LarkMcp` and `LarkMcpAws` used to share `larkmcp-<account>`: the second deploy failed."""
    prefixes = ["LarkMcp", "LarkMcpAws", "LarkMcpAmazon", "LarkMcpCognito", "AwsLarkMcp", "Lark"]
    prefixes += ["LarkAmazonMcp", "LarkMcpAWS", "X" * 60, "X" * 60 + "Y"]
    bases = [default_domain_base(f"{prefix}-Cognito") for prefix in prefixes]
    assert len(set(bases)) == len(bases), bases


@given(st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,100}", fullmatch=True))
def test_any_stack_name_gives_a_valid_domain_prefix(name):
    _check_domain_prefix(f"{default_domain_base(name)}-123456789012", "test")
