"""sheets: the v3 sheet list and find, and the v2 values endpoints (read, write, append).

Shapes as Lark documents them: v3 `sheets/query` answers `sheets[]` with `grid_properties`;
v2 read answers `valueRange{majorDimension, range, revision, values}` with `null` for blank
cells and one row per row of the range; write answers `updatedRange/Rows/Columns/Cells`;
append finds the first blank row under the range's start and answers `tableRange` + `updates`.
A range is `<sheetId>!<start>:<end>` (or `<sheetId>!A:C`, `<sheetId>`); a write may cover at
most 5,000 rows and 100 columns, and its range must be at least as large as its values.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .errors import LarkError, field_error
from .routing import Call, Endpoint

if TYPE_CHECKING:
    from .fake import FakeLark

NOT_FOUND = 1310214  # "spreadsheet not found" (v3)
SHEET_NOT_FOUND = 1310211  # "wrong sheet id" (v3)
V2_BAD_RANGE = 90202  # "validate RangeVal fail" (v2)
V2_NOT_FOUND = 90215  # "spreadsheet not found" / sheet id not found (v2)
MAX_ROWS, MAX_COLUMNS = 5000, 100

_RANGE = re.compile(
    r"(?P<sheet>[A-Za-z0-9]+)(?:!(?P<c1>[A-Z]+)(?P<r1>[0-9]+)?(?::(?P<c2>[A-Z]+)(?P<r2>[0-9]+)?)?)?"
)


def _col(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _letters(n: int) -> str:
    out = ""
    while n > 0:
        n, rest = divmod(n - 1, 26)
        out = chr(65 + rest) + out
    return out


def load(books: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The seeded spreadsheets with each sheet's rows as cells: 1-based (row, column) -> value."""
    for book in books.values():
        for sheet in book["sheets"]:
            rows = sheet.pop("values")
            sheet["cells"] = {
                (r, c): value
                for r, row in enumerate(rows, 1)
                for c, value in enumerate(row, 1)
                if value not in (None, "")
            }
    return books


def _spreadsheet(fake: FakeLark, token: str, *, v2: bool = False) -> dict[str, Any]:
    found = fake.spreadsheets.get(token)
    if found is None:
        if v2:
            raise LarkError(V2_NOT_FOUND, "spreadsheetToken not found")
        raise LarkError(NOT_FOUND, "spreadsheet not found", status=404)
    return found


def _sheet(book: dict[str, Any], sheet_id: str, *, v2: bool = False) -> dict[str, Any]:
    for sheet in book["sheets"]:
        if sheet["sheet_id"] == sheet_id:
            return sheet
    if v2:
        raise LarkError(V2_NOT_FOUND, f"sheetId {sheet_id} not found")
    raise LarkError(SHEET_NOT_FOUND, "wrong sheet id")


def _parse(book: dict[str, Any], text: Any, *, v2: bool = True) -> tuple[dict[str, Any], tuple]:
    """A range as (sheet, (first_row, first_col, last_row, last_col)); open ends: the grid's."""
    match = _RANGE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise LarkError(V2_BAD_RANGE, f"validate RangeVal fail: {text!r}")
    sheet = _sheet(book, match["sheet"], v2=v2)
    c1 = _col(match["c1"]) if match["c1"] else 1
    r1 = int(match["r1"]) if match["r1"] else 1
    c2 = _col(match["c2"]) if match["c2"] else (c1 if match["r1"] else sheet["columns"])
    if match["c1"] and not match["c2"] and not match["r1"]:
        c2 = c1
    r2 = (
        int(match["r2"])
        if match["r2"]
        else (r1 if match["r1"] and not match["c2"] else sheet["rows"])
    )
    if r1 < 1 or r2 < r1 or c2 < c1:
        raise LarkError(V2_BAD_RANGE, f"validate RangeVal fail: {text!r}")
    return sheet, (r1, c1, r2, c2)


def _a1(sheet_id: str, box: tuple[int, int, int, int]) -> str:
    r1, c1, r2, c2 = box
    return f"{sheet_id}!{_letters(c1)}{r1}:{_letters(c2)}{r2}"


def _render(value: Any, option: str | None) -> Any:
    if isinstance(value, dict) and value.get("type") == "formula":
        return value["text"] if option == "Formula" else 0
    if option == "ToString" and value is not None and not isinstance(value, list):
        return str(value)
    return value


