"""Lark misbehaving: rate limits, 5xx (also after the write was stored), revoked tokens,
missing scopes, a slow Lark, a burst of calls at start. No write is lost or duplicated, and
the server keeps serving."""

from __future__ import annotations

import asyncio
import re

import httpx2
from mcp.client import Client

from lark_mcp_server.config import Settings
from lark_mcp_server.server import build_server
from tests.lark_fake import FakeLark, run_fake_lark

from .harness import ACCEPT, ServerProcess, call, error_text, payload, run_server, server_env

MESSAGES = "/open-apis/im/v1/messages"


def test_fifty_calls_right_after_start_fetch_the_token_once(fresh_lark: FakeLark):
    with run_server(server_env(fresh_lark.base_url)) as server:

        async def burst() -> list[httpx2.Response]:
            async with httpx2.AsyncClient(timeout=60) as client:
                return await asyncio.gather(
                    *(
                        client.post(
                            server.mcp_url,
                            json={
                                "jsonrpc": "2.0",
                                "id": i,
                                "method": "tools/call",
                                "params": {"name": "list_chats", "arguments": {"page_size": 1}},
                            },
                            headers={"Accept": ACCEPT},
                        )
                        for i in range(50)
                    )
                )

        responses = asyncio.run(burst())
        assert all(r.status_code == 200 for r in responses)
        assert all(not r.json()["result"].get("isError") for r in responses)
        assert fresh_lark.token_fetches == 1
        assert len(server.tool_logs("list_chats")) == 50


def test_writes_survive_429_and_5xx_without_duplicates(server: ServerProcess, lark: FakeLark):
    chat_id = lark.chats[0]["chat_id"]
    calendar = lark.events[0]["organizer_calendar_id"]
    lark.inject(path=MESSAGES, methods=("POST",), rate_429=0.3, rate_5xx=0.3, after_commit=True)
    lark.inject(
        path=f"/open-apis/calendar/v4/calendars/{calendar}/events",
        methods=("POST",),
        rate_429=0.3,
        rate_5xx=0.3,
        after_commit=True,
    )
    texts = [f"status update {i}" for i in range(12)]
    for text in texts:
        payload(call(server, "send_message", {"receive_id": chat_id, "text": text}))
    for i in range(6):
        payload(
            call(
                server,
                "create_event",
                {
                    "calendar_id": calendar,
                    "summary": f"sync {i}",
                    "start_time": f"2026-12-0{i + 1}T10:00:00+08:00",
                    "end_time": f"2026-12-0{i + 1}T11:00:00+08:00",
                },
            )
        )
    sent = [m["body"]["content"] for m in lark.writes("message")]
    assert sorted(sent) == sorted(f'{{"text": "{t}"}}' for t in texts)
    assert sorted(e["summary"] for e in lark.writes("event")) == [f"sync {i}" for i in range(6)]
    posts = [r for r in lark.requests if r.method == "POST" and r.path == MESSAGES]
    assert len(posts) > len(texts), "the faults never fired: the test proves nothing"
    assert any(r.status == 429 for r in posts) and any(r.status >= 500 for r in posts)
    # Every retry of one call reused that call's uuid.
    assert len({r.json["uuid"] for r in posts}) == len(texts)
    retried = [line for line in server.tool_logs("send_message") if line["attempts"] > 1]
    assert retried


def test_reads_survive_faults(server: ServerProcess, lark: FakeLark):
    lark.inject(path="/open-apis/im/v1/chats", rate_429=0.3, rate_5xx=0.3)
    for _ in range(5):
        assert payload(call(server, "list_chats", {}))["chats"]


def test_write_without_idempotency_key_is_not_repeated_after_5xx(
    server: ServerProcess, lark: FakeLark
):
    lark.inject(
        path="/open-apis/docx/v1/documents", methods=("POST",), rate_5xx=1.0, after_commit=True
    )
    text = error_text(call(server, "create_document", {"title": "Quarterly review"}))
    assert "may or may not have taken effect" in text
    assert len(lark.writes("document")) == 1  # stored once by Lark, never twice by a retry


