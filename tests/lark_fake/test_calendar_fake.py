"""The fake's calendar answers as Lark documents them, over loopback HTTP.

`GET .../events` with start_time/end_time: one page only, cut at page_size with has_more false,
and page_token/sync_token/anchor_time refused. `GET .../events/instance_view`: recurring events
expanded into instances, windows under 40 days, at most 1000 instances.
"""

from __future__ import annotations

import datetime as dt

import httpx2

from .fake import FakeLark
from .seed import CST, LAUNCH_SYNC_CANCELLED, LAUNCH_SYNC_MOVED
from .test_fake import api as api  # the authenticated client fixture

LAUNCH = "/open-apis/calendar/v4/calendars/cal_launch@group.calendar.feishu.cn/events"
DAY = 86400


def ts(*parts: int) -> int:
    return int(dt.datetime(*parts, tzinfo=CST).timestamp())


def window(start: int, end: int, **more: str | int) -> dict[str, str]:
    return {"start_time": str(start), "end_time": str(end), **{k: str(v) for k, v in more.items()}}


def test_time_bounded_list_refuses_page_token(api: httpx2.Client) -> None:
    for extra in ({"page_token": "abc"}, {"sync_token": "s"}, {"anchor_time": "1"}):
        answer = api.get(LAUNCH, params=window(ts(2026, 11, 1), ts(2026, 12, 1), **extra))
        assert answer.json()["code"] == 190002, extra


def test_time_bounded_list_is_one_page_cut_silently(api: httpx2.Client, fresh_lark: FakeLark):
    for n in range(70):
        event = dict(fresh_lark.events[0], event_id=f"evt_many_{n}_0")
        event["organizer_calendar_id"] = "cal_launch@group.calendar.feishu.cn"
        fresh_lark.events.append(event)
    data = api.get(LAUNCH, params=window(ts(2026, 11, 1), ts(2027, 1, 1), page_size=50)).json()
    assert data["code"] == 0
    assert len(data["data"]["items"]) == 50
    assert data["data"]["has_more"] is False and not data["data"]["page_token"]


def test_time_bounded_list_returns_a_series_once(api: httpx2.Client) -> None:
    items = api.get(LAUNCH, params=window(ts(2026, 12, 1), ts(2026, 12, 8))).json()["data"]
    names = [i["summary"] for i in items["items"]]
    assert names.count("Launch check-in") == 1


def test_instance_view_expands_series_and_applies_exceptions(api: httpx2.Client) -> None:
    answer = api.get(f"{LAUNCH}/instance_view", params=window(ts(2026, 11, 30), ts(2026, 12, 8)))
    items = answer.json()["data"]["items"]
    assert "has_more" not in answer.json()["data"]
    check_ins = [i for i in items if i["summary"] == "Launch check-in"]
    assert len(check_ins) == 8
    assert {i["recurring_event_id"] for i in check_ins} == {"evt_launch_checkin_0"}
    assert len({i["event_id"] for i in check_ins}) == 8
    syncs = [
        (i["event_id"], int(i["start_time"]["timestamp"])) for i in items if "sync" in i["summary"]
    ]
    assert syncs == [(f"evt_launch_sync_{LAUNCH_SYNC_MOVED}", ts(2026, 12, 1, 14))]
    assert all(str(LAUNCH_SYNC_CANCELLED) not in i["event_id"] for i in items)


def test_instance_view_limits(api: httpx2.Client, fresh_lark: FakeLark) -> None:
    start = ts(2026, 11, 1)
    too_long = api.get(f"{LAUNCH}/instance_view", params=window(start, start + 40 * DAY))
    assert too_long.json()["code"] == 190002 and "40 days" in too_long.json()["msg"]
    assert (
        api.get(f"{LAUNCH}/instance_view", params=window(start, start + 40 * DAY - 1)).json()[
            "code"
        ]
        == 0
    )
    missing = api.get(f"{LAUNCH}/instance_view", params={"start_time": str(start)})
    assert missing.json()["code"] == 99992402
    for n in range(1200):
        event = dict(fresh_lark.events[0], event_id=f"evt_flood_{n}_0")
        event["organizer_calendar_id"] = "cal_launch@group.calendar.feishu.cn"
        fresh_lark.events.append(event)
    first = int(fresh_lark.events[0]["start_time"]["timestamp"])
    full = api.get(f"{LAUNCH}/instance_view", params=window(first - DAY, first + DAY)).json()
    assert len(full["data"]["items"]) == 1000
