"""Sheets, document comments, event changes and people through the real server and the
official MCP client, against the fake Lark answering as Lark documents those APIs."""

from __future__ import annotations

import pytest

from tests.lark_fake import FakeLark
from tests.lark_fake.seed_more import BUDGET_SHEET, SPREADSHEET

from .conftest import Tools

pytestmark = pytest.mark.anyio

URL = f"https://acme.feishu.cn/sheets/{SPREADSHEET}"
EVENT = {"calendar_id": "cal_launch@group.calendar.feishu.cn"}


def _requests(lark: FakeLark, fragment: str) -> list:
    return [r for r in lark.requests if fragment in r.path]


# -- sheets -------------------------------------------------------------------------------------


async def test_list_sheets_by_token_or_url(tools: Tools, lark: FakeLark):
    by_token = await tools.ok("list_sheets", {"spreadsheet": SPREADSHEET})
    assert by_token == {
        "sheets": [
            {"sheet_id": BUDGET_SHEET, "title": "Budget", "rows": 200, "columns": 20},
            {"sheet_id": "Hd7c2A", "title": "Headcount", "rows": 50, "columns": 4},
            {"sheet_id": "Zz0Arc", "title": "Archive", "rows": 10, "columns": 3, "hidden": True},
        ]
    }
    assert await tools.ok("list_sheets", {"spreadsheet": URL}) == by_token
    [query] = _requests(lark, "/sheets/query")[-1:]
    assert query.path == f"/open-apis/sheets/v3/spreadsheets/{SPREADSHEET}/sheets/query"


async def test_read_sheet_range_rows_and_the_more_marker(tools: Tools, lark: FakeLark):
    head = await tools.ok("read_sheet_range", {"spreadsheet": SPREADSHEET, "range": "A1:G3"})
    assert head["range"] == f"{BUDGET_SHEET}!A1:G3" and head["has_more"] is False
    assert head["values"][0] == ["Item", "Team", "Owner", "Q1", "Q2", "Status", "Due"]
    # A mention cell reads as its text; numbers stay numbers.
    assert head["values"][1] == ["Budget line 01", "Frontend", "@Bob", 1250, 1200, "Approved",
                                 "2026/02/15"]  # fmt: skip
    [read] = _requests(lark, "/values/")[-1:]
    assert read.path.startswith(f"/open-apis/sheets/v2/spreadsheets/{SPREADSHEET}/values/")
    assert read.query == {
        "valueRenderOption": "UnformattedValue",
        "dateTimeRenderOption": "FormattedString",
    }
    # The cell cap: 7 columns x 3 rows fit 21 cells; the rest is named exactly.
    capped = await tools.ok(
        "read_sheet_range", {"spreadsheet": SPREADSHEET, "range": "A:G", "max_cells": 21}
    )
    assert len(capped["values"]) == 3 and capped["has_more"] is True
    assert capped["next_range"] == f"{BUDGET_SHEET}!A4:G200"
    rest = await tools.ok(
        "read_sheet_range",
        {"spreadsheet": SPREADSHEET, "range": capped["next_range"], "max_cells": 2000},
    )
    assert rest["values"][0][0] == "Budget line 03" and rest["has_more"] is False
    # By title, and by the URL's ?sheet=; trailing blank rows are not sent.
    by_title = await tools.ok(
        "read_sheet_range", {"spreadsheet": SPREADSHEET, "range": "Headcount!A1:B10"}
    )
    by_url = await tools.ok(
        "read_sheet_range", {"spreadsheet": f"{URL}?sheet=Hd7c2A", "range": "A1:B10"}
    )
    assert by_title == by_url
    assert by_title["values"] == [["Team", "People"], ["Backend", 6], ["Frontend", 4],
                                  ["Design", 2]]  # fmt: skip


@pytest.mark.parametrize(
    "args,expected",
    [
        ({"range": "C3:A1"}, "backwards"),
        ({"range": "Nope!A1:B2"}, "No sheet 'Nope'"),
        ({"range": "A1:ZZ1", "max_cells": 10}, "more than max_cells"),
        ({"range": "A1:B$2"}, "is not an A1 range"),
    ],
)
async def test_read_sheet_range_bad_ranges_say_what_is_wrong(
    tools: Tools, lark: FakeLark, args: dict, expected: str
):
    text = await tools.error("read_sheet_range", {"spreadsheet": SPREADSHEET, **args})
    assert expected in text
    assert not _requests(lark, "/values/")


