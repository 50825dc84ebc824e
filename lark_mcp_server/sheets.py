"""Sheets (spreadsheets): the sheets of a spreadsheet, and reading, writing, appending and
finding cell values.

Lark serves cell values only on its older `sheets/v2` endpoints (`values/{range}`, `values`,
`values_append`); the sheet list and find are `sheets/v3`. Ranges are A1 notation on one
sheet; a sheet is named by its sheet_id or its title (resolved through the v3 sheet list, which
also gives its size so a read is clipped to the cells that exist).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qs

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from .lark_client import LarkCall
from .paths import SHEET_ID, SHEET_RANGE, SPREADSHEET_TOKEN, WIKI_NODE_TOKEN, shown, split_url
from .registry import ToolSet
from .wiki import wiki_node

TOOLS = ToolSet()

SHEETS_QUERY = "/open-apis/sheets/v3/spreadsheets/{spreadsheet_token}/sheets/query"
MAX_ROWS, MAX_COLUMNS = 5000, 100  # Lark's limit per write or append request
MAX_COLUMN = 18278  # ZZZ: three letters of columns

SpreadsheetArg = Annotated[
    str,
    Field(
        min_length=1,
        description="Spreadsheet token, or its URL (https://<tenant>.feishu.cn/sheets/<token>, "
        "or a wiki page hosting it).",
    ),
]
Cell = str | float | bool | None
Rows = Annotated[
    list[Annotated[list[Cell], Field(min_length=1, max_length=MAX_COLUMNS)]],
    Field(
        min_length=1,
        max_length=MAX_ROWS,
        description="Rows of cell values (text, numbers, true/false, null for blank); text "
        "starting with '=' is written as a formula.",
    ),
]


# -- A1 ranges ---------------------------------------------------------------------------------

_CELLS = re.compile(r"([A-Za-z]{1,3})([0-9]{1,7})?(?::([A-Za-z]{1,3})([0-9]{1,7})?)?")


def column_number(letters: str) -> int:
    """A -> 1, Z -> 26, AA -> 27."""
    number = 0
    for char in letters.upper():
        number = number * 26 + ord(char) - 64
    return number


def column_letters(number: int) -> str:
    """1 -> A, 27 -> AA."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass(frozen=True)
class Cells:
    """A block of cells; a bound left open (`A:C`, `A2:C`) is None until clipped."""

    first_col: int
    first_row: int
    last_col: int | None
    last_row: int | None

    def a1(self, sheet_id: str) -> str:
        return (
            f"{sheet_id}!{column_letters(self.first_col)}{self.first_row}:"
            f"{column_letters(self.last_col or self.first_col)}{self.last_row or self.first_row}"
        )


def parse_range(arg: str, value: str) -> tuple[str | None, Cells | None]:
    """`<sheet>!A1:C10`, `A1:C10`, `A:C`, `B2`, or a bare `<sheet>` as (sheet, cells)."""
    text = value.strip()
    sheet, bang, cells = text.rpartition("!")
    if not bang:
        match = _CELLS.fullmatch(text)
        if (match is None and ":" not in text) or (
            match is not None and not match.group(2) and not match.group(3)
        ):
            return text or None, None  # a sheet id or title alone
        sheet, cells = "", text
    match = _CELLS.fullmatch(cells.strip())
    if match is None:
        raise ToolError(
            f"{arg} {shown(value)} is not an A1 range: expected e.g. A1:C10, A:C or B2, "
            "optionally after '<sheet>!' (a sheet id or title)."
        )
    c1, r1, c2, r2 = match.groups()
    first_col = column_number(c1)
    last_col = column_number(c2) if c2 else first_col
    first_row = int(r1) if r1 else 1
    if r2:
        last_row: int | None = int(r2)
    else:  # B2 is one cell; A:C, A2:C and a bare column run to the sheet's last row
        last_row = first_row if r1 and not c2 else None
    if first_row < 1 or (last_row is not None and last_row < first_row):
        raise ToolError(f"{arg} {shown(value)}: the rows run backwards or start before row 1.")
    if last_col < first_col:
        raise ToolError(f"{arg} {shown(value)}: the columns run backwards.")
    return sheet.strip() or None, Cells(first_col, first_row, last_col, last_row)


# -- the spreadsheet and its sheets --------------------------------------------------------------


