"""Base (Bitable) values, filters and links, as pure functions: no Lark calls, no MCP.

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
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit


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
_TIMES = frozenset({5, 1001, 1002})
_PEOPLE = frozenset({11, 1003, 1004, 23})
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
            "multiple": self.multiple if self.type in _PEOPLE else None,
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
    moment = dt.datetime.fromtimestamp(value / 1000, tz)
    return moment.isoformat(timespec="milliseconds" if int(value) % 1000 else "seconds")


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


def _ids(value: Any) -> list[str]:
    """A single id, a list of ids, or Lark-style [{"id": ...}] (what reads give back)."""
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("id")
        if not isinstance(item, str) or not item.strip():
            raise _Misfit()
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
            return int(number) if number.is_integer() else number
        if isinstance(value, bool) or not isinstance(value, int | float):
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
        return [{"id": i} for i in _ids(value)]
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
    if t in _TIMES:
        return iso_from_millis(value, tz)
    if t == 3:
        return _segments_text(value) if isinstance(value, dict) else value
    if t in _PEOPLE:
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


# -- filters ---------------------------------------------------------------------------------

OPS = {
    "is": "is",
    "is_not": "isNot",
    "contains": "contains",
    "not_contains": "doesNotContain",
    "empty": "isEmpty",
    "not_empty": "isNotEmpty",
    ">": "isGreater",
    ">=": "isGreaterEqual",
    "<": "isLess",
    "<=": "isLessEqual",
}
FILTER_FORM = (
    '{"and": [{"field": "Status", "op": "is", "value": "Open"}, {"field": "Due", "op": "<", '
    f'"value": "{TIME_EXAMPLE}"}}]}} ("or" instead of "and" to match any; ops: '
    + ", ".join(OPS)
    + "; empty/not_empty take no value)"
)
_DATE_WORDS = {"today": "Today", "tomorrow": "Tomorrow", "yesterday": "Yesterday"}
_DATE_OPS = ("is", "<", ">", "empty", "not_empty")
_ORDERED_OPS = (">", ">=", "<", "<=")


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any


def _bad_filter(problem: str) -> BaseInputError:
    return BaseInputError(f"filter {problem}. Use this form: {FILTER_FORM}")


def parse_filter(spec: Any) -> tuple[str, list[Condition]] | None:
    """Check the filter's shape (no field types needed): (conjunction, conditions).

    Accepts `{"and": [...]}`, `{"or": [...]}`, or one bare condition; anything else is
    rejected with the form shown.
    """
    if spec is None:
        return None
    if isinstance(spec, str):
        try:
            spec = json.loads(spec)
        except ValueError:
            raise _bad_filter("is not a JSON object") from None
    if not isinstance(spec, dict):
        raise _bad_filter(f"must be an object, not {type(spec).__name__}")
    if not spec:
        return None
    if "field" in spec:
        spec = {"and": [spec]}
    if len(spec) != 1 or next(iter(spec)) not in ("and", "or"):
        raise _bad_filter(f"has keys {sorted(spec)}; it takes exactly one of 'and' or 'or'")
    conjunction, items = next(iter(spec.items()))
    if not isinstance(items, list) or not items:
        raise _bad_filter(f"'{conjunction}' must be a non-empty list of conditions")
    if len(items) > 50:
        raise _bad_filter(f"has {len(items)} conditions; Lark takes at most 50")
    conditions = []
    for i, item in enumerate(items):
        where = f"condition {i + 1}"
        if not isinstance(item, dict):
            raise _bad_filter(f"{where} is not an object")
        if "and" in item or "or" in item:
            raise _bad_filter(f"{where} is a nested group; nesting is not supported")
        extra = sorted(set(item) - {"field", "op", "value"})
        if extra:
            raise _bad_filter(f"{where} has unknown keys {extra}")
        name, op = item.get("field"), item.get("op")
        if not isinstance(name, str) or not name:
            raise _bad_filter(f"{where} has no 'field' (a field name)")
        if op not in OPS:
            raise _bad_filter(f"{where} has op {op!r}, which is not one of {', '.join(OPS)}")
        value = item.get("value")
        if op in ("empty", "not_empty"):
            value = None
        elif value is None or value == [] or value == "":
            raise _bad_filter(f"{where} ({name} {op}) needs a 'value'")
        conditions.append(Condition(name, op, value))
    return conjunction, conditions


def _operand(field: BaseField, cond: Condition) -> list[str]:
    """The condition's value as Lark's list of strings, by the field's type."""
    t, value = field.type, cond.value
    values = value if isinstance(value, list) else [value]
    if t in _TIMES:
        if len(values) != 1 or not isinstance(values[0], str):
            raise BaseInputError(
                f"filter on {field.name!r} (date) takes one ISO 8601 time, e.g. {TIME_EXAMPLE}, "
                "a day (2026-12-01), or today/tomorrow/yesterday"
            )
        text = values[0].strip()
        word = _DATE_WORDS.get(text.lower())
        if word:
            return [word]
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            # A bare day: noon UTC falls on that same day for every offset from -12 to +11
            # hours, and Lark compares dates by day in the base's own timezone.
            try:
                day = dt.date.fromisoformat(text)
            except ValueError:
                raise BaseInputError(f"filter on {field.name!r}: {text!r} is no date") from None
            noon = dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC)
            return ["ExactDate", str(millis(noon))]
        try:
            return ["ExactDate", str(millis(parse_time(values[0])))]
        except BaseInputError as exc:
            raise BaseInputError(
                f"filter on {field.name!r} (date): {exc}; use e.g. {TIME_EXAMPLE} or 2026-12-01"
            ) from None
    if t == 7:
        if len(values) == 1 and isinstance(values[0], bool):
            return ["true" if values[0] else "false"]
        if len(values) == 1 and str(values[0]).lower() in ("true", "false"):
            return [str(values[0]).lower()]
        raise BaseInputError(f"filter on {field.name!r} (checkbox) takes true or false")
    if t == 2 or (t in (19, 20) and cond.op in _ORDERED_OPS):
        try:
            numbers = [float(v) for v in values if not isinstance(v, bool)]
        except (TypeError, ValueError):
            numbers = []
        if len(numbers) != 1 or len(values) != 1:
            raise BaseInputError(f"filter on {field.name!r} ({field.kind}) takes one number")
        return [str(int(numbers[0]) if numbers[0].is_integer() else numbers[0])]
    if t in _PEOPLE:
        try:
            return _ids(value)
        except _Misfit:
            raise BaseInputError(
                f"filter on {field.name!r} ({field.kind}) takes an id or a list of ids"
            ) from None
    if not all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in values):
        raise BaseInputError(f"filter on {field.name!r} ({field.kind}) takes text values")
    return [str(v) for v in values]


