"""End to end on loopback, as Quick Suite's "Lark as me" integration would run it: a person
signs in (Authlib's OAuth client, our authorization server, the fake Feishu consent page),
then calls tools through the user-gateway stand-in (CUSTOM_JWT on our issuer + the interceptor
copying the JWT into the caller-JWT header) to the real MCP server process, which reaches the
fake Lark with *that person's* Lark token, refreshing it when it runs out.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import pytest

from lark_user_store import open_store
from tests.lark_fake import FakeLark
from tests.server.harness import ServerProcess, run_server
from tests.user_auth.harness import (
    AuthServerProcess,
    call_tool,
    serve_user_gateway,
    start_auth_server,
    start_sign_in,
    user_server_env,
)

from .conftest import bot_calls, refreshes


@pytest.fixture(scope="module")
def auth_server(
    lark_fake: FakeLark, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AuthServerProcess]:
    workdir = tmp_path_factory.mktemp("auth-e2e")
    with start_auth_server(
        lark_fake.base_url, lark_fake.app_id, lark_fake.app_secret, workdir
    ) as server:
        yield server


@pytest.fixture(scope="module")
def runtime(lark_fake: FakeLark, auth_server: AuthServerProcess) -> Iterator[ServerProcess]:
    with run_server(user_server_env(lark_fake, auth_server)) as process:
        yield process


@pytest.fixture(scope="module")
def gateway(auth_server: AuthServerProcess, runtime: ServerProcess) -> Iterator[str]:
    with serve_user_gateway(auth_server, runtime) as url:
        yield url


def test_a_person_signs_in_and_their_tool_calls_carry_their_lark_token(
    fresh_lark: FakeLark, auth_server: AuthServerProcess, runtime: ServerProcess, gateway: str
):
    lark = fresh_lark
    lark.oauth.signed_in = "ou_bob"
    sign_in = start_sign_in(auth_server.base)
    jwt = sign_in.fetch(f"{auth_server.base}/token")["access_token"]
    bob = open_store(auth_server.store_url).get("ou_bob")
    lark.requests.clear()

    result = call_tool(gateway, jwt, "list_my_tasks", {})
    assert not result.get("isError"), result
    [listed] = [r for r in lark.requests if r.path == "/open-apis/task/v2/tasks"]
    assert listed.headers["authorization"] == f"Bearer {bob.access_token}"
    assert listed.open_id == "ou_bob"

    sent = call_tool(gateway, jwt, "send_message", {"receive_id": "oc_general", "text": "from Bob"})
    assert not sent.get("isError"), sent
    [message] = [r for r in lark.requests if r.path == "/open-apis/im/v1/messages"]
    assert message.open_id == "ou_bob"
    assert bot_calls(lark) == []
    line = runtime.tool_logs("send_message")[-1]
    assert line["as"] == "user" and line["open_id"] == "ou_bob"

    # Two hours later Lark's token has run out: the next call refreshes it once and goes on.
    store = open_store(auth_server.store_url)
    current = store.get("ou_bob")
    store.replace(current, dataclasses.replace(current, access_expires_at=0.0))
    lark.requests.clear()
    again = call_tool(gateway, jwt, "list_chats", {})
    assert not again.get("isError"), again
    assert refreshes(lark) == [current.refresh_token]
    renewed = store.get("ou_bob")
    assert renewed.access_token != current.access_token
    [chats] = [r for r in lark.requests if r.path == "/open-apis/im/v1/chats"]
    assert chats.headers["authorization"] == f"Bearer {renewed.access_token}"
    assert json.loads(again["content"][0]["text"])["chats"]
    assert bot_calls(lark) == []
