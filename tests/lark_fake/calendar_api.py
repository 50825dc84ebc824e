"""calendar/v4: calendars, events (+ attendees) and free/busy."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from dateutil.rrule import rrulestr

from .errors import LarkError, field_error, user_id_type
from .paging import page_size, paginate
from .routing import Call, Endpoint
from .seed import CST, _attendee

if TYPE_CHECKING:
    from .fake import FakeLark

INVALID_PARAMS = 190002  # "invalid parameters in request"
CALENDAR_NOT_FOUND = 191000  # "calendar not found" (HTTP 404)
NO_CALENDAR_ACCESS = 191002  # "no calendar access_role" (HTTP 403)
EVENT_NOT_FOUND = 193001  # "event not found" (HTTP 404)

# instance_view: "start_time 与 end_time 之间的时间区间需要小于 40 天", at most 1000 instances.
INSTANCE_VIEW_MAX_SECONDS = 40 * 86400
INSTANCE_VIEW_MAX_ITEMS = 1000
# events list with start_time/end_time: one page of at most page_size (default 500, 50..1000),
# the rest cut off; page_token, sync_token and anchor_time cannot be combined with it.
EVENTS_PAGE_DEFAULT, EVENTS_PAGE_MIN, EVENTS_PAGE_MAX = 500, 50, 1000


def _calendar(fake: FakeLark, calendar_id: str, *, write: bool = False) -> dict[str, Any]:
    for cal in fake.calendars:
        if cal["calendar_id"] == calendar_id:
            allowed = ("owner", "writer") if write else ("owner", "writer", "reader")
            if cal["role"] not in allowed:
                raise LarkError(NO_CALENDAR_ACCESS, "no calendar access_role", status=403)
            return cal
    raise LarkError(CALENDAR_NOT_FOUND, "calendar not found", status=404)


def _event(fake: FakeLark, calendar_id: str, event_id: str) -> dict[str, Any]:
    for event in fake.events:
        if event["event_id"] == event_id and event["organizer_calendar_id"] == calendar_id:
            return event
    raise LarkError(EVENT_NOT_FOUND, "event not found", status=404)


def _bad(msg: str) -> LarkError:
    return LarkError(INVALID_PARAMS, f"invalid parameters in request: {msg}")


def _seconds(query: dict[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw in (None, ""):
        return None
    if not raw.isdigit():
        raise field_error(name, f"{name} must be a Unix timestamp in seconds")
    return int(raw)


async def list_calendars(fake: FakeLark, call: Call) -> dict[str, Any]:
    page, has_more, token = paginate(fake.calendars, call.query, scope="calendars", maximum=1000)
    return {
        "has_more": has_more,
        "page_token": token,
        "sync_token": "sync_fake_calendars",
        "calendar_list": page,
    }


async def get_calendar(fake: FakeLark, call: Call) -> dict[str, Any]:
    return _calendar(fake, call.params["calendar_id"])


def _span(event: dict[str, Any]) -> tuple[int, int]:
    return int(event["start_time"]["timestamp"]), int(event["end_time"]["timestamp"])


def _occurrences(event: dict[str, Any], lo: int, hi: int) -> list[tuple[int, int]]:
    """(start, end) of the event's occurrences overlapping [lo, hi): one unless it recurs."""
    begin, end = _span(event)
    if not event.get("recurrence"):
        return [(begin, end)] if end > lo and begin < hi else []
    length = end - begin
    rule = rrulestr(event["recurrence"], dtstart=datetime.fromtimestamp(begin, CST))
    after = datetime.fromtimestamp(lo - length, CST)
    before = datetime.fromtimestamp(hi, CST)
    spans = []
    for moment in rule.between(after, before, inc=True):
        start = int(moment.timestamp())
        if start + length > lo and start < hi:
            spans.append((start, start + length))
    return spans


def _uid(event_id: str) -> str:
    return event_id.rsplit("_", 1)[0]


def _instances(fake: FakeLark, calendar_id: str, lo: int, hi: int) -> list[dict[str, Any]]:
    """What instance_view answers: recurring events expanded into `{uid}_{start}` instances,
    exceptions (moved or cancelled occurrences) in their place, sorted by start."""
    own = [e for e in fake.events if e["organizer_calendar_id"] == calendar_id]
    exceptions = {e["event_id"] for e in own if e.get("is_exception")}
    out = []
    for event in own:
        if event["status"] == "cancelled":
            continue
        for start, end in _occurrences(event, lo, hi):
            recurring = bool(event.get("recurrence"))
            instance_id = f"{_uid(event['event_id'])}_{start}" if recurring else event["event_id"]
            if recurring and instance_id in exceptions:
                continue  # this occurrence was moved or cancelled: the exception stands for it
            item = {k: v for k, v in event.items() if k not in ("recurrence", "reminders")}
            item["event_id"] = instance_id
            item["start_time"] = {**event["start_time"], "timestamp": str(start)}
            item["end_time"] = {**event["end_time"], "timestamp": str(end)}
            if recurring:
                item["recurring_event_id"] = event["event_id"]
            out.append(item)
    out.sort(key=lambda e: (_span(e)[0], e["event_id"]))
    return out


