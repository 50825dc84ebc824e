"""The sign-in path's deploy check in the synthesized templates (context ``userAuth``).

Only the userAuth app has it; it checks what the runtime and the user gateway were really
configured with; it reruns exactly when what it checks changes; its Lambda may do nothing but
write its logs and read its own stack's status. (cdk-nag and cfn-lint over these stacks:
test_synth_checks.py; the bot path untouched: test_default_unchanged.py.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.user_auth_cdk.conftest import USER_AUTH, synthesize

CHECK = "Custom::SignInCheck"


def _check(raw: dict) -> dict:
    (check,) = [r for r in raw["Resources"].values() if r["Type"] == CHECK]
    return check


def test_only_the_user_auth_app_has_it(default_app, user_app):
    for stack in default_app.stacks():
        assert CHECK not in json.dumps(default_app.raw(stack)), stack
    for stack in user_app.stacks():
        count = json.dumps(user_app.raw(stack)).count(f'"{CHECK}"')
        assert count == (1 if stack == "UserGateway" else 0), stack


def test_it_checks_what_the_runtime_and_the_gateway_were_given(user_app):
    raw = user_app.raw("UserGateway")
    props = _check(raw)["Properties"]
    runtime = next(
        r
        for r in user_app.raw("Runtime")["Resources"].values()
        if r["Type"] == "AWS::BedrockAgentCore::Runtime"
    )
    # The very output of the UserAuth stack that the runtime's LARK_USER_AUTH_ISSUER reads.
    trusted = runtime["Properties"]["EnvironmentVariables"]["LARK_USER_AUTH_ISSUER"]
    assert (
        props["Issuer"]["Fn::GetStackOutput"]["OutputName"]
        == (trusted["Fn::GetStackOutput"]["OutputName"])
    )
    (gateway_id, gateway), *_ = [
        (k, r) for k, r in raw["Resources"].items() if r["Type"] == "AWS::BedrockAgentCore::Gateway"
    ]
    jwt = gateway["Properties"]["AuthorizerConfiguration"]["CustomJWTAuthorizer"]
    assert props["DiscoveryUrl"] == jwt["DiscoveryUrl"]
    assert props["ClientId"] == "quicksuite" and "AllowedClients" not in jwt
    assert props["GatewayUrl"] == {"Fn::GetAtt": [gateway_id, "GatewayUrl"]}
    assert props["RedirectUri"] == {
        "Fn::Join": [
            "",
            ["https://", {"Ref": "AWS::Region"}, ".quicksight.aws.amazon.com/sn/oauthcallback"],
        ]
    }
    assert props["AccountsOrigin"] == "https://accounts.feishu.cn"
    assert "LarkMcp/lark-app-credentials" in json.dumps(props["FillSecretCommand"])
    assert "update-function-configuration" in json.dumps(props["RestartCommand"])
    depends = _check(raw)["DependsOn"]
    assert gateway_id in depends and any(d.startswith("ToolSync") for d in depends)


def test_its_lambda_may_only_log_and_read_its_own_stack(user_app):
    raw = user_app.raw("UserGateway")
    resources = raw["Resources"]
    functions = {
        k: r
        for k, r in resources.items()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"].get("Handler", "").startswith("sign_in_handler.")
    }
    assert sorted(f["Properties"]["Handler"] for f in functions.values()) == [
        "sign_in_handler.is_complete",
        "sign_in_handler.on_event",
    ]
    (role_id,) = {f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions.values()}
    statements = [
        s
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in r["Properties"]["Roles"]
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions = set()
    for statement in statements:
        action = statement["Action"]
        actions.update([action] if isinstance(action, str) else action)
    assert {a for a in actions if not a.startswith("logs:")} == {"cloudformation:DescribeStacks"}
    (describe,) = [s for s in statements if s["Action"] == "cloudformation:DescribeStacks"]
    assert describe["Resource"] == {"Ref": "AWS::StackId"}


def _asset(assembly, function: dict) -> Path:
    key = function["Properties"]["Code"]["S3Key"]
    return assembly.outdir / f"asset.{key.removesuffix('.zip')}"


def test_its_asset_is_the_check_the_rollback_guard_and_one_model(user_app):
    resources = user_app.raw("UserGateway")["Resources"].values()
    function = next(
        r for r in resources if r["Properties"].get("Handler") == "sign_in_handler.on_event"
    )
    assert function["Properties"]["Environment"]["Variables"] == {
        "AWS_DATA_PATH": "/var/task/botocore_data"
    }
    asset = _asset(user_app, function)
    files = sorted(p.relative_to(asset).as_posix() for p in asset.rglob("*") if p.is_file())
    modules = [f for f in files if not f.startswith("botocore_data/")]
    assert modules == ["rollback.py", "sign_in_checks.py", "sign_in_handler.py"]
    assert {f.split("/")[1] for f in files if f.startswith("botocore_data/")} == {"cloudformation"}
    # The handler imports from the asset alone (plus boto3, which the Lambda runtime has).
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import sign_in_handler as h;"
        "print(h.__file__); print(h.sign_in_checks.__file__)"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", code, str(asset)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert all(line.startswith(str(asset)) for line in done.stdout.split())


def _triggers(context: dict, tmp: Path) -> dict[str, str]:
    return _check(synthesize(tmp, USER_AUTH | context).raw("UserGateway"))["Properties"]["Triggers"]


@pytest.fixture(scope="module")
def base_triggers(user_app) -> dict[str, str]:
    return _check(user_app.raw("UserGateway"))["Properties"]["Triggers"]


@pytest.mark.parametrize(
    ("context", "moved"),
    [
        ({}, set()),  # the same code and context: nothing to rerun
        ({"larkUserScopes": "calendar:calendar:readonly"}, {"auth_server"}),
        ({"quickSuiteRegion": "us-east-1"}, {"endpoints"}),  # the redirect URI it sends
        ({"logLevel": "DEBUG"}, set()),  # the runtime's settings are not what it checks
    ],
    ids=["unchanged", "user-scopes", "quick-suite-region", "runtime-only"],
)
def test_it_reruns_exactly_when_what_it_checks_changes(
    base_triggers, tmp_path, context: dict, moved: set[str]
):
    triggers = _triggers(context, tmp_path)
    assert triggers.keys() == base_triggers.keys()
    assert {k for k in triggers if triggers[k] != base_triggers[k]} == moved


@pytest.mark.parametrize(
    "domain", ["https://open.feishu.cn", "https://open.larksuite.com", "https://lark.example"]
)
def test_the_accounts_origin_is_the_one_the_server_sends_people_to(domain: str):
    from lark_auth_server.lark import accounts_origin as servers
    from stacks.user_gateway_stack import accounts_origin

    assert accounts_origin(domain) == servers(domain)
