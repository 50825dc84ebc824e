"""Base (Bitable): tables, fields, record search, record create/update as flat field objects.

Values are converted (`base_values.py`) and filters mapped (`base_query.py`) by the table's
field types, so every record tool fetches the table's fields once per call. A base argument is
an app_token or a base URL (a wiki-hosted base is resolved through its wiki node).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field, WithJsonSchema

from .base_query import BASE_FORMS, FILTER_SCHEMA, map_filter, map_sort, parse_base, parse_filter
from .base_values import (
    TIME_EXAMPLE,
    BaseField,
    BaseInputError,
    first_offset,
    from_lark,
    parse_offset,
    to_lark,
)
from .formatting import PageToken, page, page_size_arg
from .lark_client import LarkCall
from .paths import APP_TOKEN, RECORD_ID, TABLE_ID, Segment, shown
from .registry import ToolSet
from .wiki import wiki_node

TOOLS = ToolSet()

MAX_FIELD_PAGES = 10  # 1,000 fields; Lark allows far fewer per table

BaseArg = Annotated[
    str,
    Field(
        min_length=1,
        description="Base app_token or URL (https://<tenant>.feishu.cn/base/<app_token>"
        "?table=<table_id>; wiki URLs too).",
    ),
]
TableArg = Annotated[
    str | None,
    Field(description="Table id (tbl...); not needed when the base URL has ?table=."),
]
FieldsArg = Annotated[
    Any,
    WithJsonSchema({"type": "object"}),
    Field(
        description="Field name -> value: text, numbers, option names, true/false, "
        f"dates as ISO 8601 ({TIME_EXAMPLE}), people as open_ids; null clears. "
        "list_base_fields shows each field's type."
    ),
]


APP = "/open-apis/bitable/v1/apps/{app_token}"
TABLE = "/open-apis/bitable/v1/apps/{app_token}/tables/{table_id}"


def _app(app_token: str) -> tuple[Segment, ...]:
    """The path segments for APP; app_token is resolve_base's, already checked."""
    return (APP_TOKEN.segment("base", app_token),)


def _table(app_token: str, table_id: str | None) -> tuple[Segment, ...]:
    """The path segments for TABLE (both ids already checked by resolve_base)."""
    return (APP_TOKEN.segment("base", app_token), TABLE_ID.segment("table_id", table_id))


async def resolve_base(
    lark: LarkCall, base: str, table_id: str | None, *, need_table: bool = True
) -> tuple[str, str | None]:
    """A base argument (+ table_id) as (app_token, table_id), via the wiki for wiki URLs."""
    try:
        ref = parse_base(base)
    except BaseInputError as exc:
        raise ToolError(str(exc)) from None
    except ValueError as exc:  # urlsplit: a malformed URL, e.g. an unclosed '['
        raise ToolError(f"base {shown(base)} is not a valid URL ({exc}).") from None
    explicit = (table_id or "").strip() or None
    if explicit:
        explicit = TABLE_ID.check("table_id", explicit)
    elif ref.table_id:
        TABLE_ID.check("base (its ?table=)", ref.table_id)
    if explicit and ref.table_id and explicit != ref.table_id:
        raise ToolError(
            f"table_id {explicit!r} and the base URL's table {ref.table_id!r} differ; give one."
        )
    table = explicit or ref.table_id
    if need_table and not table:
        raise ToolError(
            "Which table? Give table_id (list_base_tables lists them) or a base URL with "
            "?table=<table_id>."
        )
    if not ref.in_wiki:
        return APP_TOKEN.check("base", ref.token), table
    node = await wiki_node(lark, ref.token)
    if node.get("obj_type") != "bitable" or not node.get("obj_token"):
        raise ToolError(
            f"The wiki page {ref.token} is a {node.get('obj_type') or 'page'}, not a base. "
            f"A base argument is {BASE_FORMS}."
        )
    return APP_TOKEN.check("base", str(node["obj_token"])), table


async def table_fields(lark: LarkCall, app_token: str, table_id: str) -> dict[str, BaseField]:
    """All fields of a table by name (every page), for converting values."""
    fields: dict[str, BaseField] = {}
    token = None
    for _ in range(MAX_FIELD_PAGES):
        data = await lark.get(
            TABLE + "/fields",
            *_table(app_token, table_id),
            params={"page_size": 100, "page_token": token},
        )
        for item in data.get("items") or []:
            field = BaseField.from_lark(item)
            fields[field.name] = field
        token = data.get("page_token")
        if not data.get("has_more") or not token:
            break
    return fields


def _tool_error(exc: BaseInputError) -> ToolError:
    return ToolError(str(exc))


@TOOLS.tool(
    title="List base tables",
    description="List the tables of a Lark Base (Bitable) with their table_id.",
    read_only=True,
)
async def list_base_tables(
    lark: LarkCall,
    base: BaseArg,
    page_size: page_size_arg(20, 100) = 20,
    page_token: PageToken = None,
) -> dict[str, Any]:
    app_token, _ = await resolve_base(lark, base, None, need_table=False)
    data = await lark.get(
        APP + "/tables", *_app(app_token), params={"page_size": page_size, "page_token": page_token}
    )
    tables = [
        {"table_id": item.get("table_id"), "name": item.get("name")}
        for item in data.get("items") or []
    ]
    return page({"app_token": app_token, "tables": tables}, data)


@TOOLS.tool(
    title="List base fields",
    description="List a Base table's fields: name, type (text, number, single_select, date, "
    "person, ...) and select options.",
    read_only=True,
)
async def list_base_fields(
    lark: LarkCall,
    base: BaseArg,
    table_id: TableArg = None,
    page_size: page_size_arg(100, 100) = 100,
    page_token: PageToken = None,
) -> dict[str, Any]:
    app_token, table = await resolve_base(lark, base, table_id)
    data = await lark.get(
        TABLE + "/fields",
        *_table(app_token, table),
        params={"page_size": page_size, "page_token": page_token},
    )
    fields = [BaseField.from_lark(item).summary() for item in data.get("items") or []]
    return page({"app_token": app_token, "table_id": table, "fields": fields}, data)


