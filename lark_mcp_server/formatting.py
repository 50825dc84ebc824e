"""Turning Lark's answers into what an agent reads: compact dicts, ISO times, plain text.

Also the argument types shared by the area modules (times with offsets, page size/token).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from mcp_types import CallToolResult, TextContent
from pydantic import BeforeValidator, Field, WithJsonSchema

# -- results ---------------------------------------------------------------------------------


def compact(value: Any) -> Any:
    """Drop None, empty strings and empty containers, recursively: fewer tokens for the agent."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if item is None or item == "":
                continue
            if isinstance(item, dict | list):
                item = compact(item)
                if not item:  # empty, or emptied
                    continue
            out[key] = item
        return out
    if isinstance(value, list):
        return [compact(item) if isinstance(item, dict | list) else item for item in value]
    return value


def table(records: list[dict[str, Any]]) -> list[list[Any]]:
    """Records as one header row of field names, then one row of values per record.

    A page of 20 chats spelled as objects repeats every field name 20 times; the model reads
    each name once here. Columns come in order of first appearance; a record without a field
    has null in that column (the only empty value a table keeps, to hold its place).
    """
    columns: dict[str, None] = {}
    for record in records:
        columns.update(dict.fromkeys(record))
    return [list(columns), *([record.get(name) for name in columns] for record in records)]


def tabulate(payload: dict[str, Any]) -> dict[str, Any]:
    """Every top-level list of records in a result as a `table`; everything else as it is.

    Only the top level: a record's own small lists (a record's people, a comment's replies)
    stay objects, where a table of one or two rows would cost more than it saves.
    """
    return {
        key: table(value)
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value)
        else value
        for key, value in payload.items()
    }


def to_result(payload: dict[str, Any]) -> CallToolResult:
    """The full payload as JSON text in `content`, which every client reads, and only there.

    No `structuredContent` copy: the tools declare no output schema, and a client that hands
    both to the model would have it read every result twice.
    """
    data = tabulate(compact(payload))
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return CallToolResult(content=[TextContent(type="text", text=text)])


def page(
    result: dict[str, Any], data: dict[str, Any], *, cursor: str = "page_token"
) -> dict[str, Any]:
    """Add Lark's paging fields to a list result; the cursor is always answered as page_token."""
    result["has_more"] = bool(data.get("has_more"))
    if data.get("has_more") and data.get(cursor):
        result["page_token"] = data[cursor]
    return result


# -- times -----------------------------------------------------------------------------------

TIME_HINT = "ISO 8601 with a UTC offset, e.g. 2026-11-24T10:00:00+08:00"


def _parse_time(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError(f"{value.isoformat()!r} has no UTC offset; add one, e.g. +08:00")
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a time string, {TIME_HINT}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 time; use {TIME_HINT}") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(f"{value!r} has no UTC offset; add one, e.g. {value.strip()}+08:00")
    return parsed


def time_arg(description: str, *, optional: bool = False) -> Any:
    """An ISO 8601 time argument: a string in the schema, an aware datetime in the tool."""
    return Annotated[
        dt.datetime | None if optional else dt.datetime,
        BeforeValidator(lambda v: None if v is None and optional else _parse_time(v)),
        WithJsonSchema({"type": "string", "format": "date-time"}),
        Field(description=f"{description}; {TIME_HINT}."),
    ]


def unix_seconds(moment: dt.datetime) -> str:
    return str(int(moment.timestamp()))


_EPOCH = dt.datetime(1970, 1, 1)


def iso_at(seconds: float, tz: dt.tzinfo | None = None, timespec: str = "seconds") -> str | None:
    """Unix seconds as ISO 8601 at `tz` (UTC by default); None when that instant has no
    year 1-9999 at that offset.

    Computed in the target offset directly: `fromtimestamp` goes through UTC first, so
    9999-12-31T23:00-12:00 (year 10000 in UTC) raised although it is showable.
    """
    tz = tz or dt.UTC
    offset = tz.utcoffset(None)
    try:
        if offset is None:  # a zone with rules: let Python work out the offset
            return dt.datetime.fromtimestamp(seconds, tz).isoformat(timespec=timespec)
        local = _EPOCH + (dt.timedelta(seconds=seconds) + offset)
    except (OverflowError, OSError, ValueError):
        return None
    return local.replace(tzinfo=tz).isoformat(timespec=timespec)


def iso_from_unix(value: Any, tz: dt.tzinfo | None = None, *, millis: bool = False) -> str | None:
    """Lark's Unix seconds (or milliseconds) as ISO 8601 in `tz` (UTC by default)."""
    if value in (None, "", 0, "0"):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    seconds = number / 1000 if millis else number
    shown = iso_at(seconds, tz)
    return shown if shown is not None else str(value)


def iso_in(value: Any, tz: dt.tzinfo | None) -> str | None:
    """An RFC 3339 time from Lark re-expressed in the caller's offset."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = _parse_time(value)
    except ValueError:
        return value
    return moment.astimezone(tz or dt.UTC).isoformat(timespec="seconds")


# -- paging arguments ------------------------------------------------------------------------

PageToken = Annotated[
    str | None,
    Field(description="page_token from the previous result, to fetch the next page."),
]


def page_size_arg(default: int, maximum: int) -> Any:
    return Annotated[
        int,
        Field(ge=1, le=maximum, description=f"Items per page (1-{maximum}, default {default})."),
    ]


# -- message bodies --------------------------------------------------------------------------


def _post_text(post: dict[str, Any]) -> str:
    """Rich-text (`post`) content as plain text: title, then one line per paragraph."""
    if "content" not in post and post:
        # Sent form wraps the body in a locale: {"zh_cn": {"title", "content"}}.
        post = next((v for v in post.values() if isinstance(v, dict)), {})
    lines = [str(post.get("title") or "").strip()]
    for paragraph in post.get("content") or []:
        parts = []
        for element in paragraph if isinstance(paragraph, list) else []:
            tag = element.get("tag")
            if tag in ("text", "a", "md", "code_block"):
                parts.append(str(element.get("text") or ""))
            elif tag == "at":
                parts.append("@" + str(element.get("user_name") or element.get("user_id") or ""))
            elif tag == "img":
                parts.append("[image]")
            elif tag == "media":
                parts.append("[video]")
            elif tag == "emotion":
                parts.append(f":{element.get('emoji_type', '')}:")
            elif tag == "hr":
                parts.append("---")
        lines.append("".join(parts))
    return "\n".join(line for line in lines if line)


def message_text(msg_type: str | None, content: str | None) -> str:
    """A message body as readable text; non-text kinds become a short marker."""
    try:
        body = json.loads(content) if content else {}
    except ValueError:
        return content or ""
    if not isinstance(body, dict):
        return str(body)
    if msg_type == "text":
        return str(body.get("text") or "")
    if msg_type == "post":
        return _post_text(body)
    if msg_type == "file":
        return f"[file: {body.get('file_name', '')}]"
    if msg_type in ("image", "audio", "media", "sticker"):
        return f"[{msg_type}]"
    if msg_type == "interactive":
        title = body.get("title") or (body.get("header") or {}).get("title", {}).get("content")
        return f"[card: {title}]" if title else "[card]"
    if msg_type == "share_chat":
        return f"[shared chat {body.get('chat_id', '')}]"
    if msg_type == "share_user":
        return f"[shared user {body.get('user_id', '')}]"
    if msg_type == "system":
        return "[system message]"
    return f"[{msg_type}]" if msg_type else ""
