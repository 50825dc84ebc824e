"""Calendars: the caller's calendars (the person's, or the bot's), events, and busy times."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from . import occurrences
from .formatting import (
    PageToken,
    iso_from_unix,
    iso_in,
    page,
    page_size_arg,
    time_arg,
    unix_seconds,
)
from .lark_client import LarkCall, LarkError
from .paths import CALENDAR_ID, EVENT_ID
from .registry import ToolSet

TOOLS = ToolSet()

CalendarId = Annotated[
    str, Field(min_length=1, description="Calendar id from list_calendars (...@group.calendar...).")
]
OptionalCalendarId = Annotated[
    str | None,
    Field(
        min_length=1,
        description="Calendar id from list_calendars; omit for your primary calendar (signed in).",
    ),
]
Start = time_arg("Start of the window")
End = time_arg("End of the window")


async def _calendar(lark: LarkCall, calendar_id: str | None) -> str:
    """The calendar to use: the given one, else the signed-in person's primary calendar."""
    if calendar_id:
        return calendar_id
    if not lark.as_user:
        raise ToolError(
            "calendar_id is required when acting as the bot: get one from list_calendars. "
            "(Signed in as yourself, it defaults to your primary calendar.)"
        )
    data = await lark.post(
        "/open-apis/calendar/v4/calendars/primary",
        params={"user_id_type": "open_id"},
        idempotent=True,  # a read, despite the POST
    )
    for item in data.get("calendars") or []:
        found = (item.get("calendar") or {}).get("calendar_id")
        if found:
            return str(found)
    raise ToolError("Lark returned no primary calendar for you; pass calendar_id.")


def _check_window(start: dt.datetime, end: dt.datetime) -> None:
    if end <= start:
        raise ToolError(f"end_time {end.isoformat()} is not after start_time {start.isoformat()}.")


def _event_time(value: Any, tz: dt.tzinfo | None) -> str | None:
    """Lark's {timestamp} or all-day {date} as ISO 8601."""
    if not isinstance(value, dict):
        return None
    if value.get("timestamp"):
        return iso_from_unix(value["timestamp"], tz)
    return value.get("date")


def _event(item: dict[str, Any], tz: dt.tzinfo | None) -> dict[str, Any]:
    return {
        "event_id": item.get("event_id"),
        "summary": item.get("summary"),
        "start_time": _event_time(item.get("start_time"), tz),
        "end_time": _event_time(item.get("end_time"), tz),
        "description": item.get("description"),
        "location": (item.get("location") or {}).get("name"),
        "status": item.get("status") if item.get("status") != "confirmed" else None,
        "link": item.get("app_link"),
    }


@TOOLS.tool(
    title="List calendars",
    description="List the calendars you can see (signed in), or the bot's: own and shared ones.",
    read_only=True,
)
async def list_calendars(
    lark: LarkCall,
    page_size: page_size_arg(50, 1000) = 50,
    page_token: PageToken = None,
) -> dict[str, Any]:
    # Lark's minimum page size for this list is 50.
    data = await lark.get(
        "/open-apis/calendar/v4/calendars",
        params={"page_size": max(page_size, 50), "page_token": page_token},
    )
    calendars = [
        {
            "calendar_id": item.get("calendar_id"),
            "summary": item.get("summary"),
            "description": item.get("description"),
            "type": item.get("type"),
            "role": item.get("role"),
        }
        for item in data.get("calendar_list") or data.get("items") or []
    ]
    return page({"calendars": calendars}, data)