async def query_sheets(fake: FakeLark, call: Call) -> dict[str, Any]:
    book = _spreadsheet(fake, call.params["spreadsheet_token"])
    return {
        "sheets": [
            {
                "sheet_id": s["sheet_id"],
                "title": s["title"],
                "index": i,
                "hidden": s["hidden"],
                "grid_properties": {
                    "frozen_row_count": 0,
                    "frozen_column_count": 0,
                    "row_count": s["rows"],
                    "column_count": s["columns"],
                },
                "resource_type": "sheet",
                "merges": [],
            }
            for i, s in enumerate(book["sheets"])
        ]
    }


async def read_values(fake: FakeLark, call: Call) -> dict[str, Any]:
    book = _spreadsheet(fake, call.params["spreadsheet_token"], v2=True)
    option = call.query.get("valueRenderOption")
    if option not in (None, "ToString", "FormattedValue", "Formula", "UnformattedValue"):
        raise field_error("valueRenderOption", "unknown valueRenderOption")
    if call.query.get("dateTimeRenderOption") not in (None, "FormattedString"):
        raise field_error("dateTimeRenderOption", "only FormattedString is supported")
    sheet, box = _parse(book, call.params["range"])
    r1, c1, r2, c2 = box
    r2, c2 = min(r2, sheet["rows"]), min(c2, sheet["columns"])
    values = [
        [_render(sheet["cells"].get((r, c)), option) for c in range(c1, c2 + 1)]
        for r in range(r1, r2 + 1)
    ]
    return {
        "revision": book["revision"],
        "spreadsheetToken": book["spreadsheet_token"],
        "valueRange": {
            "majorDimension": "ROWS",
            "range": _a1(sheet["sheet_id"], (r1, c1, r2, c2)),
            "revision": book["revision"],
            "values": values,
        },
    }


def _value_range(body: dict[str, Any]) -> tuple[str, list[list[Any]]]:
    vr = body.get("valueRange")
    if not isinstance(vr, dict):
        raise field_error("valueRange", "valueRange is required")
    values = vr.get("values")
    if not isinstance(values, list) or not values or not all(isinstance(r, list) for r in values):
        raise field_error("valueRange.values", "values must be a non-empty array of arrays")
    if len(values) > MAX_ROWS or max(len(r) for r in values) > MAX_COLUMNS:
        raise LarkError(V2_BAD_RANGE, "write at most 5000 rows and 100 columns per request")
    for row in values:
        for cell in row:
            if isinstance(cell, dict) and cell.get("type") not in ("formula", "url", "mention"):
                raise field_error("valueRange.values", "unsupported cell object")
            if isinstance(cell, list):
                raise field_error("valueRange.values", "a cell cannot be an array")
    return vr.get("range"), values


def _store(sheet: dict[str, Any], top: int, left: int, values: list[list[Any]]) -> None:
    for r, row in enumerate(values):
        for c, value in enumerate(row):
            key = (top + r, left + c)
            if value in (None, ""):
                sheet["cells"].pop(key, None)
            else:
                sheet["cells"][key] = value
    sheet["rows"] = max(sheet["rows"], top + len(values) - 1)
    sheet["columns"] = max(sheet["columns"], left + max(len(r) for r in values) - 1)


def _fits(box: tuple[int, int, int, int], values: list[list[Any]], text: str) -> None:
    r1, c1, r2, c2 = box
    if len(values) > r2 - r1 + 1 or max(len(r) for r in values) > c2 - c1 + 1:
        raise LarkError(V2_BAD_RANGE, f"the range {text} is smaller than the values")


async def write_values(fake: FakeLark, call: Call) -> dict[str, Any]:
    book = _spreadsheet(fake, call.params["spreadsheet_token"], v2=True)
    text, values = _value_range(call.body)
    sheet, box = _parse(book, text)
    _fits(box, values, text)
    r1, c1 = box[0], box[1]
    _store(sheet, r1, c1, values)
    book["revision"] += 1
    width = max(len(r) for r in values)
    done = (r1, c1, r1 + len(values) - 1, c1 + width - 1)
    fake.record_write("sheet_write", {"range": _a1(sheet["sheet_id"], done), "values": values})
    return {
        "revision": book["revision"],
        "spreadsheetToken": book["spreadsheet_token"],
        "updatedRange": _a1(sheet["sheet_id"], done),
        "updatedRows": len(values),
        "updatedColumns": width,
        "updatedCells": sum(len(r) for r in values),
    }


