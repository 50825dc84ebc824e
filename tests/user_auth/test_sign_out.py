"""`make sign-out USER=...` end to end on loopback: a person signed in through the chain (our
authorization server, the gateway stand-in, the real MCP server, the fake Lark) is signed out
by an administrator; their refresh tokens stop working and their next tool call asks them to
sign in again. A later sign-in works as before."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
import requests

from lark_user_store import open_store
from tests.lark_fake import FakeLark
from tests.server.harness import error_text, run_server

from .harness import (
    CLIENTS,
    REPO,
    AuthServerProcess,
    call_tool,
    serve_user_gateway,
    start_auth_server,
    start_sign_in,
    user_server_env,
)


@pytest.fixture(scope="module")
def chain(
    lark_fake: FakeLark, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[AuthServerProcess, str]]:
    workdir = tmp_path_factory.mktemp("sign-out")
    with (
        start_auth_server(
            lark_fake.base_url, lark_fake.app_id, lark_fake.app_secret, workdir
        ) as auth,
        run_server(user_server_env(lark_fake, auth)) as runtime,
        serve_user_gateway(auth, runtime) as gateway,
    ):
        yield auth, gateway


def _list_chats(gateway: str, token: str) -> dict:
    return call_tool(gateway, token, "list_chats", {})


def _refresh(auth: AuthServerProcess, refresh_token: str) -> requests.Response:
    conf = CLIENTS[0]
    return requests.post(
        f"{auth.base}/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(conf["client_id"], conf["client_secret"]),
        timeout=10,
    )


def _sign_out(auth: AuthServerProcess, lark: FakeLark, user: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", "-o", "setup", "sign-out", f"USER={user}"],
        cwd=REPO,
        env={
            **{k: v for k, v in __import__("os").environ.items() if not k.startswith("LARK_")},
            "USER_TOKEN_STORE": auth.store_url,
            "LARK_DOMAIN": lark.base_url,
            "LARK_APP_ID": lark.app_id,
            "LARK_APP_SECRET": lark.app_secret,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("user", ["ou_alice", "alice@example.com"])
def test_an_administrator_signs_a_person_out_everywhere(
    lark: FakeLark, chain: tuple[AuthServerProcess, str], user: str
):
    auth, gateway = chain
    iss = auth.base
    first = start_sign_in(iss).fetch(f"{iss}/token")
    second = start_sign_in(iss).fetch(f"{iss}/token")  # another client session of hers
    assert not _list_chats(gateway, first["access_token"]).get("isError")

    done = _sign_out(auth, lark, user)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Signed out ou_alice (Alice Wang): their stored Lark tokens deleted" in done.stdout
    assert open_store(auth.store_url).get("ou_alice") is None

    # Every refresh token of ours is dead; the access token still verifies but carries no
    # Lark sign-in: the tool call asks the person to sign in again, it does not run as the bot.
    for token in (first, second):
        refused = _refresh(auth, token["refresh_token"])
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    result = _list_chats(gateway, first["access_token"])
    assert result.get("isError") and "reconnect the Lark integration" in error_text(result)

    # Signing in again afterwards works as before.
    again = start_sign_in(iss).fetch(f"{iss}/token")
    assert not _list_chats(gateway, again["access_token"]).get("isError")
    assert _refresh(auth, again["refresh_token"]).status_code == 200


def test_sign_out_names_what_is_missing(lark: FakeLark, chain: tuple[AuthServerProcess, str]):
    auth, _ = chain
    done = subprocess.run(
        ["make", "--no-print-directory", "-o", "setup", "sign-out", "USER=nobody@example.com"],
        cwd=REPO,
        env={
            **{k: v for k, v in __import__("os").environ.items() if not k.startswith("LARK_")},
            "USER_TOKEN_STORE": auth.store_url,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "resolving it needs the Lark app's credentials" in done.stderr
    missing = subprocess.run(
        ["make", "--no-print-directory", "-o", "setup", "sign-out"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode != 0 and "give USER=<open_id or email>" in missing.stderr
