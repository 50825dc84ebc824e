"""Every occurrence of a calendar's events in a window, through Lark's `instance_view`.

Lark's event list with `start_time`/`end_time` returns one page, cuts the rest off silently and
refuses `page_token`; it also returns a recurring event once, as its series. `instance_view`
expands recurring events into their occurrences, but answers for a window under 40 days and
with at most 1000 instances, and has no paging. So the window is walked in chunks under that
limit; a chunk that comes back full is halved and asked again. A call stops at `page_size`
occurrences or `MAX_REQUESTS` requests and then says so, with a `page_token` (our own: the
instant to resume from) that continues exactly where it stopped.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError

CHUNK_SECONDS = 39 * 86400
"""instance_view wants end - start under 40 days."""
MAX_INSTANCES = 1000
"""The most instances instance_view returns for one window: a full answer may be cut."""
MIN_SPLIT_SECONDS = 3600
"""A full answer for a window this short is kept as it is, with a warning."""
MAX_REQUESTS = 12
"""instance_view requests per tool call (a year in 39-day chunks), well inside the deadline."""
RESERVE_SECONDS = 10.0
"""Stop asking for more chunks when the call has less than this left: answer what we have."""

Fetch = Callable[[int, int], Awaitable[list[dict[str, Any]]]]
"""Asks instance_view for [start, end) in Unix seconds; returns its `items`."""


def start_of(item: dict[str, Any]) -> int:
    """An instance's start in Unix seconds (all-day events: midnight UTC, as Lark keeps them)."""
    info = item.get("start_time") or {}
    if info.get("timestamp"):
        try:
            return int(info["timestamp"])
        except (TypeError, ValueError):
            return 0
    if info.get("date"):
        try:
            day = dt.date.fromisoformat(info["date"])
        except (TypeError, ValueError):
            return 0
        return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())
    return 0


def encode_token(resume: int) -> str:
    return base64.urlsafe_b64encode(f"occ1:{resume}".encode()).decode().rstrip("=")


def decode_token(token: str, start: int, end: int) -> int:
    """The instant a page_token resumes from; a tool error if it is not ours or not in window."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, value = raw.partition(":")
        resume = int(value)
        if prefix != "occ1":
            raise ValueError(prefix)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise ToolError(
            "page_token is not one list_events issued. Call list_events again without "
            "page_token to start from start_time."
        ) from None
    if not start < resume < end:
        raise ToolError(
            "page_token belongs to another window: pass the same start_time and end_time as "
            "the call that returned it, or leave page_token out."
        )
    return resume


@dataclass
class Walk:
    """The result of walking a window: instances in start order, and where it stopped."""

    items: list[dict[str, Any]] = field(default_factory=list)
    resume: int | None = None
    """Unix second the next page starts from; None when the window is complete."""
    warnings: list[str] = field(default_factory=list)


async def walk(
    fetch: Fetch,
    start: int,
    end: int,
    *,
    page_size: int,
    resume: int | None = None,
    time_left: Callable[[], float] | None = None,
) -> Walk:
    """All instances overlapping [start, end) from `resume` on (or all if None), at most
    about `page_size` of them; an instance is kept once, in the chunk where it starts."""
    first = resume is None
    lo = start if resume is None else resume
    queue = [(lo, min(lo + CHUNK_SECONDS, end))]
    found: list[dict[str, Any]] = []
    warnings: list[str] = []
    requests = 0
    reached = lo
    while queue:
        if requests >= MAX_REQUESTS or len(found) > page_size:
            break
        if requests and time_left is not None and time_left() < RESERVE_SECONDS:
            break
        w_lo, w_hi = queue.pop(0)
        items = await fetch(w_lo, w_hi)
        requests += 1
        if len(items) >= MAX_INSTANCES:
            if w_hi - w_lo > MIN_SPLIT_SECONDS:
                middle = w_lo + (w_hi - w_lo) // 2
                queue[:0] = [(w_lo, middle), (middle, w_hi)]
                continue
            warnings.append(
                f"Lark returned its maximum of {MAX_INSTANCES} occurrences for the hour from "
                f"{_iso(w_lo)}; more may exist in that hour."
            )
        for item in items:
            begins = start_of(item)
            # Kept in the chunk it starts in; the very first chunk also keeps what is
            # already under way at start_time.
            if begins >= w_lo or (first and w_lo == start):
                found.append(item)
        reached = w_hi
        if not queue and reached < end:
            queue.append((reached, min(reached + CHUNK_SECONDS, end)))
    found.sort(key=lambda item: (start_of(item), str(item.get("event_id"))))
    seen: set[tuple[str, int]] = set()
    unique = []
    for item in found:
        key = (str(item.get("event_id")), start_of(item))
        if key not in seen:
            seen.add(key)
            unique.append(item)
    result = Walk(unique, None if reached >= end else reached, warnings)
    if len(unique) > page_size:
        cut = start_of(unique[page_size])
        kept = [item for item in unique if start_of(item) < cut]
        if not kept:  # more than a page starts at the same second: return them all
            kept = [item for item in unique if start_of(item) == cut]
            cut += 1
        result.items, result.resume = kept, cut
    return result


def _iso(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="seconds")
