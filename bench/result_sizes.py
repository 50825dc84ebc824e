"""Result text bytes: ours against lark-mcp's matching tool, on the same 20-item fake page.

The fake runs with `--bench-pages` (tests/lark_fake/bench_pages.py: 20 chats or more, 20
messages in one chat, 20 events in one week, 20 Base records, a 20-row sheet). Each page is
asked of ours and of lark-mcp's generated tool for the same Lark call; the figure is the UTF-8
size of the result's text content (what a model reads). lark-mcp returns `JSON.stringify` of
Lark's `data` for every call; it has no tool that reads cell values (its sheets tools create,
get and patch spreadsheets), so for `read_sheet_range` its column is Lark's `data` for the same
range serialized that same way, fetched from the fake directly.

Beside each pair, the page's content floor: the UTF-8 bytes of the values our result holds
(every string, number and true/false, without a field name, quote, comma or bracket). No
layout can be smaller without dropping content, so `floor / lark-mcp` is the least ratio any
layout of the same information can reach on that page.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import httpx2

from bench.mcp_http import Session, post_sync, result_of, tool_call
from tests.results import is_table

CHAT = "oc_benchpage"
CALENDAR = "cal_benchpage@group.calendar.feishu.cn"
WEEK = ("2026-12-07T00:00:00+08:00", "2026-12-14T00:00:00+08:00")
WEEK_UNIX = ("1796572800", "1797177600")  # the same instants as Unix seconds
BASE, TABLE = "bascnTeamTracker", "tblTasks"
SPREADSHEET, SHEET_RANGE = "shtcnBudget2026Plan", "Q7PlXT!A1:G21"
SHEET_PARAMS = {"valueRenderOption": "UnformattedValue", "dateTimeRenderOption": "FormattedString"}

# lark-mcp tools to enable for these pages (its `-t` option).
LARK_MCP_TOOLS = (
    "im.v1.chat.list",
    "im.v1.message.list",
    "calendar.v4.calendarEvent.list",
    "bitable.v1.appTableRecord.search",
)


@dataclass(frozen=True)
class Page:
    ours: str
    ours_args: dict[str, Any]
    items: str  # the list in our result that must hold 20 items
    lark_mcp: str | None
    lark_mcp_args: dict[str, Any]


PAGES = (
    Page(
        "list_chats", {"page_size": 20}, "chats", "im_v1_chat_list", {"params": {"page_size": 20}}
    ),
    Page(
        "list_messages",
        {"chat_id": CHAT, "page_size": 20},
        "messages",
        "im_v1_message_list",
        {
            "params": {
                "container_id_type": "chat",
                "container_id": CHAT,
                "sort_type": "ByCreateTimeDesc",
                "page_size": 20,
            }
        },
    ),
    Page(
        "list_events",
        {"calendar_id": CALENDAR, "start_time": WEEK[0], "end_time": WEEK[1]},
        "events",
        "calendar_v4_calendarEvent_list",
        {
            "path": {"calendar_id": CALENDAR},
            "params": {"start_time": WEEK_UNIX[0], "end_time": WEEK_UNIX[1], "page_size": 50},
        },
    ),
    Page(
        "search_base_records",
        {"base": BASE, "table_id": TABLE, "page_size": 20},
        "records",
        "bitable_v1_appTableRecord_search",
        {"path": {"app_token": BASE, "table_id": TABLE}, "params": {"page_size": 20}, "data": {}},
    ),
    Page(
        "read_sheet_range",
        {"spreadsheet": SPREADSHEET, "range": SHEET_RANGE},
        "values",
        None,
        {},
    ),
)


@dataclass
class Size:
    tool: str
    items: int
    ours_bytes: int
    lark_mcp_tool: str
    lark_mcp_bytes: int
    ratio: float
    content_floor_bytes: int
    floor_ratio: float


def rows(key: str, value: Any) -> list[Any]:
    """The items of a result list: a table's rows after its header row, else the list itself
    (a sheet's cell grid is content, not a table: tests/results.py tells them apart)."""
    if not isinstance(value, list):
        return []
    return value[1:] if is_table(key, value) else value


def _leaf_bytes(value: Any) -> int:
    if isinstance(value, dict):
        return sum(_leaf_bytes(v) for v in value.values())
    if isinstance(value, list):
        return sum(_leaf_bytes(v) for v in value)
    if value is None:
        return 0
    if isinstance(value, str):
        return len(value.encode())
    return len(json.dumps(value))  # numbers and true/false as JSON writes them


def content_floor(result: dict[str, Any]) -> int:
    """Bytes of the values alone (a table's header row holds names, not values)."""
    return sum(
        _leaf_bytes(rows(key, value) if isinstance(value, list) else value)
        for key, value in result.items()
    )


def _text(client: httpx2.Client, session: Session, tool: str, args: dict[str, Any]) -> str:
    result = result_of(post_sync(client, session, tool_call(tool, args)))
    text = "".join(c.get("text", "") for c in result.get("content", []) if c.get("type") == "text")
    if result.get("isError"):
        raise RuntimeError(f"{tool} answered a tool error: {text[:300]}")
    return text


def _raw_sheet(client: httpx2.Client, fake: str, app_id: str, app_secret: str) -> str:
    """Lark's `data` for the sheet range as lark-mcp would return it (JSON.stringify)."""
    token = client.post(
        f"{fake}/open-apis/auth/v3/tenant_access_token/internal",
        json={"app_id": app_id, "app_secret": app_secret},
    ).json()["tenant_access_token"]
    body = client.get(
        f"{fake}/open-apis/sheets/v2/spreadsheets/{SPREADSHEET}/values/{SHEET_RANGE}",
        params=SHEET_PARAMS,
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    return json.dumps(body["data"], ensure_ascii=False, separators=(",", ":"))


def measure(
    ours: Session, lark_mcp: Session, fake: str, app_id: str, app_secret: str
) -> list[dict[str, Any]]:
    sizes = []
    with httpx2.Client(timeout=30.0) as client:
        for page in PAGES:
            mine = _text(client, ours, page.ours, page.ours_args)
            result = json.loads(mine)
            count = len(rows(page.items, result.get(page.items)))
            if page.lark_mcp is None:
                theirs, name = _raw_sheet(client, fake, app_id, app_secret), "(none: Lark's data)"
            else:
                theirs, name = (
                    _text(client, lark_mcp, page.lark_mcp, page.lark_mcp_args),
                    page.lark_mcp,
                )
            a, b = len(mine.encode()), len(theirs.encode())
            floor = content_floor(result)
            sizes.append(
                asdict(
                    Size(page.ours, count, a, name, b, round(a / b, 3), floor, round(floor / b, 3))
                )
            )
    return sizes