async def resolve_spreadsheet(lark: LarkCall, value: str) -> tuple[str, str | None]:
    """A spreadsheet argument as (token, the URL's ?sheet= if any), via the wiki for wiki URLs."""
    text = value.strip()
    if "/" not in text and "?" not in text:
        return SPREADSHEET_TOKEN.check("spreadsheet", text), None
    url = split_url("spreadsheet", text)
    parts = [p for p in url.path.split("/") if p]
    sheet = (parse_qs(url.query).get("sheet") or [None])[0]
    for kind in ("sheets", "wiki"):
        if kind in parts and parts.index(kind) + 1 < len(parts):
            token = parts[parts.index(kind) + 1]
            break
    else:
        raise ToolError(
            f"spreadsheet {shown(text)} is neither a spreadsheet token nor a sheets/wiki URL "
            "(expected .../sheets/<token>)."
        )
    if sheet is not None:
        sheet = SHEET_ID.check("spreadsheet (its ?sheet=)", sheet)
    if kind == "sheets":
        return SPREADSHEET_TOKEN.check("spreadsheet", token), sheet
    node = await wiki_node(lark, WIKI_NODE_TOKEN.check("spreadsheet", token))
    if node.get("obj_type") != "sheet" or not node.get("obj_token"):
        raise ToolError(
            f"The wiki page {token} is a {node.get('obj_type') or 'page'}, not a spreadsheet."
        )
    return SPREADSHEET_TOKEN.check("spreadsheet", str(node["obj_token"])), sheet


async def sheet_list(lark: LarkCall, token: str) -> list[dict[str, Any]]:
    data = await lark.get(SHEETS_QUERY, SPREADSHEET_TOKEN.segment("spreadsheet", token))
    return [s for s in data.get("sheets") or [] if isinstance(s, dict)]


@dataclass(frozen=True)
class Sheet:
    sheet_id: str
    rows: int | None
    columns: int | None


async def pick_sheet(lark: LarkCall, token: str, wanted: str | None) -> Sheet:
    """The sheet named by id or title (default: the first), with its size."""
    sheets = await sheet_list(lark, token)
    if not sheets:
        raise ToolError("Lark listed no sheets in this spreadsheet.")
    found = sheets[0] if wanted is None else None
    for item in sheets if wanted is not None else ():
        if wanted in (item.get("sheet_id"), item.get("title")):
            found = item
            break
    if found is None:
        names = ", ".join(f"{s.get('title')} ({s.get('sheet_id')})" for s in sheets[:20])
        raise ToolError(f"No sheet {shown(wanted)} in this spreadsheet; its sheets: {names}.")
    grid = found.get("grid_properties") or {}
    sheet_id = SHEET_ID.check("sheet", str(found.get("sheet_id") or ""))
    return Sheet(sheet_id, _int(grid.get("row_count")), _int(grid.get("column_count")))


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _values_path(token: str, a1: str) -> tuple[Any, ...]:
    return (
        SPREADSHEET_TOKEN.segment("spreadsheet", token),
        SHEET_RANGE.segment("range", a1),
    )


# -- cell values ---------------------------------------------------------------------------------


def cell_value(cell: Any) -> Any:
    """A cell as Lark reads it out (text, number, bool, rich segments, links) as a plain value."""
    if isinstance(cell, list):  # rich text: segments with text (mentions, links, styles)
        return "".join(str(cell_value(seg) or "") for seg in cell)
    if isinstance(cell, dict):
        for key in ("text", "link", "name", "value"):
            if cell.get(key) not in (None, ""):
                return cell[key]
        return json.dumps(cell, ensure_ascii=False)
    return cell


def _trim(rows: list[Any]) -> list[list[Any]]:
    """Rows without trailing blank cells, and without trailing blank rows."""
    out = []
    for row in rows:
        cells = [cell_value(c) for c in row] if isinstance(row, list) else [cell_value(row)]
        while cells and cells[-1] in (None, ""):
            cells.pop()
        out.append(cells)
    while out and not out[-1]:
        out.pop()
    return out


def _to_lark(value: Cell) -> Any:
    if isinstance(value, str) and value.startswith("="):
        return {"type": "formula", "text": value}
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _lark_rows(values: list[list[Cell]]) -> list[list[Any]]:
    for r, row in enumerate(values):
        for c, cell in enumerate(row):
            if isinstance(cell, float) and (cell != cell or cell in (float("inf"), float("-inf"))):
                raise ToolError(f"values[{r}][{c}] is not a finite number.")
            if isinstance(cell, str) and len(cell) > 40000:
                raise ToolError(f"values[{r}][{c}] has over 40,000 characters (Lark's cap).")
    return [[_to_lark(cell) for cell in row] for row in values]


# -- tools ---------------------------------------------------------------------------------------


