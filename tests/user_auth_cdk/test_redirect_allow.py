"""Context ``userAuthRedirectAllow``: parsed by the app, passed to the server, and never a value
the app accepts that the server would then refuse at cold start."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lark_auth_server.redirects import PolicyError, RedirectPolicy
from stacks.config import ConfigError
from stacks.user_auth_config import load_user_auth_config


def _config(value):
    return load_user_auth_config({"userAuth": "true", "userAuthRedirectAllow": value}.get)


def test_unset_leaves_the_servers_defaults():
    assert load_user_auth_config({"userAuth": "true"}.get).redirect_allow is None


def test_hosts_schemes_and_defaults_are_kept_in_order():
    config = _config("defaults, https://apps.example.com/ myapp: Claude.ai")
    assert config.redirect_allow == ("defaults", "https://apps.example.com/", "myapp:", "claude.ai")
    assert _config('["vscode", "claude.ai"]').redirect_allow == ("vscode", "claude.ai")


@pytest.mark.parametrize(
    "value", ["http", "javascript", "https:", "bad_host.example", "a!c", ["  "], "0.0/"]
)
def test_what_the_server_would_refuse_fails_the_synth(value):
    with pytest.raises(ConfigError, match="userAuthRedirectAllow"):
        _config(value)


@given(st.lists(st.text(alphabet="abxz09.-_:/+", min_size=1, max_size=20), min_size=1, max_size=4))
def test_every_value_the_app_accepts_the_server_accepts(words):
    try:
        config = _config(words)
    except ConfigError:
        return
    try:
        RedirectPolicy.parse(" ".join(config.redirect_allow))
    except PolicyError as refused:
        pytest.fail(f"the app accepted {words!r}, the server refuses it: {refused}")


def test_the_stack_passes_it_to_the_server_only_when_set(tmp_path):
    from tests.user_auth_cdk.conftest import synthesize

    app = synthesize(
        tmp_path,
        {"userAuth": "true", "userAuthRedirectAllow": "defaults apps.example.com"},
    )
    [server] = [
        r
        for r in app.raw("UserAuth")["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"].get("Handler") == "lark_auth_server.aws_lambda.handler"
    ]
    env = server["Properties"]["Environment"]["Variables"]
    assert env["AUTH_REDIRECT_ALLOW"] == "defaults apps.example.com"
    assert RedirectPolicy.parse(env["AUTH_REDIRECT_ALLOW"]).allows("https://apps.example.com/cb")


def test_the_default_template_sets_no_policy(user_app):
    [server] = [
        r
        for r in user_app.raw("UserAuth")["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"].get("Handler") == "lark_auth_server.aws_lambda.handler"
    ]
    assert "AUTH_REDIRECT_ALLOW" not in server["Properties"]["Environment"]["Variables"]
