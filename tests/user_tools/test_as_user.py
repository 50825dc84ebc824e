"""Tool calls that carry a caller JWT run as that person, with their Lark token, or not at all.

Real server process, real HTTP on loopback: the fake Lark's request log shows which token each
call carried; a request with a tenant token (`t-...`) after a signed-in call would be a silent
fall back to the bot.
"""

from __future__ import annotations

import json

import pytest

from lark_mcp_server.caller_jwt import CALLER_JWT_HEADER
from mcp_constructs.manifest import load_manifest
from tests.lark_fake import FakeLark
from tests.server.harness import ServerProcess, call, error_text, payload

from .conftest import Person, bot_calls
from .issuer import LocalIssuer

WINDOW = {"start_time": "2026-11-23T00:00:00+08:00", "end_time": "2026-11-30T00:00:00+08:00"}


def as_user(jwt: str) -> dict[str, str]:
    return {CALLER_JWT_HEADER: jwt}


def auth_headers(lark: FakeLark, path_prefix: str) -> set[str]:
    return {
        r.headers.get("authorization", "") for r in lark.requests if r.path.startswith(path_prefix)
    }


def test_a_signed_in_call_reaches_lark_with_that_persons_token(
    server: ServerProcess, lark: FakeLark, person: Person
):
    jwt, alice = person("ou_alice")
    _, bob = person("ou_bob")
    result = call(server, "list_chats", {}, headers=as_user(jwt))
    assert payload(result)["chats"]
    assert auth_headers(lark, "/open-apis/im/") == {f"Bearer {alice.access_token}"}
    assert bob.access_token not in json.dumps([r.headers for r in lark.requests])
    assert bot_calls(lark) == []
    line = server.tool_logs("list_chats")[-1]
    assert line["as"] == "user" and line["open_id"] == "ou_alice" and line["status"] == "ok"
    # Never a token or the JWT in the log.
    output = server.output()
    for secret in (jwt, alice.access_token, alice.refresh_token, bob.access_token):
        assert secret and secret not in output


def test_without_the_header_the_bot_answers_as_before(server: ServerProcess, lark: FakeLark):
    result = call(server, "list_chats", {})
    assert payload(result)["chats"]
    headers = auth_headers(lark, "/open-apis/im/")
    assert len(headers) == 1 and next(iter(headers)).startswith("Bearer t-")
    assert server.tool_logs("list_chats")[-1]["as"] == "bot"
    assert "open_id" not in server.tool_logs("list_chats")[-1]


def test_list_events_defaults_to_the_persons_primary_calendar(
    server: ServerProcess, lark: FakeLark, person: Person
):
    jwt, _ = person("ou_carol")
    result = payload(call(server, "list_events", WINDOW, headers=as_user(jwt)))
    assert result["calendar_id"] == lark.user("ou_carol")["primary_calendar_id"]
    first, *rest = [r.path for r in lark.requests]
    assert first == "/open-apis/calendar/v4/calendars/primary"
    events = f"/open-apis/calendar/v4/calendars/{result['calendar_id']}/events"
    assert rest and all(path.startswith(events) for path in rest)
    # As the bot there is no "my" calendar: the id stays required, Lark is not called.
    lark.requests.clear()
    text = error_text(call(server, "list_events", WINDOW))
    assert "calendar_id is required" in text
    assert lark.requests == []


def test_messages_are_sent_as_the_person(server: ServerProcess, lark: FakeLark, person: Person):
    jwt, dave = person("ou_dave")
    call(server, "send_message", {"receive_id": "oc_general", "text": "hi"}, headers=as_user(jwt))
    [sent] = [r for r in lark.requests if r.path == "/open-apis/im/v1/messages"]
    assert sent.headers["authorization"] == f"Bearer {dave.access_token}"
    assert bot_calls(lark) == []


def test_search_documents_and_my_tasks_answer_for_the_person(
    server: ServerProcess, lark: FakeLark, person: Person
):
    jwt, alice = person("ou_alice")
    found = payload(call(server, "search_documents", {"query": "Project"}, headers=as_user(jwt)))
    assert [d["title"] for d in found["documents"]] == ["Project Plan"]
    assert found["documents"][0]["token"] == "doxProjectPlan"
    tasks = payload(call(server, "list_my_tasks", {}, headers=as_user(jwt)))["tasks"]
    # Alice's one seeded task ("Prepare launch slides"), by its GUID.
    assert [t["task_guid"] for t in tasks] == ["5e3a7c10-6f2b-4c1d-9a8e-000000000001"]
    assert auth_headers(lark, "/open-apis/") == {f"Bearer {alice.access_token}"}


@pytest.mark.parametrize("tool,args", [("search_documents", {"query": "x"}), ("list_my_tasks", {})])
def test_user_only_tools_through_the_bot_point_to_the_signed_in_integration(
    server: ServerProcess, lark: FakeLark, tool: str, args: dict
):
    text = error_text(call(server, tool, args))
    assert "signed-in person" in text and "Lark as me" in text
    assert lark.requests == []
    assert server.tool_logs(tool)[-1]["as"] == "bot"


def test_manifest_marks_exactly_the_user_only_tools(server: ServerProcess):
    from lark_mcp_server.server import all_tools

    needs_user = {t.name for t in all_tools() if t.needs_user}
    assert needs_user == {
        "search_documents",
        "list_my_tasks",
        "list_approval_tasks",
        "approve_task",
        "reject_task",
    }
    assert {t.name for t in load_manifest() if t.needs_user} == needs_user


def test_find_users_runs_with_the_app_token_after_verifying_the_person(
    server: ServerProcess, lark: FakeLark, person: Person
):
    """Lark serves batch_get_id to the app's token only; the log says so."""
    jwt, _ = person("ou_erin")
    users = payload(
        call(server, "find_users", {"emails": ["bob@example.com"]}, headers=as_user(jwt))
    )
    assert users["users"][0]["open_id"] == "ou_bob"
    line = server.tool_logs("find_users")[-1]
    assert line["as"] == "user" and line["open_id"] == "ou_erin" and line["token"] == "app"
    bad = error_text(call(server, "find_users", {"emails": ["x@y.z"]}, headers=as_user("nope")))
    assert "sign in again" in bad.lower()


def test_a_missing_user_scope_names_it_and_says_to_sign_in_again(
    server: ServerProcess, lark: FakeLark, person: Person
):
    jwt, _ = person("ou_bob")
    lark.deny("/open-apis/im/v1/chats", ["im:chat:readonly"])
    text = error_text(call(server, "list_chats", {}, headers=as_user(jwt)))
    assert "im:chat:readonly" in text
    assert "Sign in again" in text and "reconnect the Lark integration in your client" in text
    assert "Quick Suite" not in text
    assert bot_calls(lark) == []


def test_jwks_is_fetched_once_and_cached(
    server: ServerProcess, lark: FakeLark, person: Person, issuer: LocalIssuer
):
    jwt, _ = person("ou_frank")
    call(server, "list_chats", {}, headers=as_user(jwt))
    before = issuer.jwks_fetches
    for _ in range(3):
        call(server, "list_chats", {}, headers=as_user(person("ou_frank")[0]))
    assert issuer.jwks_fetches == before
