"""Every tool against the fake Lark, over bare HTTP to the real server process."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.lark_fake import FakeLark

from .harness import ServerProcess, call, error_text, payload

CST = dt.timezone(dt.timedelta(hours=8))


def _iso(seconds: str | int, tz: dt.tzinfo = CST) -> str:
    return dt.datetime.fromtimestamp(int(seconds), tz).isoformat()


def test_send_message_to_chat(server: ServerProcess, lark: FakeLark):
    chat = lark.chats[1]
    result = payload(call(server, "send_message", {"receive_id": chat["chat_id"], "text": "hi"}))
    [written] = lark.writes("message")
    assert written["chat_id"] == chat["chat_id"]
    assert json.loads(written["body"]["content"]) == {"text": "hi"}
    assert result["message_id"] == written["message_id"]
    # Nothing the request already said: not the text, not the chat it was sent to.
    assert set(result) == {"message_id", "time"}
    assert result["time"].endswith("+00:00")
    [sent] = [r for r in lark.requests if r.path == "/open-apis/im/v1/messages"]
    assert sent.query["receive_id_type"] == "chat_id" and sent.json["uuid"]


def test_send_message_to_user_by_email(server: ServerProcess, lark: FakeLark):
    user = lark.users[2]
    payload(
        call(
            server,
            "send_message",
            {"receive_id": user["email"], "receive_id_type": "email", "text": "hello"},
        )
    )
    [sent] = [r for r in lark.requests if r.path == "/open-apis/im/v1/messages"]
    assert sent.query["receive_id_type"] == "email"
    assert len(lark.writes("message")) == 1


def test_reply_message(server: ServerProcess, lark: FakeLark):
    parent = lark.messages[0]
    result = payload(
        call(server, "reply_message", {"message_id": parent["message_id"], "text": "on it"})
    )
    [written] = lark.writes("message")
    assert written["parent_id"] == parent["message_id"]
    assert result["chat_id"] == parent["chat_id"]


def test_list_chats_pages_through_everything(server: ServerProcess, lark: FakeLark):
    seen, token, pages = [], None, 0
    while True:
        args = {"page_size": 2} | ({"page_token": token} if token else {})
        result = payload(call(server, "list_chats", args))
        seen += [c["chat_id"] for c in result["chats"]]
        pages += 1
        if not result["has_more"]:
            assert "page_token" not in result
            break
        token = result["page_token"]
    assert seen == [c["chat_id"] for c in lark.chats]
    assert pages == -(-len(lark.chats) // 2)


def test_list_messages_reads_text_and_post_bodies_newest_first(
    server: ServerProcess, lark: FakeLark
):
    chat_id = next(m for m in lark.messages if m["msg_type"] == "post")["chat_id"]
    in_chat = [m for m in lark.messages if m["chat_id"] == chat_id]
    result = payload(call(server, "list_messages", {"chat_id": chat_id, "page_size": 50}))
    got = result["messages"]
    assert {m["message_id"] for m in got} == {m["message_id"] for m in in_chat}
    times = [m["time"] for m in got]
    assert times == sorted(times, reverse=True)
    by_id = {m["message_id"]: m for m in got}
    kinds = set()
    for seeded in in_chat:
        body = json.loads(seeded["body"]["content"])
        text = by_id[seeded["message_id"]]["text"]
        kinds.add(seeded["msg_type"])
        if seeded["msg_type"] == "text":
            assert text == body["text"]
        elif seeded["msg_type"] == "post":
            assert text.splitlines()[0] == body["title"]
            for paragraph in body["content"]:
                for element in paragraph:
                    if element["tag"] in ("text", "a"):
                        assert element["text"] in text
                    elif element["tag"] == "at":
                        assert "@" + element["user_name"] in text
            assert "{" not in text and "tag" not in text
        else:
            assert text == f"[{seeded['msg_type']}]"
    assert {"text", "post"} <= kinds


def test_list_messages_time_window_in_callers_offset(server: ServerProcess, lark: FakeLark):
    chat_id = lark.messages[0]["chat_id"]
    stamps = sorted(int(m["create_time"]) // 1000 for m in lark.messages if m["chat_id"] == chat_id)
    lo, hi = stamps[1], stamps[-2]
    result = payload(
        call(
            server,
            "list_messages",
            {"chat_id": chat_id, "start_time": _iso(lo), "end_time": _iso(hi)},
        )
    )
    [sent] = [r for r in lark.requests if r.path == "/open-apis/im/v1/messages"]
    assert (sent.query["start_time"], sent.query["end_time"]) == (str(lo), str(hi))
    assert sent.query["container_id_type"] == "chat"
    assert all(m["time"].endswith("+08:00") for m in result["messages"])
    assert len(result["messages"]) == len([s for s in stamps if lo <= s <= hi])


def test_create_document_with_content(server: ServerProcess, lark: FakeLark):
    content = "# Plan\nFirst paragraph\n- a bullet\n1. a step\n\nLast line"
    result = payload(call(server, "create_document", {"title": "Launch notes", "content": content}))
    [doc] = lark.writes("document")
    assert result == {"document_id": doc["document_id"], "title": "Launch notes", "blocks_added": 5}
    blocks = lark.documents[doc["document_id"]]["blocks"]
    assert [b["block_type"] for b in blocks] == [3, 2, 12, 13, 2]
    text = payload(call(server, "get_document", {"document": doc["document_id"]}))["content"]
    assert "a bullet" in text and "Last line" in text


def test_get_document_by_id_url_and_wiki_url(server: ServerProcess, lark: FakeLark):
    doc_id, doc = next(iter(lark.documents.items()))
    by_id = payload(call(server, "get_document", {"document": doc_id}))
    assert by_id["document_id"] == doc_id
    assert doc["title"] in by_id["content"]
    by_url = payload(
        call(server, "get_document", {"document": f"https://acme.feishu.cn/docx/{doc_id}?from=x"})
    )
    assert by_url["content"] == by_id["content"]
    node = next(n for n in lark.wiki_nodes if n["obj_type"] == "docx")
    by_wiki = payload(
        call(
            server,
            "get_document",
            {"document": f"https://acme.larksuite.com/wiki/{node['node_token']}"},
        )
    )
    assert by_wiki["document_id"] == node["obj_token"]
    assert by_wiki["title"] == node["title"]


def test_get_document_not_found_is_a_tool_error(server: ServerProcess, lark: FakeLark):
    text = error_text(call(server, "get_document", {"document": "doxNoSuchDocument00"}))
    assert "1770002" in text and "not found" in text


def test_append_to_document(server: ServerProcess, lark: FakeLark):
    doc_id = next(iter(lark.documents))
    before = len(lark.documents[doc_id]["blocks"])
    result = payload(
        call(server, "append_to_document", {"document": doc_id, "content": "## Update\nShipped."})
    )
    assert result == {"document_id": doc_id, "blocks_added": 2}
    blocks = lark.documents[doc_id]["blocks"]
    assert (
        len(blocks) == before + 2
        and blocks[-1]["text"]["elements"][0]["text_run"]["content"] == "Shipped."
    )
    [sent] = [r for r in lark.requests if r.path.endswith("/children")]
    assert sent.query["client_token"] and sent.query["document_revision_id"] == "-1"


def test_append_many_lines_goes_in_batches_of_50(server: ServerProcess, lark: FakeLark):
    doc_id = next(iter(lark.documents))
    content = "\n".join(f"line {i}" for i in range(120))
    assert (
        payload(call(server, "append_to_document", {"document": doc_id, "content": content}))[
            "blocks_added"
        ]
        == 120
    )
    sent = [r for r in lark.requests if r.path.endswith("/children")]
    assert [len(r.json["children"]) for r in sent] == [50, 50, 20]
    assert len({r.query["client_token"] for r in sent}) == 3


def test_list_calendars(server: ServerProcess, lark: FakeLark):
    result = payload(call(server, "list_calendars", {}))
    assert [c["calendar_id"] for c in result["calendars"]] == [
        c["calendar_id"] for c in lark.calendars
    ]
    assert result["has_more"] is False
    assert {c["role"] for c in result["calendars"]} == {c["role"] for c in lark.calendars}


def test_list_events_in_window(server: ServerProcess, lark: FakeLark):
    first = lark.events[0]
    cal = first["organizer_calendar_id"]
    start = int(first["start_time"]["timestamp"])
    window = {"start_time": _iso(start - 60), "end_time": _iso(start + 36 * 3600)}
    result = payload(call(server, "list_events", {"calendar_id": cal, **window}))
    expected = [
        e
        for e in lark.events
        if e["organizer_calendar_id"] == cal
        and int(e["end_time"]["timestamp"]) > start - 60
        and int(e["start_time"]["timestamp"]) < start + 36 * 3600
    ]
    assert [e["event_id"] for e in result["events"]] == [e["event_id"] for e in expected]
    got = result["events"][0]
    assert got["start_time"] == _iso(first["start_time"]["timestamp"])
    assert got["summary"] == first["summary"]


def test_create_event_with_attendees(server: ServerProcess, lark: FakeLark):
    cal = lark.events[0]["organizer_calendar_id"]
    alice, bob = lark.users[0], lark.users[1]
    args = {
        "calendar_id": cal,
        "summary": "Launch sync",
        "start_time": "2026-12-02T10:00:00+08:00",
        "end_time": "2026-12-02T10:30:00+08:00",
        "description": "Agenda in the doc",
        "attendees": [alice["open_id"], "guest@partner.example"],
    }
    result = payload(call(server, "create_event", args))
    [event] = lark.writes("event")
    assert result["event_id"] == event["event_id"]
    assert event["start_time"]["timestamp"] == str(
        int(dt.datetime(2026, 12, 2, 10, tzinfo=CST).timestamp())
    )
    assert result["start_time"] == "2026-12-02T10:00:00+08:00"
    assert result["attendees"] == [alice["open_id"], "guest@partner.example"]
    invited = {a.get("user_id") or a.get("third_party_email") for a in lark.writes("attendee")}
    assert invited == {alice["open_id"], "guest@partner.example"}
    assert bob["open_id"] not in invited


def test_get_freebusy(server: ServerProcess, lark: FakeLark):
    alice = lark.users[0]
    result = payload(
        call(
            server,
            "get_freebusy",
            {
                "user_id": alice["open_id"],
                "start_time": "2026-11-24T00:00:00+08:00",
                "end_time": "2026-11-25T00:00:00+08:00",
            },
        )
    )
    assert result["busy"], result
    for span in result["busy"]:
        assert span["start_time"].endswith("+08:00") and span["start_time"] < span["end_time"]
    noon = "2026-11-24T12:00:00+08:00"
    assert any(s["start_time"] <= noon < s["end_time"] for s in result["busy"])


def test_find_users_by_email_and_mobile(server: ServerProcess, lark: FakeLark):
    alice, bob = lark.users[0], lark.users[1]
    result = payload(
        call(
            server,
            "find_users",
            {"emails": [alice["email"], "nobody@example.com"], "mobiles": [bob["mobile"]]},
        )
    )
    assert {"email": alice["email"], "open_id": alice["open_id"]} in result["users"]
    assert {"mobile": bob["mobile"], "open_id": bob["open_id"]} in result["users"]
    assert result["not_found"] == ["nobody@example.com"]


@pytest.mark.parametrize(
    ("tool", "arguments", "field"),
    [
        ("send_message", {"text": "no receiver"}, "receive_id"),
        ("send_message", {"receive_id": "oc_x", "text": ""}, "text"),
        (
            "send_message",
            {"receive_id": "oc_x", "text": "x", "receive_id_type": "phone"},
            "receive_id_type",
        ),
        ("list_chats", {"page_size": 0}, "page_size"),
        ("list_chats", {"page_size": "many"}, "page_size"),
        ("list_messages", {"chat_id": "oc_x", "start_time": "2026-11-24T10:00:00"}, "start_time"),
        (
            "list_events",
            {"calendar_id": "c", "start_time": "tomorrow", "end_time": "2026-11-24T10:00:00+08:00"},
            "start_time",
        ),
        (
            "create_event",
            {"calendar_id": "c", "summary": "s", "start_time": "2026-11-24T10:00:00+08:00"},
            "end_time",
        ),
        ("find_users", {"emails": "alice@example.com, bob"}, "emails"),
        ("get_document", {}, "document"),
    ],
)
def test_bad_arguments_never_reach_lark(
    server: ServerProcess, lark: FakeLark, tool: str, arguments: dict, field: str
):
    text = error_text(call(server, tool, arguments))
    assert field in text
    assert lark.requests == []


def test_time_without_offset_says_to_add_one(server: ServerProcess, lark: FakeLark):
    text = error_text(
        call(
            server,
            "get_freebusy",
            {
                "user_id": "ou_x",
                "start_time": "2026-11-24T10:00:00",
                "end_time": "2026-11-24T11:00:00+08:00",
            },
        )
    )
    assert "no UTC offset" in text and "+08:00" in text
    assert "errors.pydantic.dev" not in text
    assert lark.requests == []


@pytest.mark.parametrize(
    ("tool", "arguments", "says"),
    [
        ("find_users", {}, "at least one of emails or mobiles"),
        (
            "list_events",
            {
                "calendar_id": "c",
                "start_time": "2026-11-24T10:00:00+08:00",
                "end_time": "2026-11-24T09:00:00+08:00",
            },
            "is not after",
        ),
        ("get_document", {"document": "https://example.com/sheets/abc"}, "not a docx or wiki link"),
        ("append_to_document", {"document": "doxA1234567", "content": "\n\n"}, "no text"),
    ],
)
def test_semantic_argument_errors_never_reach_lark(
    server: ServerProcess, lark: FakeLark, tool: str, arguments: dict, says: str
):
    assert says in error_text(call(server, tool, arguments))
    assert lark.requests == []