async def test_write_sheet_range_from_a_first_cell(tools: Tools, lark: FakeLark):
    done = await tools.ok(
        "write_sheet_range",
        {"spreadsheet": SPREADSHEET, "range": "Headcount!C2", "values": [["Lead", 1.0], ["x"]]},
    )
    assert done == {"range": "Hd7c2A!C2:D3", "cells": 3}
    [write] = lark.writes("sheet_write")
    assert write["values"] == [["Lead", 1], ["x"]]
    [put] = [r for r in lark.requests if r.method == "PUT"]
    assert put.json == {"valueRange": {"range": "Hd7c2A!C2:D3", "values": [["Lead", 1], ["x"]]}}
    read = await tools.ok("read_sheet_range", {"spreadsheet": SPREADSHEET, "range": "Hd7c2A!C2:D3"})
    assert read["values"] == [["Lead", 1], ["x"]]
    # A formula goes as Lark's formula object.
    await tools.ok(
        "write_sheet_range",
        {"spreadsheet": SPREADSHEET, "range": "Hd7c2A!E1", "values": [["=SUM(B2:B4)"]]},
    )
    assert lark.writes("sheet_write")[-1]["values"] == [
        [{"type": "formula", "text": "=SUM(B2:B4)"}]
    ]
    too_small = await tools.error(
        "write_sheet_range",
        {"spreadsheet": SPREADSHEET, "range": "A1:A2", "values": [["a", "b"]]},
    )
    assert "do not fit" in too_small


async def test_append_sheet_rows_inserts_after_the_last_row(tools: Tools, lark: FakeLark):
    done = await tools.ok(
        "append_sheet_rows",
        {"spreadsheet": SPREADSHEET, "range": "Headcount!A:B", "values": [["Sales", 3]]},
    )
    assert done == {"range": "Hd7c2A!A5:B5", "rows": 1}
    [post] = _requests(lark, "/values_append")
    assert post.query == {"insertDataOption": "INSERT_ROWS"}
    assert post.json == {"valueRange": {"range": "Hd7c2A!A1:B1", "values": [["Sales", 3]]}}
    read = await tools.ok("read_sheet_range", {"spreadsheet": SPREADSHEET, "range": "Hd7c2A!A5:B5"})
    assert read["values"] == [["Sales", 3]]


async def test_append_is_never_sent_twice_after_an_ambiguous_failure(tools: Tools, lark: FakeLark):
    lark.inject(path="/open-apis/sheets/v2/", methods=("POST",), rate_5xx=1.0, after_commit=True)
    text = await tools.error(
        "append_sheet_rows", {"spreadsheet": SPREADSHEET, "range": "Hd7c2A!A:B", "values": [["x"]]}
    )
    assert "may or may not have taken effect" in text
    assert len(lark.writes("sheet_append")) == 1
    assert len(_requests(lark, "/values_append")) == 1


async def test_find_in_sheet(tools: Tools, lark: FakeLark):
    found = await tools.ok("find_in_sheet", {"spreadsheet": SPREADSHEET, "text": "design"})
    assert found["sheet_id"] == BUDGET_SHEET
    assert found["cells"] == ["B3", "B8", "B13", "B18"]
    [post] = _requests(lark, "/find")
    assert (
        post.path == f"/open-apis/sheets/v3/spreadsheets/{SPREADSHEET}/sheets/{BUDGET_SHEET}/find"
    )
    assert post.json["find"] == "design"
    assert post.json["find_condition"]["range"] == f"{BUDGET_SHEET}!A1:T200"
    exact = await tools.ok(
        "find_in_sheet",
        {"spreadsheet": SPREADSHEET, "text": "Backend", "range": "Headcount", "whole_cell": True},
    )
    assert exact == {"sheet_id": "Hd7c2A", "cells": ["A2"]}


# -- comments -----------------------------------------------------------------------------------


async def test_list_document_comments_with_replies_under_their_comment(
    tools: Tools, lark: FakeLark
):
    listed = await tools.ok(
        "list_document_comments", {"document": "https://acme.feishu.cn/docx/doxProjectPlan"}
    )
    first, second = listed["comments"]
    assert first == {
        "comment_id": "6916106822734578184",
        "by": "ou_bob",
        "time": "2026-11-21T02:00:00+00:00",
        "text": "Can we move the launch?",
        "replies": [
            {"by": "ou_alice", "time": "2026-11-21T02:10:00+00:00", "text": "Yes, to January."}
        ],
    }
    assert second["quote"] == "Milestones" and second["solved"] is True
    [get] = _requests(lark, "/comments")
    assert get.query == {"file_type": "docx", "user_id_type": "open_id", "page_size": "20"}
    open_only = await tools.ok(
        "list_document_comments", {"document": "doxProjectPlan", "solved": False}
    )
    assert [c["comment_id"] for c in open_only["comments"]] == ["6916106822734578184"]


async def test_add_document_comment_is_a_whole_document_comment(tools: Tools, lark: FakeLark):
    added = await tools.ok(
        "add_document_comment", {"document": "doxProjectPlan", "text": "Looks good to me."}
    )
    assert added["comment_id"] and added["time"]
    [comment] = lark.writes("comment")
    assert comment["is_whole"] is True
    [post] = [r for r in _requests(lark, "/comments") if r.method == "POST"]
    assert post.query == {"file_type": "docx", "user_id_type": "open_id"}
    assert post.json == {
        "reply_list": {
            "replies": [
                {
                    "content": {
                        "elements": [
                            {"type": "text_run", "text_run": {"text": "Looks good to me."}}
                        ]
                    }
                }
            ]
        }
    }
    listed = await tools.ok("list_document_comments", {"document": "doxProjectPlan"})
    assert listed["comments"][-1]["text"] == "Looks good to me."