async def instance_view(fake: FakeLark, call: Call) -> dict[str, Any]:
    cal = _calendar(fake, call.params["calendar_id"])
    user_id_type(call.query)
    start, end = _seconds(call.query, "start_time"), _seconds(call.query, "end_time")
    if start is None or end is None:
        raise field_error("start_time" if start is None else "end_time", "required")
    if start >= end:
        raise _bad("start_time must be before end_time")
    if end - start >= INSTANCE_VIEW_MAX_SECONDS:
        raise _bad("the time range between start_time and end_time must be less than 40 days")
    return {"items": _instances(fake, cal["calendar_id"], start, end)[:INSTANCE_VIEW_MAX_ITEMS]}


async def list_events(fake: FakeLark, call: Call) -> dict[str, Any]:
    cal = _calendar(fake, call.params["calendar_id"])
    user_id_type(call.query)
    start, end = _seconds(call.query, "start_time"), _seconds(call.query, "end_time")
    if (start is None) != (end is None):
        raise _bad("start_time and end_time must be given together")
    if start is not None and end is not None and start >= end:
        raise _bad("start_time must be before end_time")
    anchor = _seconds(call.query, "anchor_time")
    if start is not None:
        clash = [k for k in ("page_token", "sync_token", "anchor_time") if call.query.get(k)]
        if clash:
            raise _bad(f"start_time/end_time cannot be used with {', '.join(clash)}")
    events = [
        e
        for e in fake.events
        if e["organizer_calendar_id"] == cal["calendar_id"]
        and e["status"] != "cancelled"
        and (start is None or _occurrences(e, start, end))  # type: ignore[arg-type]
        and (anchor is None or _span(e)[1] > anchor or e.get("recurrence"))
    ]
    events.sort(key=lambda e: (_span(e)[0], e["event_id"]))
    if start is not None:
        # One page only, cut at page_size, and nothing says so: has_more is false.
        size = page_size(call.query, default=EVENTS_PAGE_DEFAULT, maximum=EVENTS_PAGE_MAX)
        if size < EVENTS_PAGE_MIN:
            raise field_error("page_size", f"page_size must be at least {EVENTS_PAGE_MIN}")
        return {"has_more": False, "page_token": "", "items": events[:size]}
    page, has_more, token = paginate(
        events, call.query, scope=f"events:{cal['calendar_id']}", maximum=1000
    )
    return {
        "has_more": has_more,
        "page_token": token,
        "sync_token": "sync_fake_events",
        "items": page,
    }


async def get_event(fake: FakeLark, call: Call) -> dict[str, Any]:
    _calendar(fake, call.params["calendar_id"])
    return {"event": _event(fake, call.params["calendar_id"], call.params["event_id"])}


def _time_info(body: dict[str, Any], name: str) -> tuple[dict[str, Any], int]:
    info = body.get(name)
    if not isinstance(info, dict):
        raise field_error(name, f"{name} is required: {{timestamp: '<unix seconds>'}} or {{date}}")
    if "timestamp" in info:
        stamp = info["timestamp"]
        if not isinstance(stamp, str) or not stamp.isdigit():
            raise field_error(f"{name}.timestamp", "timestamp must be a string of Unix seconds")
        return {"timestamp": stamp, "timezone": info.get("timezone", "Asia/Shanghai")}, int(stamp)
    if "date" in info:
        try:
            day = datetime.strptime(info["date"], "%Y-%m-%d").replace(tzinfo=CST)
        except (TypeError, ValueError) as err:
            raise field_error(f"{name}.date", "date must look like 2026-11-24") from err
        return {"date": info["date"], "timezone": info.get("timezone", "Asia/Shanghai")}, int(
            day.timestamp()
        )
    raise field_error(name, f"{name} needs timestamp or date")


