"""list_events over loopback against a fake that behaves as Lark documents.

The fake's event list cuts a time-bounded answer at page_size and says nothing (has_more
false), refuses page_token with start_time/end_time, and returns a recurring event once; its
instance_view expands series, refuses windows of 40 days or more and returns at most 1000
instances. The tool must still return every occurrence, or say where it stopped.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest

from tests.lark_fake import FakeLark
from tests.lark_fake.seed import CST

from .harness import ServerProcess, call, error_text, payload

LAUNCH = "cal_launch@group.calendar.feishu.cn"
ENG = "cal_engineering@group.calendar.feishu.cn"
INSTANCE_VIEW = "/events/instance_view"


def iso(*parts: int) -> str:
    return dt.datetime(*parts, tzinfo=CST).isoformat()


def add_events(lark: FakeLark, calendar_id: str, starts: list[int], minutes: int = 30) -> None:
    for n, start in enumerate(starts):
        lark.events.append(
            {
                "event_id": f"evt_busy_{n}_0",
                "organizer_calendar_id": calendar_id,
                "summary": f"Busy {n}",
                "description": "",
                "start_time": {"timestamp": str(start), "timezone": "Asia/Shanghai"},
                "end_time": {"timestamp": str(start + minutes * 60), "timezone": "Asia/Shanghai"},
                "location": {},
                "recurrence": "",
                "status": "confirmed",
                "is_exception": False,
                "recurring_event_id": "",
                "app_link": "",
            }
        )


def all_pages(server: ServerProcess, args: dict[str, Any]) -> tuple[list[dict], list[dict]]:
    """Follow page_token to the end; returns (events, every answer)."""
    events, answers = [], []
    token = None
    for _ in range(50):
        result = payload(
            call(server, "list_events", {**args, "page_token": token} if token else args)
        )
        answers.append(result)
        events.extend(result["events"])
        if not result["has_more"]:
            return events, answers
        token = result["page_token"]
    raise AssertionError("list_events never finished")


def instance_view_windows(lark: FakeLark) -> list[int]:
    return [
        int(r.query["end_time"]) - int(r.query["start_time"])
        for r in lark.requests
        if r.path.endswith(INSTANCE_VIEW)
    ]


def test_a_busy_week_comes_back_whole(server: ServerProcess, lark: FakeLark):
    """130 meetings in one week: Lark's time-bounded list would stop at page_size silently."""
    monday = int(dt.datetime(2026, 12, 14, 8, tzinfo=CST).timestamp())
    starts = [monday + day * 86400 + slot * 1800 for day in range(5) for slot in range(26)]
    add_events(lark, ENG, starts, minutes=25)
    args = {"calendar_id": ENG, "start_time": iso(2026, 12, 14), "end_time": iso(2026, 12, 21)}
    result = payload(call(server, "list_events", args))
    assert result["has_more"] is False and "page_token" not in result
    assert len(result["events"]) == 130
    assert [e["start_time"] for e in result["events"]] == [
        dt.datetime.fromtimestamp(s, CST).isoformat() for s in starts
    ]
    assert not any(r.path.endswith("/events") for r in lark.requests)


def test_recurring_events_come_back_as_occurrences(server: ServerProcess, lark: FakeLark):
    args = {"calendar_id": LAUNCH, "start_time": iso(2026, 11, 29), "end_time": iso(2026, 12, 8)}
    result = payload(call(server, "list_events", args))
    got = [(e["summary"], e["start_time"]) for e in result["events"]]
    check_ins = [("Launch check-in", iso(2026, m, d, 9, 30)) for m, d in DAYS_29_TO_7]
    expected = sorted(
        [
            *check_ins,
            ("Launch sync", iso(2026, 12, 1, 14, 0)),  # the 30 Nov one, moved
            ("Launch day", iso(2026, 12, 1, 9, 0)),
            # the 7 Dec Launch sync is cancelled: absent
        ],
        key=lambda pair: pair[1],
    )
    assert sorted(got, key=lambda pair: pair[1]) == expected
    occurrence = next(e for e in result["events"] if e["summary"] == "Launch check-in")
    assert occurrence["recurring_event_id"] == "evt_launch_checkin_0"
    assert occurrence["event_id"] != "evt_launch_checkin_0"


DAYS_29_TO_7 = [(11, 29), (11, 30), *[(12, d) for d in range(1, 8)]]