def map_filter(
    parsed: tuple[str, list[Condition]] | None, fields: Mapping[str, BaseField]
) -> dict[str, Any] | None:
    """The parsed filter as Lark's {conjunction, conditions: [{field_name, operator, value}]}."""
    if parsed is None:
        return None
    conjunction, conditions = parsed
    out = []
    for cond in conditions:
        field = fields.get(cond.field)
        if field is None:
            raise BaseInputError(
                f"filter names {cond.field!r}, which is not a field of this table "
                f"(fields: {', '.join(fields)})"
            )
        if field.type in _TIMES and cond.op not in _DATE_OPS:
            raise BaseInputError(
                f"filter op {cond.op!r} does not apply to the date field {field.name!r}; "
                f"dates take {', '.join(_DATE_OPS)} (compared by day)"
            )
        if cond.op in _ORDERED_OPS and field.type not in {2, 19, 20} | _TIMES:
            raise BaseInputError(
                f"filter op {cond.op!r} does not apply to {field.name!r} ({field.kind}); "
                "it compares numbers and dates"
            )
        operand = [] if cond.value is None else _operand(field, cond)
        out.append({"field_name": field.name, "operator": OPS[cond.op], "value": operand})
    return {"conjunction": conjunction, "conditions": out}


def map_sort(sort: list[str] | None, fields: Mapping[str, BaseField]) -> list[dict[str, Any]]:
    """["Due", "-Estimate"] as Lark's [{field_name, desc}] ('-' first: descending)."""
    out = []
    for item in sort or []:
        name, desc = item, False
        if name not in fields and name.startswith("-"):
            name, desc = name[1:], True
        if name not in fields:
            raise BaseInputError(
                f"sort names {item!r}, which is not a field of this table "
                f"(fields: {', '.join(fields)}); prefix a name with '-' to sort descending"
            )
        out.append({"field_name": name, "desc": desc})
    return out


# -- base references -------------------------------------------------------------------------

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{6,64}$")
BASE_FORMS = (
    "an app_token (e.g. bascnXXXX) or a base URL such as "
    "https://<tenant>.feishu.cn/base/<app_token>?table=<table_id> (larksuite.com and "
    "wiki-hosted bases, .../wiki/<token>?table=..., work too)"
)


@dataclass(frozen=True)
class BaseRef:
    """Where a base argument points: its app_token, or a wiki node hosting it; maybe a table."""

    token: str
    in_wiki: bool = False
    table_id: str | None = None


def parse_base(value: str) -> BaseRef:
    """An app_token or base/wiki URL as a `BaseRef`; `BaseInputError` for anything else."""
    text = value.strip()
    if "/" not in text and "?" not in text:
        if not _TOKEN.match(text):
            raise BaseInputError(f"base {text!r} is not {BASE_FORMS}")
        return BaseRef(text)
    url = urlsplit(text if "://" in text else "https://" + text)
    parts = [p for p in url.path.split("/") if p]
    table = (parse_qs(url.query).get("table") or [None])[0]
    for kind in ("base", "wiki"):
        if kind in parts and parts.index(kind) + 1 < len(parts):
            token = parts[parts.index(kind) + 1]
            if _TOKEN.match(token):
                return BaseRef(token, in_wiki=kind == "wiki", table_id=table or None)
    raise BaseInputError(f"base {text!r} is not {BASE_FORMS}")
