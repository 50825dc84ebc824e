"""Base (Bitable) field types and values, as pure functions: no Lark calls, no MCP.

Lark encodes a record's field values per field type (text as rich-text segments, dates as
milliseconds, people as `[{"id": ...}]`, ...). Agents see flat `{field name: value}` objects
instead: text as a string, dates as ISO 8601, people as ids. `to_lark` and `from_lark` convert
one value each way by the field's type; `map_filter` turns the small filter form that
`search_base_records` documents into Lark's filter object. Everything here raises
`BaseInputError` with a message written for the agent: what was wrong and the form expected.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .formatting import iso_at


class BaseInputError(ValueError):
    """An argument that does not fit: the message says which and what form is expected."""


# -- field types -----------------------------------------------------------------------------

# Lark's `ui_type` names a field's kind more precisely than its numeric `type` (an email field
# is type 1, like text); both are mapped to the readable names `list_base_fields` shows.
_UI_NAMES = {
    "Text": "text",
    "Email": "email",
    "Barcode": "barcode",
    "Number": "number",
    "Progress": "progress",
    "Currency": "currency",
    "Rating": "rating",
    "SingleSelect": "single_select",
    "MultiSelect": "multi_select",
    "DateTime": "date",
    "Checkbox": "checkbox",
    "User": "person",
    "GroupChat": "group_chat",
    "Phone": "phone",
    "Url": "url",
    "Attachment": "attachment",
    "SingleLink": "link",
    "DuplexLink": "duplex_link",
    "Lookup": "lookup",
    "Formula": "formula",
    "Location": "location",
    "CreatedTime": "created_time",
    "ModifiedTime": "modified_time",
    "CreatedUser": "created_by",
    "ModifiedUser": "modified_by",
    "AutoNumber": "auto_number",
    "Button": "button",
    "Stage": "stage",
}
_TYPE_NAMES = {
    1: "text",
    2: "number",
    3: "single_select",
    4: "multi_select",
    5: "date",
    7: "checkbox",
    11: "person",
    13: "phone",
    15: "url",
    17: "attachment",
    18: "link",
    19: "lookup",
    20: "formula",
    21: "duplex_link",
    22: "location",
    23: "group_chat",
    1001: "created_time",
    1002: "modified_time",
    1003: "created_by",
    1004: "modified_by",
    1005: "auto_number",
    3001: "button",
}
# Lark computes these; a write to them fails.
_COMPUTED = frozenset({19, 20, 1001, 1002, 1003, 1004, 1005, 3001})
_TEXTUAL = frozenset({1, 13, 1005})
TIME_TYPES = frozenset({5, 1001, 1002})
PEOPLE_TYPES = frozenset({11, 1003, 1004, 23})
_LINKS = frozenset({18, 21})

TIME_EXAMPLE = "2026-12-01T09:00:00+08:00"


@dataclass(frozen=True)
class BaseField:
    """One column of a table, as far as converting its values needs."""

    name: str
    type: int
    kind: str
    options: tuple[str, ...] = ()
    primary: bool = False
    multiple: bool | None = None
    description: str = ""

    @property
    def read_only(self) -> bool:
        return self.type in _COMPUTED

    @classmethod
    def from_lark(cls, item: Mapping[str, Any]) -> BaseField:
        ftype = item.get("type")
        ftype = ftype if isinstance(ftype, int) else 0
        kind = _UI_NAMES.get(str(item.get("ui_type") or "")) or _TYPE_NAMES.get(ftype, "other")
        prop = item.get("property") if isinstance(item.get("property"), dict) else {}
        options = tuple(
            str(o["name"]) for o in prop.get("options") or [] if isinstance(o, dict) and "name" in o
        )
        multiple = prop.get("multiple")
        description = item.get("description")
        if isinstance(description, dict):  # Lark answers {"text": ...} with text_field_as_array
            description = description.get("text")
        return cls(
            name=str(item.get("field_name") or ""),
            type=ftype,
            kind=kind,
            options=options,
            primary=bool(item.get("is_primary")),
            multiple=multiple if isinstance(multiple, bool) else None,
            description=str(description or ""),
        )

    def summary(self) -> dict[str, Any]:
        """What `list_base_fields` shows for this field."""
        return {
            "name": self.name,
            "type": self.kind,
            "options": list(self.options),
            "primary": self.primary or None,
            "read_only": self.read_only or None,
            "multiple": self.multiple if self.type in PEOPLE_TYPES else None,
            "description": self.description,
        }


def expected_form(field: BaseField) -> str:
    """How a value for this field is written, for error messages."""
    t = field.type
    if t in _COMPUTED:
        return f"nothing: a {field.kind} field is computed by Lark and cannot be written"
    if t in (1, 13):
        return "a string"
    if t == 2:
        return "a number, e.g. 3.5"
    if t == 3:
        opts = f" (options: {', '.join(field.options)})" if field.options else ""
        return f'one option name, e.g. "{field.options[0] if field.options else "Done"}"{opts}'
    if t == 4:
        opts = f" (options: {', '.join(field.options)})" if field.options else ""
        example = field.options[0] if field.options else "a"
        return f'a list of option names, e.g. ["{example}"]{opts}'
    if t == 5:
        return f"an ISO 8601 time with a UTC offset, e.g. {TIME_EXAMPLE}"
    if t == 7:
        return "true or false"
    if t == 11:
        return 'a list of user open_ids, e.g. ["ou_..."]'
    if t == 23:
        return 'a list of chat_ids, e.g. ["oc_..."]'
    if t == 15:
        return 'a URL string, or {"link": "https://...", "text": "label"}'
    if t == 17:
        return 'a list of file_tokens of files uploaded to this base, e.g. ["boxcn..."]'
    if t in _LINKS:
        return 'a list of record_ids of the linked table, e.g. ["rec..."]'
    if t == 22:
        return 'a "longitude,latitude" string, e.g. "116.397755,39.903179"'
    return "a value in Lark's own encoding for this field type"


# -- times -----------------------------------------------------------------------------------


def parse_time(value: str) -> dt.datetime:
    """An ISO 8601 time with an offset; `BaseInputError` for anything else (no guessing)."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise BaseInputError(f"{value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise BaseInputError(f"{value!r} has no time and UTC offset")
    return moment


def millis(moment: dt.datetime) -> int:
    return round(moment.timestamp() * 1000)


def iso_from_millis(value: Any, tz: dt.tzinfo) -> Any:
    """Lark's milliseconds as ISO 8601 at `tz`; milliseconds shown only when there are some."""
    if isinstance(value, str) and value.lstrip("-").isdigit():
        value = int(value)
    if not isinstance(value, int | float) or isinstance(value, bool):
        return value
    timespec = "milliseconds" if int(value) % 1000 else "seconds"
    shown = iso_at(value / 1000, tz, timespec)
    return shown if shown is not None else value  # beyond years 1-9999: Lark's number as is


def parse_offset(value: str | None) -> dt.tzinfo:
    """`+08:00` / `-05:30` / `Z` as a fixed-offset timezone (UTC when not given)."""
    if not value or value.strip() in ("Z", "z"):
        return dt.UTC
    match = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", value.strip())
    if not match or int(match.group(2)) > 14 or int(match.group(3)) > 59:
        raise BaseInputError(f"utc_offset {value!r} is not an offset like +08:00 or -05:00")
    sign = 1 if match.group(1) == "+" else -1
    delta = dt.timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
    return dt.timezone(sign * delta)


# -- values: agent -> Lark -------------------------------------------------------------------


class _Misfit(Exception):
    """Internal: the value does not fit the field; the caller names field and form."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail)
        self.detail = detail


def ids_of(value: Any) -> list[str] | None:
    """A single id, a list of ids, or Lark-style [{"id": ...}] (what reads give back) as a list
    of ids; None when it is none of these."""
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("id")
        if not isinstance(item, str) or not item.strip():
            return None
        out.append(item.strip())
    return out


def _strings(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) and v for v in items):
        raise _Misfit()
    return list(items)


def _convert(field: BaseField, value: Any) -> Any:
    t = field.type
    if t in _COMPUTED:
        raise _Misfit()
    if t in (1, 13):
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _Misfit()
        return value if isinstance(value, str) else str(value)
    if t == 2:
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                raise _Misfit() from None
            if not math.isfinite(number):  # "1e309", "nan": no JSON number carries them
                raise _Misfit()
            return int(number) if number.is_integer() else number
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Misfit()
        if isinstance(value, float) and not math.isfinite(value):
            raise _Misfit()
        return value
    if t == 3:
        if not isinstance(value, str) or not value:
            raise _Misfit()
        return value
    if t == 4:
        return _strings(value)
    if t == 5:
        if not isinstance(value, str):
            raise _Misfit("dates are not written as numbers")
        try:
            return millis(parse_time(value))
        except BaseInputError as exc:
            raise _Misfit(str(exc)) from None
    if t == 7:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise _Misfit()
    if t in (11, 23):
        ids = ids_of(value)
        if ids is None:
            raise _Misfit()
        return [{"id": i} for i in ids]
    if t == 15:
        if isinstance(value, str) and value.strip():
            return {"text": value.strip(), "link": value.strip()}
        if isinstance(value, dict) and isinstance(value.get("link"), str):
            return {"text": str(value.get("text") or value["link"]), "link": value["link"]}
        raise _Misfit()
    if t == 17:
        tokens = value if isinstance(value, list) else [value]
        out = []
        for token in tokens:
            if isinstance(token, dict):
                token = token.get("file_token")
            if not isinstance(token, str) or not token:
                raise _Misfit()
            out.append({"file_token": token})
        return out
    if t in _LINKS:
        return _strings(value)
    if t == 22:
        if not isinstance(value, str) or not re.fullmatch(r"\s*-?[\d.]+\s*,\s*-?[\d.]+\s*", value):
            raise _Misfit()
        return value.replace(" ", "")
    return value


def to_lark(fields: Mapping[str, BaseField], values: Any) -> dict[str, Any]:
    """A flat {field name: value} object as Lark's record `fields`; every misfit reported at once.

    `None` clears a field. Unknown names, computed fields and values of the wrong form are
    errors naming the field and the form it takes.
    """
    if isinstance(values, str):
        with contextlib.suppress(ValueError):
            values = json.loads(values)
    if not isinstance(values, dict):
        raise BaseInputError(
            'fields must be an object of field name -> value, e.g. {"Name": "Write docs", '
            f'"Due": "{TIME_EXAMPLE}", "Owner": ["ou_..."]}}.'
        )
    if not values:
        raise BaseInputError("fields is empty: give at least one field name -> value.")
    out: dict[str, Any] = {}
    problems: list[str] = []
    for name, value in values.items():
        field = fields.get(name)
        if field is None:
            problems.append(f"{name!r} is not a field of this table (fields: {', '.join(fields)})")
            continue
        if value is None:
            if field.read_only:
                problems.append(f"{name!r} takes {expected_form(field)}")
            else:
                out[name] = None
            continue
        try:
            out[name] = _convert(field, value)
        except _Misfit as misfit:
            why = f" ({misfit.detail})" if misfit.detail else ""
            problems.append(
                f"{name!r} ({field.kind}) takes {expected_form(field)}, not {_show(value)}{why}"
            )
    if problems:
        raise BaseInputError("Field values do not fit the table: " + "; ".join(problems) + ".")
    return out


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def first_offset(values: Any) -> dt.tzinfo | None:
    """The UTC offset of the first ISO time among the values: results echo times in it."""
    items = values.values() if isinstance(values, dict) else values
    for value in items if isinstance(items, Iterable) and not isinstance(items, str) else []:
        if isinstance(value, str) and "T" in value:
            try:
                return parse_time(value).tzinfo
            except BaseInputError:
                continue
    return None


# -- values: Lark -> agent -------------------------------------------------------------------


def _segments_text(value: Any) -> Any:
    """Rich-text segments ([{"type": "text", "text": ...}, mention, url]) as one string."""
    if isinstance(value, list):
        parts = []
        for seg in value:
            if isinstance(seg, dict):
                parts.append(str(seg.get("text") or seg.get("link") or seg.get("name") or ""))
            elif seg is not None:
                parts.append(str(seg))
        return "".join(parts)
    if isinstance(value, dict) and "text" in value:
        return value["text"]
    return value


def _person(item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    return {"id": item.get("id"), "name": item.get("name") or item.get("en_name")}


def _read(t: int, value: Any, tz: dt.tzinfo) -> Any:
    if value is None:
        return None
    if t in _TEXTUAL:
        return _segments_text(value)
    if t in TIME_TYPES:
        return iso_from_millis(value, tz)
    if t == 3:
        return _segments_text(value) if isinstance(value, dict) else value
    if t in PEOPLE_TYPES:
        items = value if isinstance(value, list) else [value]
        return [_person(p) for p in items]
    if t == 15:
        if isinstance(value, dict):
            link, text = value.get("link"), value.get("text")
            return link if not text or text == link else {"link": link, "text": text}
        return _segments_text(value)
    if t == 17 and isinstance(value, list):
        return [
            {"name": a.get("name"), "file_token": a.get("file_token")} if isinstance(a, dict) else a
            for a in value
        ]
    if t in _LINKS:
        if isinstance(value, dict):
            return list(value.get("link_record_ids") or value.get("record_ids") or [])
        if isinstance(value, list):
            ids: list[Any] = []
            for item in value:
                ids.extend(item.get("record_ids") or [] if isinstance(item, dict) else [item])
            return ids
        return value
    if t in (19, 20) and isinstance(value, dict) and "value" in value:
        inner_type = value.get("type") if isinstance(value.get("type"), int) else 0
        inner = value.get("value")
        if inner_type in _TEXTUAL:
            return _segments_text(inner)
        items = inner if isinstance(inner, list) else [inner]
        read = [_read(inner_type, item, tz) for item in items]
        return read[0] if len(read) == 1 else read
    if t == 22 and isinstance(value, dict):
        return value.get("full_address") or value.get("name") or value.get("location")
    return value


def from_lark(
    fields: Mapping[str, BaseField], values: Mapping[str, Any], tz: dt.tzinfo
) -> dict[str, Any]:
    """Lark's record `fields` as the flat object agents read (dates at `tz`)."""
    out = {}
    for name, value in values.items():
        field = fields.get(name)
        out[name] = _read(field.type if field else 0, value, tz)
    return out