@TOOLS.tool(
    title="List events",
    description=(
        "Every occurrence of a calendar's events in a time window, recurring events expanded; "
        "if it stops early it says so and gives a page_token for the rest."
    ),
    read_only=True,
)
async def list_events(
    lark: LarkCall,
    start_time: Start,
    end_time: End,
    calendar_id: OptionalCalendarId = None,
    page_size: Annotated[
        int,
        Field(ge=1, le=1000, description="Most occurrences per answer (1-1000, default 200)."),
    ] = 200,
    page_token: Annotated[
        str | None,
        Field(description="page_token of the previous answer for this same window, to go on."),
    ] = None,
) -> dict[str, Any]:
    _check_window(start_time, end_time)
    given = calendar_id
    calendar_id = await _calendar(lark, calendar_id)
    # Whole seconds that still cover the window (Lark takes Unix seconds).
    start, end = math.floor(start_time.timestamp()), math.ceil(end_time.timestamp())
    resume = occurrences.decode_token(page_token, start, end) if page_token else None
    calendar = CALENDAR_ID.segment("calendar_id", calendar_id)

    async def fetch(lo: int, hi: int) -> list[dict[str, Any]]:
        data = await lark.get(
            "/open-apis/calendar/v4/calendars/{calendar_id}/events/instance_view",
            calendar,
            params={"start_time": str(lo), "end_time": str(hi)},
        )
        return list(data.get("items") or [])

    found = await occurrences.walk(
        fetch, start, end, page_size=page_size, resume=resume, time_left=lark.remaining
    )
    tz = start_time.tzinfo
    # Rows to pick an event and act on it by event_id: the app link (a long URL per event)
    # is left to create_event / update_event, which answer about one event.
    events = [
        _event(item, tz) | _series(item) | {"link": None}
        for item in found.items
        if item.get("status") != "cancelled"
    ]
    # The calendar is said only when it was not asked for (the person's primary calendar).
    result: dict[str, Any] = {"calendar_id": None if given else calendar_id, "events": events}
    result["has_more"] = found.resume is not None
    if found.resume is not None:
        token = occurrences.encode_token(found.resume)
        resume_at = iso_from_unix(found.resume, tz)
        result["page_token"] = token
        result["note"] = (
            f"Stopped early: these are the occurrences starting before {resume_at}. For the "
            "rest, call list_events again with the same calendar_id, start_time and end_time "
            f"and page_token {token!r}."
        )
    if found.warnings:
        result["warnings"] = found.warnings
    return result


def _series(item: dict[str, Any]) -> dict[str, Any]:
    """For an occurrence of a recurring event: the series' event_id."""
    series = item.get("recurring_event_id")
    return {"recurring_event_id": series} if series else {}


@TOOLS.tool(
    title="Create event",
    description="Create an event on a calendar and invite attendees (open_ids or emails).",
    read_only=False,
)
async def create_event(
    lark: LarkCall,
    summary: Annotated[str, Field(min_length=1, max_length=1000, description="Event title.")],
    start_time: time_arg("When it starts"),
    end_time: time_arg("When it ends"),
    calendar_id: OptionalCalendarId = None,
    description: Annotated[str | None, Field(max_length=40000, description="Details.")] = None,
    attendees: Annotated[
        list[str] | None,
        Field(max_length=100, description="People to invite: open_ids (ou_...) or emails."),
    ] = None,
) -> dict[str, Any]:
    _check_window(start_time, end_time)
    given = calendar_id
    calendar_id = await _calendar(lark, calendar_id)
    data = await lark.post(
        "/open-apis/calendar/v4/calendars/{calendar_id}/events",
        CALENDAR_ID.segment("calendar_id", calendar_id),
        params={"idempotency_key": lark.new_key()},
        json={
            "summary": summary,
            "description": description,
            "start_time": {"timestamp": unix_seconds(start_time)},
            "end_time": {"timestamp": unix_seconds(end_time)},
        },
        idempotent=True,
    )
    event = data.get("event") or {}
    result = _event(event, start_time.tzinfo)
    if attendees and event.get("event_id"):
        people = [
            {"type": "third_party", "third_party_email": a}
            if "@" in a
            else {"type": "user", "user_id": a}
            for a in dict.fromkeys(a.strip() for a in attendees if a.strip())
        ]
        try:
            # Adding an attendee who is already invited changes nothing: safe to retry.
            await lark.post(
                "/open-apis/calendar/v4/calendars/{calendar_id}/events/{event_id}/attendees",
                CALENDAR_ID.segment("calendar_id", calendar_id),
                EVENT_ID.segment("event_id", event["event_id"]),
                params={"user_id_type": "open_id"},
                json={"attendees": people, "need_notification": True},
                idempotent=True,
            )
        except Exception as exc:
            raise ToolError(
                f"The event was created (event_id {event['event_id']}) but inviting the "
                f"attendees failed: {exc}. Do not create it again; fix the attendee list instead."
            ) from None
        result["attendees"] = [p.get("user_id") or p.get("third_party_email") for p in people]
    return {"calendar_id": None if given else calendar_id, **result}


