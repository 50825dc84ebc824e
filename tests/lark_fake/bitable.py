"""bitable/v1 (Base): tables, fields, record search with filters, record create/update.

Field values use Lark's encodings. Written as: text "str", number 3.5, single select "name",
multi select ["a", "b"], date 1732406400000 (ms), checkbox true, person [{"id": "ou_..."}].
Read back (search) text becomes [{"text": "...", "type": "text"}] and a person
[{"id", "name", "en_name", "email"}]; the rest read back as written.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .errors import LarkError, field_error
from .paging import paginate
from .routing import Call, Endpoint
from .seed import CST

if TYPE_CHECKING:
    from .fake import FakeLark

BASE_NOT_FOUND = 1254040  # BaseTokenNotFound
TABLE_NOT_FOUND = 1254041  # TableIdNotFound
RECORD_NOT_FOUND = 1254043  # RecordIdNotFound
FIELD_NOT_FOUND = 1254045  # FieldNameNotFound
INVALID_SORT = 1254017  # InvalidSort
INVALID_FILTER = 1254018  # InvalidFilter
CONV_FAIL = {  # "<Type>FieldConvFail": the value does not fit the field's type
    1: (1254060, "TextFieldConvFail"),
    2: (1254061, "NumberFieldConvFail"),
    3: (1254062, "SingleSelectFieldConvFail"),
    4: (1254063, "MultiSelectFieldConvFail"),
    5: (1254064, "DatetimeFieldConvFail"),
    7: (1254065, "CheckboxFieldConvFail"),
    11: (1254066, "UserFieldConvFail"),
}
OPERATORS = (
    "is",
    "isNot",
    "contains",
    "doesNotContain",
    "isEmpty",
    "isNotEmpty",
    "isGreater",
    "isGreaterEqual",
    "isLess",
    "isLessEqual",
)


def _table(fake: FakeLark, call: Call) -> dict[str, Any]:
    base = fake.bases.get(call.params["app_token"])
    if base is None:
        raise LarkError(BASE_NOT_FOUND, "BaseTokenNotFound", status=404)
    table = base["tables"].get(call.params.get("table_id", ""))
    if table is None:
        raise LarkError(TABLE_NOT_FOUND, "TableIdNotFound", status=404)
    return table


def _field(table: dict[str, Any], name: Any) -> dict[str, Any]:
    for field in table["fields"]:
        if field["field_name"] == name:
            return field
    raise LarkError(
        FIELD_NOT_FOUND, f"FieldNameNotFound: {name!r} is not a field of table {table['table_id']}"
    )


def _conv_fail(field: dict[str, Any], why: str) -> LarkError:
    code, name = CONV_FAIL[field["type"]]
    return LarkError(code, f"{name}: field {field['field_name']!r} {why}")


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _convert(fake: FakeLark, field: dict[str, Any], value: Any) -> Any:
    """Check a written value against the field type; return how it is stored."""
    kind = field["type"]
    if kind == 1:
        if not isinstance(value, str):
            raise _conv_fail(field, "takes a string")
        return value
    if kind == 2:
        if not _is_number(value):
            raise _conv_fail(field, "takes a number")
        return value
    if kind == 3:
        if not isinstance(value, str):
            raise _conv_fail(field, "takes an option name (string)")
        _ensure_option(field, value)
        return value
    if kind == 4:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _conv_fail(field, "takes a list of option names")
        for v in value:
            _ensure_option(field, v)
        return list(value)
    if kind == 5:
        if not isinstance(value, int) or isinstance(value, bool):
            raise _conv_fail(field, "takes a Unix timestamp in milliseconds (integer)")
        return value
    if kind == 7:
        if not isinstance(value, bool):
            raise _conv_fail(field, "takes true or false")
        return value
    if kind == 11:
        if not isinstance(value, list) or not all(
            isinstance(p, dict) and isinstance(p.get("id"), str) for p in value
        ):
            raise _conv_fail(field, 'takes a list of {"id": "<open_id>"}')
        known = {u["open_id"] for u in fake.users}
        for person in value:
            if person["id"] not in known:
                raise _conv_fail(field, f"names an unknown user {person['id']!r}")
        return [{"id": p["id"]} for p in value]
    raise _conv_fail(field, "is of a type the fake does not write")


def _ensure_option(field: dict[str, Any], name: str) -> None:
    """Lark adds an unknown option to the field rather than failing."""
    options = field["property"]["options"]
    if not any(o["name"] == name for o in options):
        options.append({"id": f"optNew{len(options)}", "name": name, "color": len(options)})


def _read_value(fake: FakeLark, field: dict[str, Any], value: Any) -> Any:
    if field["type"] == 1:
        return [{"text": value, "type": "text"}]
    if field["type"] == 11:
        out = []
        for person in value:
            user = fake.user(person["id"])
            out.append(
                {
                    "id": user["open_id"],
                    "name": user["name"],
                    "en_name": user["en_name"],
                    "email": user["email"],
                }
            )
        return out
    return value


def _read_record(
    fake: FakeLark, table: dict[str, Any], record: dict[str, Any], names: list[str] | None = None
) -> dict[str, Any]:
    fields = {}
    for name, value in record["fields"].items():
        if value is None or (names is not None and name not in names):
            continue
        fields[name] = _read_value(fake, _field(table, name), value)
    return {"record_id": record["record_id"], "fields": fields}


# ------------------------------------------------------------------ filters


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _day(ms: int) -> Any:
    return datetime.fromtimestamp(ms / 1000, CST).date()


def _date_operand(field: dict[str, Any], value: list[Any]) -> Any:
    mode = value[0] if value else None
    today = datetime.now(CST).date()
    relative = {"Today": 0, "Tomorrow": 1, "Yesterday": -1}
    if mode in relative:
        return today + timedelta(days=relative[mode])
    if mode == "ExactDate" and len(value) == 2:
        try:
            return _day(int(value[1]))
        except (TypeError, ValueError):
            pass
    raise LarkError(
        INVALID_FILTER,
        f"InvalidFilter: a date condition on {field['field_name']!r} "
        'takes ["ExactDate", "<ms timestamp>"], ["Today"], ["Tomorrow"] or '
        '["Yesterday"]',
    )


def _number_operand(field: dict[str, Any], value: list[Any]) -> float:
    try:
        return float(value[0])
    except (IndexError, TypeError, ValueError):
        raise LarkError(
            INVALID_FILTER,
            f"InvalidFilter: a number condition on "
            f'{field["field_name"]!r} takes one number, like ["10"]',
        ) from None


def _bool_operand(field: dict[str, Any], value: list[Any]) -> bool:
    first = value[0] if value else None
    if first in (True, "true"):
        return True
    if first in (False, "false"):
        return False
    raise LarkError(
        INVALID_FILTER,
        f"InvalidFilter: a checkbox condition on "
        f'{field["field_name"]!r} takes ["true"] or ["false"]',
    )


def _matches(field: dict[str, Any], operator: str, value: list[Any], stored: Any) -> bool:
    if operator == "isEmpty":
        return _empty(stored)
    if operator == "isNotEmpty":
        return not _empty(stored)
    kind = field["type"]
    negate = operator in ("isNot", "doesNotContain")
    if kind == 5:
        # Lark's record search takes only is / isGreater / isLess (and the empty checks) on
        # dates: isNot, contains, isGreaterEqual and isLessEqual "do not support date fields".
        if operator not in ("is", "isGreater", "isLess"):
            raise LarkError(
                INVALID_FILTER,
                f"InvalidFilter: operator {operator!r} does not support date field "
                f"{field['field_name']!r}",
            )
        want = _date_operand(field, value)
        if _empty(stored):
            return negate
        got = _day(stored)
        result = {"is": got == want, "isGreater": got > want, "isLess": got < want}.get(operator)
    elif kind == 2:
        want = _number_operand(field, value)
        if _empty(stored):
            return negate
        result = {
            "is": stored == want,
            "isNot": stored != want,
            "isGreater": stored > want,
            "isGreaterEqual": stored >= want,
            "isLess": stored < want,
            "isLessEqual": stored <= want,
        }.get(operator)
    elif kind == 7:
        want_bool = _bool_operand(field, value)
        result = {"is": bool(stored) == want_bool, "isNot": bool(stored) != want_bool}.get(operator)
    else:
        wanted = [str(v) for v in value]
        if kind == 1:
            text = stored or ""
            first = wanted[0] if wanted else ""
            result = {
                "is": text == first,
                "isNot": text != first,
                "contains": any(w in text for w in wanted),
                "doesNotContain": not any(w in text for w in wanted),
            }.get(operator)
        else:  # selects and people compare as sets of names / open_ids
            if kind == 11:
                have = {p["id"] for p in stored or []}
            elif kind == 4:
                have = set(stored or [])
            else:
                have = {stored} if stored else set()
            result = {
                "is": have == set(wanted),
                "isNot": have != set(wanted),
                "contains": bool(have & set(wanted)),
                "doesNotContain": not have & set(wanted),
            }.get(operator)
    if result is None:
        raise LarkError(
            INVALID_FILTER,
            f"InvalidFilter: operator {operator!r} does not apply to "
            f"field {field['field_name']!r} ({field['ui_type']})",
        )
    return result


def _filter(table: dict[str, Any], spec: Any) -> list[dict[str, Any]]:
    records = table["records"]
    if spec is None:
        return list(records)
    if not isinstance(spec, dict):
        raise field_error("filter", "filter must be an object {conjunction, conditions}")
    if spec.get("children"):
        raise field_error("filter.children", "nested filter groups are not supported")
    conjunction = spec.get("conjunction", "and")
    if conjunction not in ("and", "or"):
        raise field_error("filter.conjunction", "conjunction must be and or or")
    conditions = spec.get("conditions") or []
    if not isinstance(conditions, list) or len(conditions) > 50:
        raise field_error("filter.conditions", "conditions must be a list of at most 50")
    checks = []
    for i, cond in enumerate(conditions):
        if not isinstance(cond, dict):
            raise field_error(f"filter.conditions[{i}]", "each condition must be an object")
        operator = cond.get("operator")
        if operator not in OPERATORS:
            raise field_error(
                f"filter.conditions[{i}].operator",
                f"operator must be one of {', '.join(OPERATORS)}",
            )
        value = cond.get("value", [])
        if not isinstance(value, list):
            raise field_error(f"filter.conditions[{i}].value", "value must be a list")
        checks.append((_field(table, cond.get("field_name")), operator, value))
    combine = all if conjunction == "and" else any
    return (
        [
            r
            for r in records
            if combine(_matches(f, op, v, r["fields"].get(f["field_name"])) for f, op, v in checks)
        ]
        if checks
        else list(records)
    )


def _sort(table: dict[str, Any], records: list[dict[str, Any]], spec: Any) -> list[dict[str, Any]]:
    if not spec:
        return records
    if not isinstance(spec, list):
        raise field_error("sort", "sort must be a list of {field_name, desc}")
    for rule in reversed(spec):
        if not isinstance(rule, dict):
            raise field_error("sort", "each sort rule must be an object")
        try:
            field = _field(table, rule.get("field_name"))
        except LarkError:
            raise LarkError(
                INVALID_SORT,
                f"InvalidSort: {rule.get('field_name')!r} is not a field of this table",
            ) from None
        name, desc = field["field_name"], bool(rule.get("desc", False))

        def key(r: dict[str, Any], name: str = name, kind: int = field["type"]) -> Any:
            v = r["fields"].get(name)
            if kind == 11:
                v = ",".join(p["id"] for p in v or [])
            elif kind == 4:
                v = ",".join(v or [])
            return (v is None or v == "", v if v is not None else "")

        present = [r for r in records if not key(r)[0]]
        missing = [r for r in records if key(r)[0]]
        records = sorted(present, key=lambda r: key(r)[1], reverse=desc) + missing
    return records


# ------------------------------------------------------------------ handlers


async def list_tables(fake: FakeLark, call: Call) -> dict[str, Any]:
    base = fake.bases.get(call.params["app_token"])
    if base is None:
        raise LarkError(BASE_NOT_FOUND, "BaseTokenNotFound", status=404)
    tables = [
        {"table_id": t["table_id"], "revision": t["revision"], "name": t["name"]}
        for t in base["tables"].values()
    ]
    page, has_more, token = paginate(
        tables, call.query, scope=f"tables:{base['app_token']}", maximum=100
    )
    return {"has_more": has_more, "page_token": token, "total": len(tables), "items": page}


async def list_fields(fake: FakeLark, call: Call) -> dict[str, Any]:
    table = _table(fake, call)
    page, has_more, token = paginate(
        table["fields"], call.query, scope=f"fields:{table['table_id']}", maximum=100
    )
    return {"has_more": has_more, "page_token": token, "total": len(table["fields"]), "items": page}


async def search_records(fake: FakeLark, call: Call) -> dict[str, Any]:
    table = _table(fake, call)
    names = call.body.get("field_names")
    if names is not None:
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise field_error("field_names", "field_names must be a list of field names")
        for name in names:
            _field(table, name)
    found = _sort(table, _filter(table, call.body.get("filter")), call.body.get("sort"))
    page, has_more, token = paginate(
        found, call.query, scope=f"search:{table['table_id']}", maximum=500
    )
    return {
        "items": [_read_record(fake, table, r, names) for r in page],
        "has_more": has_more,
        "page_token": token,
        "total": len(found),
    }


def _fields_in(fake: FakeLark, table: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    fields = body.get("fields")
    if not isinstance(fields, dict):
        raise field_error("fields", "fields must be an object of field name -> value")
    return {
        name: None if value is None else _convert(fake, _field(table, name), value)
        for name, value in fields.items()
    }


def _echo(record: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in record["fields"].items() if v is not None}
    return {"record": {"fields": kept, "id": record["record_id"], "record_id": record["record_id"]}}


async def create_record(fake: FakeLark, call: Call) -> dict[str, Any]:
    table = _table(fake, call)
    fields = _fields_in(fake, table, call.body)
    key = call.query.get("client_token") or None
    if (hit := fake.remembered(f"record:{table['table_id']}", key)) is not None:
        return hit
    record = {"record_id": fake.new_id("recC", 8), "fields": fields}
    table["records"].append(record)
    fake.record_write("record", {**record, "table_id": table["table_id"]})
    data = _echo(record)
    fake.remember(f"record:{table['table_id']}", key, data)
    return data


def _record(table: dict[str, Any], record_id: str) -> dict[str, Any]:
    for record in table["records"]:
        if record["record_id"] == record_id:
            return record
    raise LarkError(RECORD_NOT_FOUND, "RecordIdNotFound", status=404)


async def update_record(fake: FakeLark, call: Call) -> dict[str, Any]:
    table = _table(fake, call)
    record = _record(table, call.params["record_id"])
    changes = _fields_in(fake, table, call.body)
    record["fields"].update(changes)
    fake.record_write(
        "record_update",
        {"record_id": record["record_id"], "table_id": table["table_id"], "fields": changes},
    )
    return _echo(record)


async def get_record(fake: FakeLark, call: Call) -> dict[str, Any]:
    table = _table(fake, call)
    return {"record": _read_record(fake, table, _record(table, call.params["record_id"]))}


def endpoints() -> list[Endpoint]:
    app = "/open-apis/bitable/v1/apps/{app_token}"
    table = f"{app}/tables/{{table_id}}"
    return [
        Endpoint("GET", f"{app}/tables", list_tables),
        Endpoint("GET", f"{table}/fields", list_fields),
        Endpoint("POST", f"{table}/records/search", search_records),
        Endpoint("POST", f"{table}/records", create_record),
        Endpoint("GET", f"{table}/records/{{record_id}}", get_record),
        Endpoint("PUT", f"{table}/records/{{record_id}}", update_record),
    ]