def test_write_without_key_is_retried_after_a_rate_limit(server: ServerProcess, lark: FakeLark):
    lark.inject(path="/open-apis/docx/v1/documents", methods=("POST",), rate_429=0.5)
    for i in range(4):
        payload(call(server, "create_document", {"title": f"doc {i}"}))
    assert sorted(d["title"] for d in lark.writes("document")) == [f"doc {i}" for i in range(4)]


def test_revoked_token_is_refetched_once_and_the_call_retried(
    server: ServerProcess, lark: FakeLark
):
    payload(call(server, "list_chats", {}))
    fetches = lark.token_fetches
    lark.revoke_tokens()
    payload(call(server, "list_chats", {}))
    assert lark.token_fetches == fetches + 1
    codes = [r.code for r in lark.requests if r.path == "/open-apis/im/v1/chats"]
    assert codes[-2:] == [99991663, 0]


def test_missing_scope_names_the_scopes_and_what_to_do(server: ServerProcess, lark: FakeLark):
    lark.deny(MESSAGES, ["im:message", "im:message:send_as_bot"])
    text = error_text(
        call(server, "send_message", {"receive_id": lark.chats[0]["chat_id"], "text": "x"})
    )
    assert "99991672" in text
    assert "im:message" in text and "im:message:send_as_bot" in text
    assert "developer console" in text
    assert lark.writes("message") == []


def test_other_lark_errors_carry_code_and_msg(server: ServerProcess, lark: FakeLark):
    text = error_text(call(server, "send_message", {"receive_id": "oc_nope", "text": "x"}))
    assert re.search(r"Lark error 230001 on /open-apis/im/v1/messages: .*invalid", text)


def test_a_call_ends_within_its_deadline(fresh_lark: FakeLark):
    env = server_env(fresh_lark.base_url, LARK_CALL_DEADLINE_SECONDS="1")
    with run_server(env) as server:
        fresh_lark.inject(path="/open-apis/im/v1/chats", rate_5xx=1.0)
        text = error_text(call(server, "list_chats", {}))
        assert "within 1 s" in text and "HTTP 5" in text
        fresh_lark.clear_faults()
        fresh_lark.inject(path="/open-apis/im/v1/chats", latency=2.0)
        text = error_text(call(server, "list_chats", {}))
        assert "within 1 s" in text
        fresh_lark.clear_faults()
        assert payload(call(server, "list_chats", {}))["chats"]


def test_logs_are_json_lines_per_call_without_secrets(server: ServerProcess, lark: FakeLark):
    lark.revoke_tokens()
    payload(call(server, "list_chats", {}))
    lines = server.tool_logs()
    assert lines
    for line in lines:
        assert {"tool", "status", "endpoints", "attempts", "duration_ms"} <= set(line)
    last = server.tool_logs("list_chats")[-1]
    assert last["status"] == "ok" and last["endpoints"] == ["GET /open-apis/im/v1/chats"]
    output = server.output()
    assert lark.app_secret not in output
    assert "Bearer" not in output and "authorization" not in output.lower()
    for token in lark._tokens:
        assert token not in output
    assert re.search(r"\bt-[0-9a-f]{20,}", output) is None


def test_token_is_refreshed_shortly_before_it_expires():
    """A 2 s token is used for its first second, then fetched again before Lark drops it."""

    async def calls(base_url: str) -> None:
        server = build_server(
            Settings(lark_domain=base_url, app_id="cli_fake_app", app_secret="fake-secret")
        )
        async with Client(server) as client:
            for pause in (0, 0, 1.2, 0):
                await asyncio.sleep(pause)
                result = await client.call_tool("list_chats", {"page_size": 1})
                assert not result.is_error, result.content[0].text

    with run_fake_lark(FakeLark(token_ttl=2)) as short_lived:
        asyncio.run(calls(short_lived.base_url))
        assert short_lived.token_fetches == 2
        assert all(r.code != 99991663 for r in short_lived.requests)