@TOOLS.tool(
    title="List sheets",
    description="List the sheets (tabs) of a spreadsheet with their sheet_id and size.",
    read_only=True,
)
async def list_sheets(lark: LarkCall, spreadsheet: SpreadsheetArg) -> dict[str, Any]:
    token, _ = await resolve_spreadsheet(lark, spreadsheet)
    sheets = []
    for item in await sheet_list(lark, token):
        grid = item.get("grid_properties") or {}
        sheets.append(
            {
                "sheet_id": item.get("sheet_id"),
                "title": item.get("title"),
                "rows": grid.get("row_count"),
                "columns": grid.get("column_count"),
                "hidden": item.get("hidden") or None,
            }
        )
    return {"sheets": sheets}


async def _target(lark: LarkCall, spreadsheet: str, range_: str) -> tuple[str, Sheet, Cells | None]:
    token, url_sheet = await resolve_spreadsheet(lark, spreadsheet)
    wanted, cells = parse_range("range", range_)
    sheet = await pick_sheet(lark, token, wanted or url_sheet)
    return token, sheet, cells


@TOOLS.tool(
    title="Read sheet range",
    description="Read the values of an A1 range of a spreadsheet as rows; stops at max_cells "
    "and then gives next_range for the rest.",
    read_only=True,
)
async def read_sheet_range(
    lark: LarkCall,
    spreadsheet: SpreadsheetArg,
    range: Annotated[
        str | None,
        Field(
            max_length=200,
            description="A1 range, e.g. A1:C10, A:C or <sheet>!A1:C10 (sheet id or title); "
            "default: the whole first sheet, or the URL's ?sheet=.",
        ),
    ] = None,
    max_cells: Annotated[
        int, Field(ge=1, le=10000, description="Most cells to read (1-10000, default 1000).")
    ] = 1000,
) -> dict[str, Any]:
    token, sheet, cells = await _target(lark, spreadsheet, range or "")
    cells = _clip(cells or Cells(1, 1, None, None), sheet)
    last_col, last_row = cells.last_col or cells.first_col, cells.last_row or cells.first_row
    if sheet.columns:
        last_col = min(last_col, sheet.columns)
    if sheet.rows:
        last_row = min(last_row, sheet.rows)
    if last_col < cells.first_col or last_row < cells.first_row:
        return {"range": cells.a1(sheet.sheet_id), "values": [], "has_more": False}
    width = last_col - cells.first_col + 1
    if width > max_cells:
        raise ToolError(
            f"The range is {width} columns wide, more than max_cells ({max_cells}) allows in "
            "one row; read fewer columns or raise max_cells."
        )
    rows = min(last_row - cells.first_row + 1, max_cells // width)
    read = Cells(cells.first_col, cells.first_row, last_col, cells.first_row + rows - 1)
    data = await lark.get(
        "/open-apis/sheets/v2/spreadsheets/{spreadsheet_token}/values/{range}",
        *_values_path(token, read.a1(sheet.sheet_id)),
        params={"valueRenderOption": "UnformattedValue", "dateTimeRenderOption": "FormattedString"},
    )
    value_range = data.get("valueRange") or {}
    result: dict[str, Any] = {
        "range": value_range.get("range") or read.a1(sheet.sheet_id),
        "values": _trim(value_range.get("values") or []),
        "has_more": read.first_row + rows - 1 < last_row,
    }
    if result["has_more"]:
        rest = Cells(cells.first_col, read.first_row + rows, last_col, last_row)
        result["next_range"] = rest.a1(sheet.sheet_id)
    return result


def _write_block(sheet: Sheet, cells: Cells | None, values: list[list[Cell]]) -> Cells:
    """The block `values` fills from the range's first cell; a larger given range is kept."""
    start = cells or Cells(1, 1, None, None)
    width = max(len(row) for row in values)
    need = Cells(start.first_col, start.first_row, start.first_col + width - 1,
                 start.first_row + len(values) - 1)  # fmt: skip
    one_cell = cells is not None and (cells.last_col, cells.last_row) == (
        cells.first_col,
        cells.first_row,
    )
    given = (cells.last_col, cells.last_row) if cells and not one_cell else (None, None)
    if None not in given and (given[0] < width + start.first_col - 1 or given[1] < need.last_row):
        raise ToolError(
            f"values ({len(values)} rows x {width} columns) do not fit the range "
            f"{start.a1(sheet.sheet_id)}; give its first cell only, or a larger range."
        )
    if (need.last_col or 0) > MAX_COLUMN:
        raise ToolError("values run past column ZZZ.")
    return need


@TOOLS.tool(
    title="Write sheet range",
    description="Write rows of values into a spreadsheet from a range's first cell, "
    "overwriting what is there.",
    read_only=False,
    destructive=True,
    idempotent=True,
)
async def write_sheet_range(
    lark: LarkCall,
    spreadsheet: SpreadsheetArg,
    range: Annotated[
        str,
        Field(
            min_length=1,
            max_length=200,
            description="Where to write: the first cell (B2, <sheet>!B2) or the whole range.",
        ),
    ],
    values: Rows,
) -> dict[str, Any]:
    token, sheet, cells = await _target(lark, spreadsheet, range)
    block = _write_block(sheet, cells, values)
    a1 = block.a1(sheet.sheet_id)
    SHEET_RANGE.check("range", a1)
    # Writing the same values twice leaves the same cells: safe to retry.
    data = await lark.put(
        "/open-apis/sheets/v2/spreadsheets/{spreadsheet_token}/values",
        SPREADSHEET_TOKEN.segment("spreadsheet", token),
        json={"valueRange": {"range": a1, "values": _lark_rows(values)}},
        idempotent=True,
    )
    return {"range": data.get("updatedRange") or a1, "cells": data.get("updatedCells")}


@TOOLS.tool(
    title="Append sheet rows",
    description="Add rows after the last filled row of a sheet's columns (new rows are "
    "inserted, nothing is overwritten).",
    read_only=False,
)
async def append_sheet_rows(
    lark: LarkCall,
    spreadsheet: SpreadsheetArg,
    values: Rows,
    range: Annotated[
        str | None,
        Field(
            max_length=200,
            description="The columns to append under, e.g. A:D or <sheet>!A:D (default: "
            "from column A, on the URL's ?sheet= or the first sheet).",
        ),
    ] = None,
) -> dict[str, Any]:
    token, sheet, cells = await _target(lark, spreadsheet, range or "A1")
    start = cells or Cells(1, 1, None, None)
    block = _write_block(sheet, Cells(start.first_col, start.first_row, None, None), values)
    a1 = block.a1(sheet.sheet_id)
    SHEET_RANGE.check("range", a1)
    # Lark takes no idempotency key here: the client does not resend it after an ambiguous
    # failure, so a flaky network can fail this call but never append the rows twice.
    data = await lark.post(
        "/open-apis/sheets/v2/spreadsheets/{spreadsheet_token}/values_append",
        SPREADSHEET_TOKEN.segment("spreadsheet", token),
        params={"insertDataOption": "INSERT_ROWS"},
        json={"valueRange": {"range": a1, "values": _lark_rows(values)}},
    )
    updates = data.get("updates") or {}
    return {"range": updates.get("updatedRange") or a1, "rows": updates.get("updatedRows")}


@TOOLS.tool(
    title="Find in sheet",
    description="Find the cells of a sheet whose value contains (or equals) some text.",
    read_only=True,
)
async def find_in_sheet(
    lark: LarkCall,
    spreadsheet: SpreadsheetArg,
    text: Annotated[str, Field(min_length=1, max_length=1000, description="Text to look for.")],
    range: Annotated[
        str | None,
        Field(
            max_length=200,
            description="Where to look: <sheet>, A1:C10 or <sheet>!A1:C10 (default: the whole "
            "first sheet, or the URL's ?sheet=).",
        ),
    ] = None,
    match_case: Annotated[bool, Field(description="Case-sensitive (default false).")] = False,
    whole_cell: Annotated[
        bool, Field(description="Only cells equal to text (default: cells containing it).")
    ] = False,
) -> dict[str, Any]:
    token, sheet, cells = await _target(lark, spreadsheet, range or "")
    where = _clip(cells or Cells(1, 1, None, None), sheet).a1(sheet.sheet_id)
    data = await lark.post(
        "/open-apis/sheets/v3/spreadsheets/{spreadsheet_token}/sheets/{sheet_id}/find",
        SPREADSHEET_TOKEN.segment("spreadsheet", token),
        SHEET_ID.segment("sheet", sheet.sheet_id),
        json={
            "find_condition": {
                "range": where,
                "match_case": match_case,
                "match_entire_cell": whole_cell,
                "search_by_regex": False,
                "include_formulas": False,
            },
            "find": text,
        },
        idempotent=True,  # a read, despite the POST
    )
    found = data.get("find_result") or {}
    return {"sheet_id": sheet.sheet_id, "cells": found.get("matched_cells") or []}


def _clip(cells: Cells, sheet: Sheet) -> Cells:
    """Open bounds closed at the sheet's size (Lark's find wants a closed range)."""
    return Cells(
        cells.first_col,
        cells.first_row,
        cells.last_col or sheet.columns or cells.first_col,
        cells.last_row or sheet.rows or cells.first_row,
    )