# -- calendar -------------------------------------------------------------------------------------


async def _an_event(tools: Tools) -> str:
    made = await tools.ok(
        "create_event",
        {**EVENT, "summary": "Sync", "start_time": "2026-12-01T10:00:00+08:00",
         "end_time": "2026-12-01T11:00:00+08:00", "description": "keep me"},
    )  # fmt: skip
    return made["event_id"]


async def test_update_event_sends_only_the_fields_given(tools: Tools, lark: FakeLark):
    event_id = await _an_event(tools)
    moved = await tools.ok(
        "update_event",
        {**EVENT, "event_id": event_id, "start_time": "2026-12-01T14:00:00+08:00",
         "end_time": "2026-12-01T15:00:00+08:00", "location": "Room 5"},
    )  # fmt: skip
    assert moved["start_time"] == "2026-12-01T14:00:00+08:00"
    assert moved["summary"] == "Sync" and moved["description"] == "keep me"
    assert moved["location"] == "Room 5"
    [patch] = [r for r in lark.requests if r.method == "PATCH"]
    assert set(patch.json) == {"start_time", "end_time", "location"}
    renamed = await tools.ok("update_event", {**EVENT, "event_id": event_id, "summary": "Sync 2"})
    assert renamed["summary"] == "Sync 2"
    assert set([r for r in lark.requests if r.method == "PATCH"][-1].json) == {"summary"}


@pytest.mark.parametrize(
    "args,expected",
    [
        ({}, "Nothing to change"),
        ({"start_time": "2026-12-01T14:00:00+08:00"}, "together"),
        (
            {"start_time": "2026-12-01T14:00:00+08:00", "end_time": "2026-12-01T13:00:00+08:00"},
            "is not after",
        ),
        ({"event_id": "../x", "summary": "a"}, "is not an event id"),
    ],
)
async def test_update_event_refuses_without_calling_lark(
    tools: Tools, lark: FakeLark, args: dict, expected: str
):
    text = await tools.error("update_event", {**EVENT, "event_id": "evt1_0", **args})
    assert expected in text
    assert not [r for r in lark.requests if r.method == "PATCH"]


async def test_delete_event_twice_is_not_an_error(tools: Tools, lark: FakeLark):
    event_id = await _an_event(tools)
    first = await tools.ok("delete_event", {**EVENT, "event_id": event_id})
    assert first == {"event_id": event_id, "deleted": True}
    again = await tools.ok("delete_event", {**EVENT, "event_id": event_id, "notify": False})
    assert again["deleted"] is True and "already" in again["note"]
    deletes = [r for r in lark.requests if r.method == "DELETE"]
    assert [r.query for r in deletes] == [
        {"need_notification": "true"},
        {"need_notification": "false"},
    ]
    assert len(lark.writes("event_delete")) == 1


# -- people ----------------------------------------------------------------------------------------


async def test_get_user_by_open_id_email_or_user_id(tools: Tools, lark: FakeLark):
    alice = await tools.ok("get_user", {"user": "ou_alice"})
    assert alice == {
        "name": "Alice Wang",
        "department": "Engineering",
        "title": "Engineering Manager",
        "email": "alice@example.com",
        "mobile": "+8613800000001",
    }
    by_email = await tools.ok("get_user", {"user": "carol@example.com"})
    assert by_email["open_id"] == "ou_carol" and by_email["title"] == "Product Designer"
    by_user_id = await tools.ok("get_user", {"user": "dave"})
    assert by_user_id["open_id"] == "ou_dave" and by_user_id["department"] == "Sales"
    [get] = [r for r in lark.requests if r.path == "/open-apis/contact/v3/users/dave"]
    assert get.query["user_id_type"] == "user_id"


async def test_get_user_shows_mobile_only_when_the_scope_allows(tools: Tools, lark: FakeLark):
    lark.withheld_fields = {"mobile", "email"}
    bob = await tools.ok("get_user", {"user": "ou_bob"})
    assert "mobile" not in bob and "email" not in bob and bob["name"] == "Bob Li"
    # Without the department scope the department's id is shown, not a made-up name.
    lark.deny("/open-apis/contact/v3/departments/", ["contact:department.base:readonly"])
    assert (await tools.ok("get_user", {"user": "ou_bob"}))["department"] == "od-engineering"


async def test_get_user_unknown_email_says_so(tools: Tools, lark: FakeLark):
    text = await tools.error("get_user", {"user": "nobody@example.com"})
    assert "No user with the email nobody@example.com" in text