async def create_event(fake: FakeLark, call: Call) -> dict[str, Any]:
    cal = _calendar(fake, call.params["calendar_id"], write=True)
    user_id_type(call.query)
    body = call.body
    start, start_s = _time_info(body, "start_time")
    end, end_s = _time_info(body, "end_time")
    if end_s <= start_s:
        raise _bad("end_time must be after start_time")
    summary = body.get("summary", "")
    description = body.get("description", "")
    if not isinstance(summary, str) or len(summary) > 1000:
        raise field_error("summary", "summary must be a string of at most 1000 characters")
    if not isinstance(description, str) or len(description) > 40960:
        raise field_error("description", "description must be a string")
    key = call.query.get("idempotency_key") or None
    if (hit := fake.remembered("event", key)) is not None:
        return hit
    event_id = f"{fake.new_id('evtc', 8)}_0"
    event = {
        "event_id": event_id,
        "organizer_calendar_id": cal["calendar_id"],
        "summary": summary,
        "description": description,
        "need_notification": body.get("need_notification", True),
        "start_time": start,
        "end_time": end,
        "vchat": body.get("vchat", {"vc_type": "vc"}),
        "visibility": body.get("visibility", "default"),
        "attendee_ability": body.get("attendee_ability", "none"),
        "free_busy_status": body.get("free_busy_status", "busy"),
        "location": body.get("location", {}),
        "color": body.get("color", -1),
        "reminders": body.get("reminders", []),
        "recurrence": body.get("recurrence", ""),
        "status": "confirmed",
        "is_exception": False,
        "recurring_event_id": "",
        "create_time": str(start_s),
        "app_link": f"https://applink.feishu.cn/client/calendar/event/detail?eventId={event_id}",
        "event_organizer": {"user_id": "", "display_name": "Fake App"},
    }
    fake.events.append(event)
    fake.attendees[event_id] = []
    fake.record_write("event", event)
    data = {"event": event}
    fake.remember("event", key, data)
    return data


async def create_attendees(fake: FakeLark, call: Call) -> dict[str, Any]:
    _calendar(fake, call.params["calendar_id"], write=True)
    event = _event(fake, call.params["calendar_id"], call.params["event_id"])
    id_type = user_id_type(call.query)
    wanted = call.body.get("attendees")
    if not isinstance(wanted, list) or not wanted:
        raise field_error("attendees", "attendees must be a non-empty list")
    current = fake.attendees.setdefault(event["event_id"], [])
    added = []
    for i, item in enumerate(wanted):
        if not isinstance(item, dict):
            raise field_error(f"attendees[{i}]", "each attendee must be an object")
        kind = item.get("type")
        if kind == "user":
            try:
                user = next(u for u in fake.users if u[id_type] == item.get("user_id"))
            except StopIteration:
                raise _bad(
                    f"attendees[{i}].user_id {item.get('user_id')!r} is not a known {id_type}"
                ) from None
            att = _attendee(event["event_id"], user["open_id"])
            att["is_optional"] = bool(item.get("is_optional", False))
            att["display_name"] = user["name"]
        elif kind == "third_party":
            email = item.get("third_party_email")
            if not isinstance(email, str) or "@" not in email:
                raise field_error(f"attendees[{i}].third_party_email", "an email is required")
            att = {
                "type": "third_party",
                "attendee_id": f"third_party_{email}",
                "third_party_email": email,
                "rsvp_status": "needs_action",
                "is_optional": bool(item.get("is_optional", False)),
                "is_organizer": False,
                "is_external": True,
                "display_name": email,
            }
        elif kind == "chat":
            chat = next((c for c in fake.chats if c["chat_id"] == item.get("chat_id")), None)
            if chat is None:
                raise _bad(f"attendees[{i}].chat_id is not a known chat")
            att = {
                "type": "chat",
                "attendee_id": f"chat_{chat['chat_id']}",
                "chat_id": chat["chat_id"],
                "rsvp_status": "needs_action",
                "is_optional": False,
                "is_organizer": False,
                "is_external": False,
                "display_name": chat["name"],
            }
        else:
            raise field_error(
                f"attendees[{i}].type", "type must be user, chat, resource or third_party"
            )
        if not any(a["attendee_id"] == att["attendee_id"] for a in current):
            current.append(att)
            fake.record_write("attendee", {**att, "event_id": event["event_id"]})
        added.append(att)
    return {"attendees": added}


async def list_attendees(fake: FakeLark, call: Call) -> dict[str, Any]:
    _calendar(fake, call.params["calendar_id"])
    event = _event(fake, call.params["calendar_id"], call.params["event_id"])
    page, has_more, token = paginate(
        fake.attendees.get(event["event_id"], []),
        call.query,
        scope=f"attendees:{event['event_id']}",
        maximum=100,
    )
    return {"items": page, "has_more": has_more, "page_token": token}


def _rfc3339(body: dict[str, Any], name: str) -> int:
    raw = body.get(name)
    if not isinstance(raw, str) or not raw:
        raise field_error(name, f"{name} is required, RFC 3339 like 2026-11-24T10:00:00+08:00")
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as err:
        raise field_error(name, f"{name} must be RFC 3339 like 2026-11-24T10:00:00+08:00") from err
    if moment.tzinfo is None:
        raise field_error(name, f"{name} needs a UTC offset, like 2026-11-24T10:00:00+08:00")
    return int(moment.timestamp())