async def append_values(fake: FakeLark, call: Call) -> dict[str, Any]:
    book = _spreadsheet(fake, call.params["spreadsheet_token"], v2=True)
    option = call.query.get("insertDataOption", "OVERWRITE")
    if option not in ("OVERWRITE", "INSERT_ROWS"):
        raise field_error("insertDataOption", "insertDataOption must be OVERWRITE or INSERT_ROWS")
    text, values = _value_range(call.body)
    sheet, box = _parse(book, text)
    r1, c1, _, c2 = box
    if max(len(r) for r in values) > c2 - c1 + 1:
        raise LarkError(V2_BAD_RANGE, f"the range {text} is narrower than the values")
    cols = range(c1, c2 + 1)
    row = r1
    while any((row, c) in sheet["cells"] for c in cols):
        row += 1
    if option == "INSERT_ROWS":  # shift everything at and below `row` down
        moved = {
            ((r + len(values)) if r >= row else r, c): v for (r, c), v in sheet["cells"].items()
        }
        sheet["cells"] = moved
        sheet["rows"] += len(values)
    _store(sheet, row, c1, values)
    book["revision"] += 1
    width = max(len(r) for r in values)
    done = _a1(sheet["sheet_id"], (row, c1, row + len(values) - 1, c1 + width - 1))
    fake.record_write("sheet_append", {"range": done, "values": values})
    return {
        "revision": book["revision"],
        "spreadsheetToken": book["spreadsheet_token"],
        "tableRange": done,
        "updates": {
            "revision": book["revision"],
            "spreadsheetToken": book["spreadsheet_token"],
            "updatedRange": done,
            "updatedRows": len(values),
            "updatedColumns": width,
            "updatedCells": sum(len(r) for r in values),
        },
    }


async def find(fake: FakeLark, call: Call) -> dict[str, Any]:
    book = _spreadsheet(fake, call.params["spreadsheet_token"])
    sheet = _sheet(book, call.params["sheet_id"])
    cond = call.body.get("find_condition")
    needle = call.body.get("find")
    if not isinstance(cond, dict) or not isinstance(cond.get("range"), str):
        raise field_error("find_condition.range", "find_condition.range is required")
    if not isinstance(needle, str) or not needle:
        raise field_error("find", "find is required")
    for flag in ("match_case", "match_entire_cell", "search_by_regex", "include_formulas"):
        if flag in cond and not isinstance(cond[flag], bool):
            raise field_error(f"find_condition.{flag}", f"{flag} must be a boolean")
    where, box = _parse(book, cond["range"], v2=False)
    if where is not sheet:
        raise field_error("find_condition.range", "the range must be on the sheet in the path")
    r1, c1, r2, c2 = box
    case = bool(cond.get("match_case"))
    whole = bool(cond.get("match_entire_cell"))
    matched, rows = [], set()
    for (r, c), value in sorted(sheet["cells"].items()):
        if not (r1 <= r <= r2 and c1 <= c <= c2) or isinstance(value, dict):
            continue
        text = "".join(s.get("text", "") for s in value) if isinstance(value, list) else str(value)
        a, b = (text, needle) if case else (text.lower(), needle.lower())
        if (a == b) if whole else (b in a):
            matched.append(f"{_letters(c)}{r}")
            rows.add(r)
    return {
        "find_result": {
            "matched_cells": matched,
            "matched_formula_cells": [],
            "rows_count": len(rows),
        }
    }


def endpoints() -> list[Endpoint]:
    v3 = "/open-apis/sheets/v3/spreadsheets/{spreadsheet_token}"
    v2 = "/open-apis/sheets/v2/spreadsheets/{spreadsheet_token}"
    return [
        Endpoint("GET", f"{v3}/sheets/query", query_sheets),
        Endpoint("POST", f"{v3}/sheets/{{sheet_id}}/find", find),
        Endpoint("GET", f"{v2}/values/{{range}}", read_values),
        Endpoint("PUT", f"{v2}/values", write_values),
        Endpoint("POST", f"{v2}/values_append", append_values),
    ]
