"""``userAuth`` is off by default, and off means the app is exactly what it was.

The default app's templates are compared with the reviewed snapshots of tests/infra (the
templates before this feature), and the bot path of a ``userAuth`` app with the default app's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.infra.test_snapshots import mask_asset_hashes
from tests.user_auth_cdk.conftest import BOT_STACKS, synthesize

SNAPSHOTS = Path(__file__).resolve().parents[1] / "infra" / "__snapshots__" / "test_snapshots"
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


def _masked(value):
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return mask_asset_hashes(data=value, path=())


def _templates(assembly) -> dict[str, bytes]:
    return {
        path.name: path.read_bytes()
        for path in sorted(assembly.outdir.glob("*.json"))
        if path.name.endswith((".template.json", ".assets.json"))
    }


def test_the_default_app_has_no_user_auth_stacks(default_app):
    assert not [s for s in default_app.stacks() if s.startswith("User")]
    assert set(BOT_STACKS) <= set(default_app.stacks())


@pytest.mark.parametrize("stack", BOT_STACKS)
def test_default_templates_match_the_reviewed_snapshots(default_app, stack):
    snapshot = SNAPSHOTS / f"test_template_matches_snapshot[{stack}].json"
    assert _masked(default_app.raw(stack)) == json.loads(snapshot.read_text())


@pytest.mark.parametrize("stack", BOT_STACKS)
def test_default_templates_carry_nothing_of_the_feature(default_app, stack):
    text = json.dumps(default_app.raw(stack))
    assert [m for m in _FEATURE_MARKERS if m in text] == []


@pytest.mark.parametrize("value", [False, "false"])
def test_user_auth_false_synthesizes_the_same_bytes(default_app, tmp_path, value):
    off = synthesize(tmp_path / "off", {"userAuth": value})
    assert _templates(off) == _templates(default_app)


@pytest.mark.parametrize("stack", ["Cognito", "Gateway"])
def test_the_bot_path_is_the_same_with_user_auth_on(default_app, user_app, stack):
    """The bot gateway, its Cognito clients and policies: identical templates."""
    assert user_app.raw(stack) == default_app.raw(stack)