@TOOLS.tool(
    title="Get free/busy",
    description="Busy periods of a user between two times, to find a free slot.",
    read_only=True,
)
async def get_freebusy(
    lark: LarkCall,
    user_id: Annotated[str, Field(min_length=1, description="The user's open_id (ou_...).")],
    start_time: Start,
    end_time: End,
) -> dict[str, Any]:
    _check_window(start_time, end_time)
    tz = start_time.tzinfo
    data = await lark.post(
        "/open-apis/calendar/v4/freebusy/list",
        params={"user_id_type": "open_id"},
        json={
            "time_min": start_time.isoformat(),
            "time_max": end_time.isoformat(),
            "user_id": user_id,
        },
        idempotent=True,
    )
    busy = [
        {
            "start_time": iso_in(item.get("start_time"), tz),
            "end_time": iso_in(item.get("end_time"), tz),
        }
        for item in data.get("freebusy_list") or []
    ]
    return {"busy": busy}


EventId = Annotated[str, Field(min_length=1, description="The event (event_id from list_events).")]
# Lark's answer for an event that is not there (any more): "event not found".
_GONE = (193001,)


@TOOLS.tool(
    title="Update event",
    description="Change an event's title, description, times or location; only the fields "
    "given change.",
    read_only=False,
    idempotent=True,
)
async def update_event(
    lark: LarkCall,
    event_id: EventId,
    calendar_id: OptionalCalendarId = None,
    summary: Annotated[
        str | None, Field(min_length=1, max_length=1000, description="Title.")
    ] = None,
    description: Annotated[str | None, Field(max_length=40000, description="Details.")] = None,
    start_time: time_arg("New start (give end_time too)", optional=True) = None,
    end_time: time_arg("New end (give start_time too)", optional=True) = None,
    location: Annotated[str | None, Field(max_length=1000, description="Place.")] = None,
) -> dict[str, Any]:
    if (start_time is None) != (end_time is None):
        raise ToolError("Give start_time and end_time together (Lark moves an event by both).")
    if start_time is not None and end_time is not None:
        _check_window(start_time, end_time)
    body: dict[str, Any] = {
        "summary": summary,
        "description": description,
        "start_time": {"timestamp": unix_seconds(start_time)} if start_time else None,
        "end_time": {"timestamp": unix_seconds(end_time)} if end_time else None,
        "location": {"name": location} if location is not None else None,
    }
    if all(value is None for value in body.values()):
        raise ToolError(
            "Nothing to change: give summary, description, start_time + end_time or location."
        )
    event = EVENT_ID.segment("event_id", event_id)
    calendar_id = await _calendar(lark, calendar_id)
    # Setting the same fields twice leaves the same event: safe to retry.
    data = await lark.patch(
        "/open-apis/calendar/v4/calendars/{calendar_id}/events/{event_id}",
        CALENDAR_ID.segment("calendar_id", calendar_id),
        event,
        params={"user_id_type": "open_id"},
        json=body,
        idempotent=True,
    )
    tz = (start_time or end_time).tzinfo if start_time or end_time else None
    return _event(data.get("event") or {}, tz)


@TOOLS.tool(
    title="Delete event",
    description="Delete (cancel) an event and notify its attendees; deleting it again is not "
    "an error.",
    read_only=False,
    destructive=True,
    idempotent=True,
)
async def delete_event(
    lark: LarkCall,
    event_id: EventId,
    calendar_id: OptionalCalendarId = None,
    notify: Annotated[bool, Field(description="Tell the attendees (default true).")] = True,
) -> dict[str, Any]:
    event = EVENT_ID.segment("event_id", event_id)
    calendar_id = await _calendar(lark, calendar_id)
    try:
        await lark.delete(
            "/open-apis/calendar/v4/calendars/{calendar_id}/events/{event_id}",
            CALENDAR_ID.segment("calendar_id", calendar_id),
            event,
            params={"need_notification": str(notify).lower()},
            idempotent=True,  # deleting twice leaves it deleted
        )
    except LarkError as exc:
        if exc.code not in _GONE:
            raise
        return {"event_id": event_id.strip(), "deleted": True, "note": "It was already gone."}
    return {"event_id": event_id.strip(), "deleted": True}