def test_a_long_window_is_walked_in_chunks_under_40_days(server: ServerProcess, lark: FakeLark):
    """Nov 1 to Feb 1: every weekly Launch sync (but the cancelled one), in < 40-day requests."""
    args = {"calendar_id": LAUNCH, "start_time": iso(2026, 11, 1), "end_time": iso(2027, 2, 1)}
    events, answers = all_pages(server, args)
    assert len(answers) == 1
    syncs = [e["start_time"] for e in events if e["summary"] == "Launch sync"]
    mondays = [dt.date(2026, 11, 2) + dt.timedelta(weeks=w) for w in range(13)]
    expected = [
        iso(2026, 12, 1, 14, 0) if day == dt.date(2026, 11, 30) else iso(*day.timetuple()[:3], 11)
        for day in mondays
        if day != dt.date(2026, 12, 7)
    ]
    assert syncs == expected
    check_ins = [e for e in events if e["summary"] == "Launch check-in"]
    assert len(check_ins) == 39  # daily from 23 Nov to 31 Dec
    windows = instance_view_windows(lark)
    assert len(windows) == 3 and all(w < 40 * 86400 for w in windows)


def test_page_size_stops_early_and_says_how_to_go_on(server: ServerProcess, lark: FakeLark):
    args = {
        "calendar_id": LAUNCH,
        "start_time": iso(2026, 11, 1),
        "end_time": iso(2027, 2, 1),
        "page_size": 10,
    }
    whole = payload(call(server, "list_events", {**args, "page_size": 1000}))["events"]
    events, answers = all_pages(server, args)
    assert len(answers) > 4
    first = answers[0]
    assert first["has_more"] is True and first["page_token"] in first["note"]
    assert "Stopped early" in first["note"]
    assert all(len(a["events"]) <= 10 for a in answers)
    assert [(e["event_id"], e["start_time"]) for e in events] == [
        (e["event_id"], e["start_time"]) for e in whole
    ]


def test_a_full_instance_view_answer_is_split_not_cut(server: ServerProcess, lark: FakeLark):
    """1500 meetings in ten days: one instance_view answer stops at 1000, so the tool halves."""
    base = int(dt.datetime(2027, 3, 1, tzinfo=CST).timestamp())
    starts = [base + n * 540 for n in range(1500)]  # every 9 minutes, ~9.4 days
    add_events(lark, ENG, starts, minutes=5)
    args = {
        "calendar_id": ENG,
        "start_time": iso(2027, 3, 1),
        "end_time": iso(2027, 3, 11),
        "page_size": 1000,
    }
    events, answers = all_pages(server, args)
    ids = Counter(e["event_id"] for e in events)
    assert len(ids) == 1500 and max(ids.values()) == 1
    assert len(answers) == 2


def test_events_under_way_at_start_time_are_included_once(server: ServerProcess, lark: FakeLark):
    start = int(dt.datetime(2027, 4, 1, 22, tzinfo=CST).timestamp())
    add_events(lark, ENG, [start], minutes=60 * 24 * 50)  # a 50-day event
    args = {"calendar_id": ENG, "start_time": iso(2027, 4, 2), "end_time": iso(2027, 6, 1)}
    result = payload(call(server, "list_events", args))
    assert [e["summary"] for e in result["events"]] == ["Busy 0"]


@pytest.mark.parametrize(
    ("token", "says"),
    [
        ("c2NvcGU6MTIz", "not one list_events issued"),  # a Lark-style token from older callers
        ("b2NjMTo1", "another window"),  # ours, but outside this window
    ],
)
def test_a_foreign_page_token_is_a_clear_error(
    server: ServerProcess, lark: FakeLark, token: str, says: str
):
    args = {
        "calendar_id": ENG,
        "start_time": iso(2026, 11, 24),
        "end_time": iso(2026, 11, 25),
        "page_token": token,
    }
    assert says in error_text(call(server, "list_events", args))
    assert lark.requests == []


def test_a_window_shorter_than_a_second_still_asks_lark(server: ServerProcess, lark: FakeLark):
    """Lark takes whole seconds: the window is widened to cover it, never emptied."""
    args = {
        "calendar_id": ENG,
        "start_time": "2026-11-24T10:05:00.200+08:00",
        "end_time": "2026-11-24T10:05:00.700+08:00",
    }
    result = payload(call(server, "list_events", args))
    assert [e["event_id"] for e in result["events"]] == ["evt_standup_1124_0"]
