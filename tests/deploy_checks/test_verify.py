"""`make verify` / `python -m mcp_constructs.verify` against the real server and stubbed stacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mcp_constructs import verify
from mcp_constructs.deploy_checks.runtime.mcp_smoke import run_smoke
from mcp_constructs.manifest import tool_names
from tests.deploy_checks.cli_session import StubbedSession, expect_stack
from tests.deploy_checks.conftest import CLIENT, READ_SCOPE, READER, SCOPE, TARGET, expected_tools
from tests.deploy_checks.local_stack import REPO, GatewayStandIn, Issuer
from tests.jsii_cache import shared_cache_env

POOL = "eu-west-1_AbCdEfGhI"


def test_make_verify_against_a_local_server(mcp_url: str) -> None:
    # -o setup: the venv is already installed; never reinstall from inside a test.
    done = subprocess.run(
        # This server has no Lark credentials: list only (test_verify_read.py: the read call).
        [
            "make",
            "--no-print-directory",
            "-o",
            "setup",
            "verify",
            f"URL={mcp_url}",
            "VERIFY_ARGS=--no-call",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"PASS  {mcp_url}" in done.stdout
    assert f"endpoint listed all {len(expected_tools())} expected tools" in done.stdout


def test_missing_tool_exits_1_with_a_json_report(mcp_url: str) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mcp_constructs.verify",
            "--url",
            mcp_url,
            "--json",
            "--expected",
            f"{expected_tools()[0]},not_a_tool",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["ok"] is False
    assert report["missing"] == ["not_a_tool"]
    assert report["message"] == "endpoint listed 1 of 2 expected tools; missing: not_a_tool"


def test_read_only_fails_when_write_tools_are_listed(
    mcp_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert verify.main(["--url", mcp_url, "--read-only"]) == 1

    out = capsys.readouterr().out
    assert "tool(s) that should not be there: " in out
    assert "send_message" in out


def test_missing_manifest_is_a_usage_error(
    mcp_url: str, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert verify.main(["--url", mcp_url, "--manifest", str(tmp_path / "nope.json")]) == 2

    assert "nope.json does not exist; pass the expected tools with --expected" in (
        capsys.readouterr().err
    )


@pytest.fixture
def session() -> Iterator[StubbedSession]:
    stubbed = StubbedSession()
    for stubber in stubbed.stubbers.values():
        stubber.activate()
    yield stubbed
    for stubber in stubbed.stubbers.values():
        stubber.assert_no_pending_responses()
        stubber.deactivate()


def test_stack_prefix_reads_outputs_then_the_secret(
    session: StubbedSession,
    issuer: Issuer,
    gateway_service: tuple[GatewayStandIn, str],
    gateway: GatewayStandIn,
) -> None:
    token_url = f"{issuer.issuer_url}/oauth2/token"
    expect_stack(
        session,
        "LarkMcp-Cognito",
        {"UserPoolId": POOL, "TokenUrl": token_url, "Scope": SCOPE, "ClientId": CLIENT.client_id},
    )
    expect_stack(
        session,
        "LarkMcp-Gateway",
        {
            "McpEndpointUrl": gateway_service[1],
            "TargetName": TARGET,
            "TokenUrl": token_url,
            "Scope": SCOPE,
            "ClientId": CLIENT.client_id,
        },
    )
    session.stubbers["cognito-idp"].add_response(
        "describe_user_pool_client",
        {
            "UserPoolClient": {
                "UserPoolId": POOL,
                "ClientId": CLIENT.client_id,
                "ClientSecret": CLIENT.client_secret,
            }
        },
        {"UserPoolId": POOL, "ClientId": CLIENT.client_id},
    )
    args = verify.parse_args(["--stack-prefix", "LarkMcp"])

    report = run_smoke(verify.build_config(args, session))

    assert report.ok, report.message
    assert sorted(report.tools) == sorted(f"{TARGET}___{t}" for t in expected_tools())


def test_team_client_without_an_output_is_named(session: StubbedSession) -> None:
    expect_stack(session, "LarkMcp-Cognito", {"UserPoolId": POOL})
    expect_stack(
        session,
        "LarkMcp-Gateway",
        {"McpEndpointUrl": "https://gw", "TokenUrl": "t", "Scope": SCOPE, "ClientId": "c"},
    )
    args = verify.parse_args(["--stack-prefix", "LarkMcp", "--client", "team-a"])

    with pytest.raises(verify.VerifyError) as failure:
        verify.build_config(args, session)

    assert str(failure.value) == (
        "stacks LarkMcp-Cognito / LarkMcp-Gateway have no output ClientIdTeamA"
        " (is there an app client named 'team-a'?)"
    )


def test_stack_not_deployed(session: StubbedSession) -> None:
    session.stubbers["cloudformation"].add_client_error(
        "describe_stacks",
        service_error_code="ValidationError",
        service_message="Stack with id Lark-Cognito does not exist",
        http_status_code=400,
    )

    with pytest.raises(verify.VerifyError) as failure:
        verify.build_config(verify.parse_args(["--stack-prefix", "Lark"]), session)

    assert str(failure.value) == (
        "cannot read stack Lark-Cognito in eu-west-1: Stack with id Lark-Cognito does not exist"
        " (deployed with another --stack-prefix or --region?)"
    )


def expect_read_team(
    session: StubbedSession, issuer: Issuer, gateway_url: str, teams: dict[str, Any]
) -> None:
    token_url = f"{issuer.issuer_url}/oauth2/token"
    expect_stack(
        session,
        "LarkMcp-Cognito",
        {"UserPoolId": POOL, "TokenUrl": token_url, "TeamClientsSummary": json.dumps(teams)},
    )
    expect_stack(
        session,
        "LarkMcp-Gateway",
        {"McpEndpointUrl": gateway_url, "TargetName": TARGET, "TokenUrl": token_url},
    )


READERS = {"readers": {"clientId": READER.client_id, "access": "read", "scope": READ_SCOPE}}


def test_read_team_sees_only_read_only_tools(
    session: StubbedSession,
    issuer: Issuer,
    gateway_service: tuple[GatewayStandIn, str],
    gateway: GatewayStandIn,
) -> None:
    expect_read_team(session, issuer, gateway_service[1], READERS)
    session.stubbers["cognito-idp"].add_response(
        "describe_user_pool_client",
        {"UserPoolClient": {"ClientId": READER.client_id, "ClientSecret": READER.client_secret}},
        {"UserPoolId": POOL, "ClientId": READER.client_id},
    )

    config = verify.build_config(
        verify.parse_args(["--stack-prefix", "LarkMcp", "--team", "readers"]), session
    )
    report = run_smoke(config)

    assert config.scope == READ_SCOPE and not config.allow_extra
    assert report.ok, report.message
    assert sorted(report.tools) == sorted(f"{TARGET}___{t}" for t in tool_names(read_only=True))


def test_read_team_shown_write_tools_fails_naming_them(
    session: StubbedSession,
    issuer: Issuer,
    gateway_service: tuple[GatewayStandIn, str],
    gateway: GatewayStandIn,
) -> None:
    gateway.faults.ignore_read_scope = True  # as if the gateway's tool policies were missing
    expect_read_team(session, issuer, gateway_service[1], READERS)
    session.stubbers["cognito-idp"].add_response(
        "describe_user_pool_client",
        {"UserPoolClient": {"ClientId": READER.client_id, "ClientSecret": READER.client_secret}},
    )

    report = run_smoke(
        verify.build_config(
            verify.parse_args(["--stack-prefix", "LarkMcp", "--team", "readers"]), session
        )
    )

    writes = sorted(
        f"{TARGET}___{t}" for t in set(expected_tools()) - set(tool_names(read_only=True))
    )
    assert not report.ok
    assert report.message == (
        f"gateway listed {len(writes)} tool(s) that should not be there: " + ", ".join(writes)
    )


def test_unknown_team_lists_the_deployed_ones(
    session: StubbedSession, issuer: Issuer, gateway_service: tuple[GatewayStandIn, str]
) -> None:
    expect_read_team(session, issuer, gateway_service[1], READERS)

    with pytest.raises(verify.VerifyError) as failure:
        verify.build_config(
            verify.parse_args(["--stack-prefix", "LarkMcp", "--team", "ops"]), session
        )

    assert str(failure.value) == (
        "stacks LarkMcp-Cognito / LarkMcp-Gateway have no team 'ops' (teams deployed: readers)"
    )


@pytest.mark.parametrize("module", ["mcp_constructs.verify", "mcp_constructs.verify_sign_in"])
def test_a_profile_that_does_not_exist_is_a_sentence_not_a_traceback(
    module: str, tmp_path: Path
) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_PROFILE": "no-such-profile",
    } | shared_cache_env()  # a fresh HOME, not a fresh jsii cache (tests/jsii_cache.py)
    done = subprocess.run(
        [sys.executable, "-m", module, "--stack-prefix", "LarkMcp", "--region", "eu-west-1"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr  # 2: the check could not run
    assert "Traceback" not in done.stderr
    assert "The config profile (no-such-profile) could not be found" in done.stdout + done.stderr
