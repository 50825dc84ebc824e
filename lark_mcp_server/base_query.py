"""Which records a Base call wants: the filter form, sort, and where a base argument points.

`search_base_records` takes a small typed filter, `FILTER_SCHEMA` in tools/list
(`{"conjunction": "and"|"or", "conditions": [{field, op, value}]}`); `parse_filter` checks its
shape before anything is sent (so a bad filter is a tool error naming what is wrong, never a
validation dump), `map_filter` then turns it into Lark's filter object by the table's field
types. Earlier callers' `{"and"|"or": [...]}` and a bare condition are still accepted. Pure
functions: no Lark calls, no MCP.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .base_values import (
    PEOPLE_TYPES,
    TIME_EXAMPLE,
    TIME_TYPES,
    BaseField,
    BaseInputError,
    ids_of,
    millis,
    parse_time,
)

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
    '{"conjunction": "and", "conditions": [{"field": "Status", "op": "is", "value": "Open"}, '
    f'{{"field": "Due", "op": "<", "value": "{TIME_EXAMPLE}"}}]}} (conjunction "or" to match '
    "any; ops: " + ", ".join(OPS) + "; empty/not_empty take no value)"
)
MAX_CONDITIONS = 50
"""Lark's search takes at most 50 conditions."""
FILTER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "conjunction": {"type": "string", "enum": ["and", "or"], "default": "and"},
        "conditions": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_CONDITIONS,
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string", "minLength": 1},
                    "op": {"type": "string", "enum": list(OPS)},
                    "value": {
                        "type": ["string", "number", "boolean", "array"],
                        "items": {"type": ["string", "number"]},
                    },
                },
                "required": ["field", "op"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["conditions"],
    "additionalProperties": False,
}
"""The filter as tools/list shows it: typed, so models fill it in right; kept compact."""
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

    Takes `FILTER_SCHEMA`'s `{"conjunction", "conditions"}`, and, from earlier callers,
    `{"and": [...]}`, `{"or": [...]}` or one bare condition; anything else is rejected with the
    form shown.
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
        spec = {"conditions": [spec]}
    if "conditions" in spec:
        extra = sorted(set(spec) - {"conjunction", "conditions"})
        if extra:
            raise _bad_filter(f"has unknown keys {extra}; it takes conjunction and conditions")
        conjunction, items, name = spec.get("conjunction", "and"), spec["conditions"], "conditions"
        if conjunction not in ("and", "or"):
            raise _bad_filter(f"has conjunction {conjunction!r}; it is 'and' or 'or'")
    elif len(spec) == 1 and next(iter(spec)) in ("and", "or"):
        conjunction, items = next(iter(spec.items()))
        name = conjunction
    else:
        raise _bad_filter(
            f"has keys {sorted(spec)}; it takes 'conditions' (a list) and 'conjunction' "
            "('and' or 'or')"
        )
    if not isinstance(items, list) or not items:
        raise _bad_filter(f"'{name}' must be a non-empty list of conditions")
    if len(items) > MAX_CONDITIONS:
        raise _bad_filter(f"has {len(items)} conditions; Lark takes at most {MAX_CONDITIONS}")
    conditions = []
    for i, item in enumerate(items):
        where = f"condition {i + 1}"
        if not isinstance(item, dict):
            raise _bad_filter(f"{where} is not an object")
        if "and" in item or "or" in item or "conditions" in item:
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
    if t in TIME_TYPES:
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
    if t in PEOPLE_TYPES:
        ids = ids_of(value)
        if ids is None:
            raise BaseInputError(
                f"filter on {field.name!r} ({field.kind}) takes an id or a list of ids"
            )
        return ids
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
        if field.type in TIME_TYPES and cond.op not in _DATE_OPS:
            raise BaseInputError(
                f"filter op {cond.op!r} does not apply to the date field {field.name!r}; "
                f"dates take {', '.join(_DATE_OPS)} (compared by day)"
            )
        if cond.op in _ORDERED_OPS and field.type not in {2, 19, 20} | TIME_TYPES:
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