async def freebusy(fake: FakeLark, call: Call) -> dict[str, Any]:
    id_type = user_id_type(call.query)
    lo, hi = _rfc3339(call.body, "time_min"), _rfc3339(call.body, "time_max")
    if lo >= hi:
        raise _bad("time_min must be before time_max")
    user_id = call.body.get("user_id")
    if not user_id:
        if call.body.get("room_id"):
            return {"freebusy_list": []}
        raise field_error("user_id", "user_id or room_id is required")
    user = next((u for u in fake.users if u[id_type] == user_id), None)
    if user is None:
        raise _bad(f"user_id {user_id!r} is not a known {id_type}")
    spans = list(fake.busy.get(user["open_id"], []))
    for cal in {e["organizer_calendar_id"] for e in fake.events}:
        for event in _instances(fake, cal, lo, hi):  # recurring events count every occurrence
            if event.get("free_busy_status") == "free":
                continue
            series = event.get("recurring_event_id") or event["event_id"]
            attending = any(
                a.get("user_id") == user["open_id"] for a in fake.attendees.get(series, [])
            )
            if attending or cal == user["primary_calendar_id"]:
                spans.append(_span(event))
    merged: list[list[int]] = []
    for s, e in sorted(x for x in spans if x[1] > lo and x[0] < hi):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return {
        "freebusy_list": [
            {
                "start_time": datetime.fromtimestamp(s, CST).isoformat(),
                "end_time": datetime.fromtimestamp(e, CST).isoformat(),
            }
            for s, e in merged
        ]
    }


async def patch_event(fake: FakeLark, call: Call) -> dict[str, Any]:
    """Only the fields given change; start_time and end_time take effect only together."""
    _calendar(fake, call.params["calendar_id"], write=True)
    user_id_type(call.query)
    event = _event(fake, call.params["calendar_id"], call.params["event_id"])
    if event.get("status") == "cancelled":
        raise LarkError(EVENT_NOT_FOUND, "event not found", status=404)
    body = call.body
    changes: dict[str, Any] = {}
    for name, limit in (("summary", 1000), ("description", 40960)):
        if name in body:
            if not isinstance(body[name], str) or len(body[name]) > limit:
                raise field_error(name, f"{name} must be a string of at most {limit} characters")
            changes[name] = body[name]
    if "location" in body:
        if not isinstance(body["location"], dict) or not isinstance(
            body["location"].get("name", ""), str
        ):
            raise field_error("location", "location must be {name, address, ...}")
        changes["location"] = body["location"]
    if ("start_time" in body) != ("end_time" in body):
        raise _bad("start_time and end_time take effect only together")
    if "start_time" in body:
        start, start_s = _time_info(body, "start_time")
        end, end_s = _time_info(body, "end_time")
        if end_s <= start_s:
            raise _bad("end_time must be after start_time")
        changes["start_time"], changes["end_time"] = start, end
    event.update(changes)
    fake.record_write("event_update", {"event_id": event["event_id"], **changes})
    return {"event": event}


async def delete_event(fake: FakeLark, call: Call) -> dict[str, Any]:
    """The event is cancelled; a second delete answers 193001 (event not found)."""
    _calendar(fake, call.params["calendar_id"], write=True)
    if call.query.get("need_notification") not in (None, "true", "false"):
        raise field_error("need_notification", "need_notification must be true or false")
    event = _event(fake, call.params["calendar_id"], call.params["event_id"])
    if event.get("status") == "cancelled":
        raise LarkError(EVENT_NOT_FOUND, "event not found", status=404)
    event["status"] = "cancelled"
    fake.record_write("event_delete", {"event_id": event["event_id"]})
    return {}


def endpoints() -> list[Endpoint]:
    cal = "/open-apis/calendar/v4/calendars"
    ev = f"{cal}/{{calendar_id}}/events"
    return [
        Endpoint("GET", cal, list_calendars),
        Endpoint("GET", f"{cal}/{{calendar_id}}", get_calendar),
        Endpoint("GET", ev, list_events),
        Endpoint("GET", f"{ev}/instance_view", instance_view),
        Endpoint("POST", ev, create_event),
        Endpoint("GET", f"{ev}/{{event_id}}", get_event),
        Endpoint("PATCH", f"{ev}/{{event_id}}", patch_event),
        Endpoint("DELETE", f"{ev}/{{event_id}}", delete_event),
        Endpoint("POST", f"{ev}/{{event_id}}/attendees", create_attendees),
        Endpoint("GET", f"{ev}/{{event_id}}/attendees", list_attendees),
        Endpoint("POST", "/open-apis/calendar/v4/freebusy/list", freebusy),
    ]
