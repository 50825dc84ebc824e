"""``userAuth`` is off by default, and off means the app is exactly what it was.

Independent of the snapshots in tests/infra (which the lead regenerates after merges, and
which would silently absorb a leak): an app with ``userAuth`` off is byte-identical to the
default app, the default templates carry nothing of the feature, and even with it on, the bot
path's stacks (Cognito, Gateway) are byte-identical to the default app's.
"""

from __future__ import annotations

import json

import pytest

from tests.user_auth_cdk.conftest import BOT_STACKS, synthesize

_FEATURE_MARKERS = (
    "MetadataConfiguration",
    "RequestHeaderConfiguration",
    "InterceptorConfigurations",
    "LARK_USER_AUTH",
    "USER_TOKEN_STORE",
    "Caller-Jwt",
    "AWS::DynamoDB::Table",
    "AWS::ApiGatewayV2",
)


def _templates(assembly) -> dict[str, bytes]:
    return {
        path.name: path.read_bytes()
        for path in sorted(assembly.outdir.glob("*.json"))
        if path.name.endswith((".template.json", ".assets.json"))
    }


def test_the_default_app_has_no_user_auth_stacks(default_app):
    assert not [s for s in default_app.stacks() if s.startswith("User")]
    assert set(BOT_STACKS) <= set(default_app.stacks())


def test_default_templates_carry_nothing_of_the_feature(default_app):
    for stack in default_app.stacks():
        text = json.dumps(default_app.raw(stack))
        assert [m for m in _FEATURE_MARKERS if m in text] == [], stack


@pytest.mark.parametrize("value", [False, "false"])
def test_user_auth_false_synthesizes_the_same_bytes(default_app, tmp_path, value):
    off = synthesize(tmp_path / "off", {"userAuth": value})
    assert _templates(off) == _templates(default_app)


@pytest.mark.parametrize("stack", ["Cognito", "Gateway"])
def test_the_bot_path_is_the_same_with_user_auth_on(default_app, user_app, stack):
    """The bot gateway, its Cognito clients and policies: identical templates."""
    assert user_app.raw(stack) == default_app.raw(stack)
