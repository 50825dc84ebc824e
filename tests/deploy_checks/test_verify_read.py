"""`make verify`'s read call: one real read through the endpoint, told in plain words.

Against the real server process (with the fake Lark's credentials, without any, with wrong
ones, with a scope the app lacks), both directly and through the gateway stand-in with a
Cognito-like token, as a full-access client and as a read team.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from mcp_constructs import verify
from mcp_constructs.deploy_checks.runtime.mcp_smoke import SmokeConfig, run_smoke
from mcp_constructs.manifest import tool_names
from mcp_constructs.read_check import pick_tool, run_read_check
from tests.deploy_checks.conftest import READ_SCOPE, READER, TARGET
from tests.deploy_checks.local_stack import REPO, start_server_process
from tests.lark_fake.fake import FakeLark


@pytest.fixture(scope="module")
def lark_url(lark_fake: FakeLark) -> Iterator[str]:
    """The real server with the fake Lark's app credentials."""
    env = {
        "LARK_DOMAIN": lark_fake.base_url,
        "LARK_APP_ID": lark_fake.app_id,
        "LARK_APP_SECRET": lark_fake.app_secret,
        "LARK_RETRY_BASE_SECONDS": "0.01",
    }
    with start_server_process("lark_mcp_server", env) as url:
        yield url


@pytest.fixture(scope="module")
def wrong_secret_url(lark_fake: FakeLark) -> Iterator[str]:
    env = {
        "LARK_DOMAIN": lark_fake.base_url,
        "LARK_APP_ID": lark_fake.app_id,
        "LARK_APP_SECRET": "not-the-secret",
    }
    with start_server_process("lark_mcp_server", env) as url:
        yield url


def _verify(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mcp_constructs.verify", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_make_verify_reads_from_lark(lark_url: str, fresh_lark: FakeLark) -> None:
    done = subprocess.run(
        ["make", "--no-print-directory", "-o", "setup", "verify", f"URL={lark_url}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"PASS  {lark_url}" in done.stdout
    # The count of chats on the first page (the table's rows, not its header row).
    shown = min(len(fresh_lark.chats), 20)
    assert f"read call: ok: list_chats reached Lark: {shown} chats" in done.stdout
    assert [r.path for r in fresh_lark.requests if "/im/v1/chats" in r.path] == [
        "/open-apis/im/v1/chats"
    ]
    assert "oc_" not in done.stdout  # how many, never what


def test_an_empty_secret_fails_in_plain_words(mcp_url: str) -> None:
    done = _verify("--url", mcp_url, "--json")

    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["ok"] is False
    assert report["message"].startswith("endpoint listed all")  # listing alone passes
    read = report["read_call"]
    assert read["tool"] == "list_chats" and read["ok"] is False
    assert read["message"].startswith(
        "list_chats could not run: the Lark app secret is not filled in, so the server has no "
        "Lark app id and secret. Tools are listed, but every call fails until it is. "
        "Set LARK_APP_ID and LARK_APP_SECRET for the server"
    )


def test_the_text_report_says_fail_when_only_the_read_failed(mcp_url: str) -> None:
    done = _verify("--url", mcp_url)

    assert done.returncode == 1
    assert done.stdout.startswith(f"FAIL  {mcp_url}\n")
    assert "read call: FAILED: list_chats could not run: the Lark app secret is not filled" in (
        done.stdout
    )


def test_no_call_only_lists(mcp_url: str) -> None:
    done = _verify("--url", mcp_url, "--no-call")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "read call" not in done.stdout


def test_wrong_credentials_are_named(wrong_secret_url: str, fresh_lark: FakeLark) -> None:
    done = _verify("--url", wrong_secret_url, "--call", "list_calendars")

    assert done.returncode == 1
    assert "read call: FAILED: list_calendars could not run: Lark refused the app id and " in (
        done.stdout
    )
    assert "not-the-secret" not in done.stdout


def test_a_missing_scope_is_named(lark_url: str, fresh_lark: FakeLark) -> None:
    fresh_lark.deny("/open-apis/im/v1/chats", ["im:chat:readonly"])

    done = _verify("--url", lark_url)

    assert done.returncode == 1
    assert "list_chats reached Lark, but the Lark app lacks a permission it needs" in done.stdout
    assert "im:chat:readonly" in done.stdout


def test_through_the_gateway_with_an_empty_secret(
    gateway_config: Callable[..., SmokeConfig],
) -> None:
    config = gateway_config()
    listing = run_smoke(config)
    assert listing.ok, listing.message

    read = run_read_check(config, listing.tools, fill_hint="Fill it (hint).")

    assert read.tool == f"{TARGET}___list_chats"
    assert not read.ok
    assert "the Lark app secret is not filled in" in read.message
    assert "Fill it (hint)." in read.message
    assert config.client_secret not in read.message


def test_a_read_team_may_call_a_read_tool_but_not_a_write_tool(
    gateway_config: Callable[..., SmokeConfig],
) -> None:
    config = gateway_config(
        client_id=READER.client_id,
        client_secret=READER.client_secret,
        scope=READ_SCOPE,
        expected_tools=tool_names(read_only=True),
    )
    listing = run_smoke(config)
    assert listing.ok, listing.message

    read = run_read_check(config, listing.tools, "list_calendars")
    assert read.tool == f"{TARGET}___list_calendars"
    assert "secret is not filled in" in read.message  # it reached the server

    write = run_read_check(config, listing.tools, "send_message")
    assert write.tool is None
    assert write.message == (
        "cannot make a read call: send_message is not among the listed tools "
        "(pick another with --call, or skip it with --no-call)"
    )


def test_the_tool_to_call() -> None:
    listed = ["lark___list_calendars", "lark___send_message"]
    assert pick_tool(listed, None, "lark") == "lark___list_calendars"  # list_chats not served
    assert pick_tool(["list_chats"], None, None) == "list_chats"
    assert pick_tool(listed, "lark___send_message", "lark") == "lark___send_message"
    assert pick_tool(listed, "get_document", "lark") is None


def test_stack_prefix_defaults_to_cdk_json(tmp_path) -> None:
    cdk_json = tmp_path / "cdk.json"
    assert verify.configured_stack_prefix(cdk_json) == "LarkMcp"  # no file
    cdk_json.write_text(json.dumps({"context": {"stackPrefix": "AcmeLark"}}))
    assert verify.configured_stack_prefix(cdk_json) == "AcmeLark"
    cdk_json.write_text("{not json")
    assert verify.configured_stack_prefix(cdk_json) == "LarkMcp"