@TOOLS.tool(
    title="Search base records",
    description="Find records in a Base table, optionally filtered and sorted; a row per "
    "record under a header row of field names.",
    read_only=True,
)
async def search_base_records(
    lark: LarkCall,
    base: BaseArg,
    table_id: TableArg = None,
    filter: Annotated[
        Any,
        WithJsonSchema(FILTER_SCHEMA),
        Field(
            description="Optional. Dates compare by day (ISO 8601, YYYY-MM-DD, today); "
            "people/options take a list."
        ),
    ] = None,
    sort: Annotated[
        list[str] | None,
        Field(description="Field names to sort by; '-' first for descending, e.g. ['-Due']."),
    ] = None,
    field_names: Annotated[list[str] | None, Field(description="Only return these fields.")] = None,
    utc_offset: Annotated[
        str | None, Field(description="Offset for dates in results, e.g. +08:00; default UTC.")
    ] = None,
    page_size: page_size_arg(20, 500) = 20,
    page_token: PageToken = None,
) -> dict[str, Any]:
    # Shape checks first: a malformed filter never reaches Lark.
    try:
        parsed = parse_filter(filter)
        tz = parse_offset(utc_offset)
    except BaseInputError as exc:
        raise _tool_error(exc) from None
    app_token, table = await resolve_base(lark, base, table_id)
    fields = await table_fields(lark, app_token, table)
    try:
        lark_filter = map_filter(parsed, fields)
        lark_sort = map_sort(sort, fields)
    except BaseInputError as exc:
        raise _tool_error(exc) from None
    unknown = [name for name in field_names or [] if name not in fields]
    if unknown:
        raise ToolError(
            f"field_names has {', '.join(map(repr, unknown))}, not fields of this table "
            f"(fields: {', '.join(fields)})."
        )
    body: dict[str, Any] = {"automatic_fields": False}
    if lark_filter:
        body["filter"] = lark_filter
    if lark_sort:
        body["sort"] = lark_sort
    if field_names:
        body["field_names"] = field_names
    data = await lark.post(
        TABLE + "/records/search",
        *_table(app_token, table),
        params={"user_id_type": "open_id", "page_size": page_size, "page_token": page_token},
        json=body,
        idempotent=True,  # a search stores nothing
    )
    # One flat row per record, the table's fields in the table's order: the result is a table
    # (formatting.table), so each field's name is read once per page, not once per record.
    id_column = "_record_id" if "record_id" in fields else "record_id"
    records = []
    for item in data.get("items") or []:
        if isinstance(item.get("fields"), dict):
            values = from_lark(fields, item["fields"], tz)
            order = [name for name in fields if name in values] + [
                name for name in values if name not in fields
            ]
            records.append({id_column: item.get("record_id"), **{n: values[n] for n in order}})
    result: dict[str, Any] = {"records": records}
    if isinstance(data.get("total"), int):
        result["total"] = data["total"]
    return page(result, data)


async def _prepare_write(
    lark: LarkCall, base: str, table_id: str | None, values: Any
) -> tuple[str, str, dict[str, BaseField], dict[str, Any], dt.tzinfo]:
    app_token, table = await resolve_base(lark, base, table_id)
    fields = await table_fields(lark, app_token, table)
    try:
        converted = to_lark(fields, values)
    except BaseInputError as exc:
        raise _tool_error(exc) from None
    tz = first_offset(values) if isinstance(values, dict) else None
    return app_token, table or "", fields, converted, tz or dt.UTC


def _record_result(
    data: dict[str, Any], fields: dict[str, BaseField], tz: dt.tzinfo, table: str
) -> dict[str, Any]:
    record = data.get("record") or {}
    return {
        "record_id": record.get("record_id") or record.get("id"),
        "table_id": table,
        "fields": from_lark(fields, record.get("fields") or {}, tz),
    }


@TOOLS.tool(
    title="Create base record",
    description="Add a record (row) to a Base table from field name -> value.",
    read_only=False,
)
async def create_base_record(
    lark: LarkCall, base: BaseArg, fields: FieldsArg, table_id: TableArg = None
) -> dict[str, Any]:
    app_token, table, known, converted, tz = await _prepare_write(lark, base, table_id, fields)
    data = await lark.post(
        TABLE + "/records",
        *_table(app_token, table),
        params={"user_id_type": "open_id", "client_token": lark.new_key()},
        json={"fields": converted},
        idempotent=True,  # the client_token makes Lark answer a retry with the first record
    )
    return _record_result(data, known, tz, table)


@TOOLS.tool(
    title="Update base record",
    description="Overwrite the given fields of a Base record (others stay as they are).",
    read_only=False,
    destructive=True,
    idempotent=True,
)
async def update_base_record(
    lark: LarkCall,
    base: BaseArg,
    record_id: Annotated[str, Field(min_length=1, description="The record (rec...).")],
    fields: FieldsArg,
    table_id: TableArg = None,
) -> dict[str, Any]:
    record = RECORD_ID.segment("record_id", record_id)
    app_token, table, known, converted, tz = await _prepare_write(lark, base, table_id, fields)
    # Writing the same values again leaves the same record: safe to retry.
    data = await lark.put(
        TABLE + "/records/{record_id}",
        *_table(app_token, table),
        record,
        params={"user_id_type": "open_id"},
        json={"fields": converted},
        idempotent=True,
    )
    return _record_result(data, known, tz, table)
