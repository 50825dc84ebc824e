"""The person's Lark token over its life: refreshed once however many calls race for it, in
one process or two sharing the store; a refresh Lark refuses, a bad caller JWT or a person
with no stored token end in the documented tool error, never in a call as the bot."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx2
import pytest

from lark_user_store import open_store
from tests.lark_fake import FakeLark
from tests.server.harness import ServerProcess, call, error_text, payload, run_server

from .conftest import OAUTH_TOKEN_PATH, Person, bot_calls, refreshes, user_env
from .issuer import LocalIssuer
from .test_as_user import as_user

SIGN_IN_AGAIN = "Sign in again"


def api_tokens(lark: FakeLark) -> set[str]:
    """The Authorization headers of the OpenAPI calls (not the token endpoint)."""
    return {
        r.headers.get("authorization", "")
        for r in lark.requests
        if r.path.startswith("/open-apis/") and r.path != OAUTH_TOKEN_PATH
    }


def burst(servers: list[ServerProcess], jwt: str, n: int, *, spread: float = 0.0) -> list[dict]:
    """`n` list_chats calls, spread over the servers: all at once, or started one every
    `spread` seconds (so that new calls keep arriving while earlier ones retry)."""
    with ThreadPoolExecutor(max_workers=n) as pool:
        futures = []
        for i in range(n):
            server = servers[i % len(servers)]
            futures.append(pool.submit(call, server, "list_chats", {}, headers=as_user(jwt)))
            time.sleep(spread)
        return [f.result() for f in futures]


@pytest.mark.parametrize("left", [60, 0], ids=["about-to-expire", "expired"])
def test_twenty_concurrent_calls_make_one_refresh_and_all_succeed(
    server: ServerProcess, lark: FakeLark, person: Person, store_url: str, left: int
):
    jwt, old = person("ou_alice", access_ttl=left)
    lark.inject(path=OAUTH_TOKEN_PATH, latency=0.3)  # every caller arrives while it runs
    results = burst([server], jwt, 20)
    assert all(payload(r)["chats"] for r in results)
    assert refreshes(lark) == [old.refresh_token]
    new = open_store(store_url).get("ou_alice")
    assert new.access_token != old.access_token and new.access_expires_at > time.time() + 7000
    assert new.refresh_token != old.refresh_token and not new.needs_reauth
    if left == 0:  # the old token was dead: every call waited for the new one
        assert api_tokens(lark) == {f"Bearer {new.access_token}"}
    assert bot_calls(lark) == []


def test_two_processes_sharing_the_store_refresh_once(
    server: ServerProcess,
    lark: FakeLark,
    person: Person,
    issuer: LocalIssuer,
    store_url: str,
):
    jwt, old = person("ou_bob", access_ttl=0)
    lark.inject(path=OAUTH_TOKEN_PATH, latency=0.3)
    with run_server(user_env(lark, issuer, store_url)) as second:
        results = burst([server, second], jwt, 20)
    assert all(payload(r)["chats"] for r in results)
    assert refreshes(lark) == [old.refresh_token]
    new = open_store(store_url).get("ou_bob")
    assert api_tokens(lark) == {f"Bearer {new.access_token}"}
    assert bot_calls(lark) == []


def test_a_reused_refresh_token_asks_the_person_to_sign_in_again(
    server: ServerProcess, lark: FakeLark, person: Person, store_url: str
):
    jwt, stored = person("ou_carol", access_ttl=0)
    # Someone else (a copy of the token elsewhere) already spent the refresh token.
    spent = httpx2.post(
        lark.base_url + OAUTH_TOKEN_PATH,
        json={
            "grant_type": "refresh_token",
            "client_id": lark.app_id,
            "client_secret": lark.app_secret,
            "refresh_token": stored.refresh_token,
        },
    )
    assert spent.status_code == 200
    lark.requests.clear()
    text = error_text(call(server, "list_chats", {}, headers=as_user(jwt)))
    assert "refused to renew your sign-in" in text and SIGN_IN_AGAIN in text
    assert open_store(store_url).get("ou_carol").needs_reauth
    # Later calls say the same without asking Lark again, and never run as the bot.
    text = error_text(call(server, "list_chats", {}, headers=as_user(jwt)))
    assert SIGN_IN_AGAIN in text
    assert [r.path for r in lark.requests] == [OAUTH_TOKEN_PATH]
    assert bot_calls(lark) == []
    assert server.tool_logs("list_chats")[-1]["status"] == "sign_in_required"


def test_a_refresh_with_wrong_app_credentials_is_the_administrators_not_a_sign_out(
    lark: FakeLark, person: Person, issuer: LocalIssuer, store_url: str
):
    jwt, stored = person("ou_dave", access_ttl=0)
    env = user_env(lark, issuer, store_url, LARK_APP_SECRET="not-the-app-secret")
    with run_server(env) as misconfigured:
        text = error_text(call(misconfigured, "list_chats", {}, headers=as_user(jwt)))
    assert "rejected the app credentials" in text and "administrator" in text
    assert SIGN_IN_AGAIN not in text
    assert open_store(store_url).get("ou_dave") == stored  # not marked, nothing rewritten
    assert bot_calls(lark) == []


def test_a_token_lark_rejects_is_renewed_once(
    server: ServerProcess, lark: FakeLark, person: Person, store_url: str
):
    jwt, old = person("ou_dave")
    lark.oauth.access[old.access_token].revoked = True  # Lark stops accepting it early
    assert payload(call(server, "list_chats", {}, headers=as_user(jwt)))["chats"]
    new = open_store(store_url).get("ou_dave")
    assert refreshes(lark) == [old.refresh_token]
    assert [
        r.headers["authorization"] for r in lark.requests if r.path == "/open-apis/im/v1/chats"
    ] == [
        f"Bearer {old.access_token}",
        f"Bearer {new.access_token}",
    ]
    assert bot_calls(lark) == []


def test_a_person_with_no_stored_token_is_told_to_sign_in(
    server: ServerProcess, lark: FakeLark, issuer: LocalIssuer
):
    text = error_text(call(server, "list_chats", {}, headers=as_user(issuer.token("ou_nobody"))))
    assert "not signed in" in text and SIGN_IN_AGAIN in text
    assert lark.requests == []


def _bad_tokens(issuer: LocalIssuer) -> dict[str, str]:
    return {
        "forged": issuer.token("ou_alice", key=LocalIssuer.stranger_key()),
        "expired": issuer.token("ou_alice", lifetime=-600),
        "other client": issuer.token("ou_alice", client_id="someone-else"),
        "other issuer": issuer.token("ou_alice", issuer="https://evil.example"),
        "other audience": issuer.token("ou_alice", aud="https://evil.example/mcp"),
        "no audience": issuer.token("ou_alice", aud=None),
        "not a JWT": "definitely-not-a-jwt",
        "empty": "",
    }


@pytest.mark.parametrize(
    "kind",
    [
        "forged",
        "expired",
        "other client",
        "other issuer",
        "other audience",
        "no audience",
        "not a JWT",
        "empty",
    ],
)
def test_a_bad_caller_jwt_is_refused_and_never_runs_as_the_bot(
    server: ServerProcess, lark: FakeLark, person: Person, issuer: LocalIssuer, kind: str
):
    person("ou_alice")  # the person exists and is signed in: only the JWT is wrong
    lark.requests.clear()
    jwt = _bad_tokens(issuer)[kind]
    text = error_text(call(server, "list_chats", {}, headers=as_user(jwt)))
    assert "could not be verified" in text and SIGN_IN_AGAIN in text
    assert lark.requests == []
    line = server.tool_logs("list_chats")[-1]
    assert line["as"] == "user" and line["status"] == "sign_in_required"
    if jwt:
        assert jwt not in server.output()


def test_a_signed_in_request_to_a_server_without_user_auth_is_refused(
    lark: FakeLark, issuer: LocalIssuer
):
    from tests.server.harness import server_env

    with run_server(server_env(lark.base_url)) as plain:
        text = error_text(call(plain, "list_chats", {}, headers=as_user(issuer.token("ou_alice"))))
        assert "not set up to act as a signed-in person" in text
        assert payload(call(plain, "list_chats", {}))["chats"]  # the bot still works
    assert [r.path for r in lark.requests if r.path.startswith("/open-apis/im/")] == [
        "/open-apis/im/v1/chats"
    ]


@pytest.mark.parametrize("left", [7200, 120], ids=["hours-left", "refresh-due"])
def test_a_token_lark_rejects_early_is_never_handed_out_again_across_processes(
    server: ServerProcess,
    lark: FakeLark,
    person: Person,
    issuer: LocalIssuer,
    store_url: str,
    left: int,
):
    """Lark stops accepting a token our clock still calls usable (revoked or expired early)
    while 20 calls race over two processes: whichever process holds the refresh lease, no call
    gets the rejected token back; all succeed on the one renewed token."""
    jwt, old = person("ou_erin", access_ttl=left)
    lark.oauth.access[old.access_token].revoked = True
    lark.inject(path=OAUTH_TOKEN_PATH, latency=0.5)  # the refresh is still running as calls retry
    with run_server(user_env(lark, issuer, store_url)) as second:
        results = burst([server, second], jwt, 20, spread=0.02)
        assert second.alive()
    failures = [error_text(r) for r in results if r.get("isError")]
    assert failures == []
    assert all(payload(r)["chats"] for r in results)
    assert refreshes(lark) == [old.refresh_token]
    new = open_store(store_url).get("ou_erin")
    sent = [r.headers["authorization"] for r in lark.requests if r.path == "/open-apis/im/v1/chats"]
    # Each call tried the old token at most once, then only the renewed one.
    assert set(sent) <= {f"Bearer {old.access_token}", f"Bearer {new.access_token}"}
    assert sent.count(f"Bearer {old.access_token}") <= 20
    assert sent.count(f"Bearer {new.access_token}") == 20
    assert bot_calls(lark) == []
