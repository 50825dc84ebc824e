"""Base tools through the real server over Streamable HTTP, against the fake Lark."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx2
import pytest

from lark_mcp_server.base_query import FILTER_FORM, FILTER_SCHEMA
from tests.lark_fake import FakeLark

from .conftest import Tools

pytestmark = pytest.mark.anyio

CST = dt.timezone(dt.timedelta(hours=8))
BASE = "bascnTeamTracker"
TASKS_URL = "https://acme.feishu.cn/base/bascnTeamTracker?table=tblTasks&view=vewGrid"


def fields(record: dict[str, Any]) -> dict[str, Any]:
    """A search result's record without its id: the record's field values."""
    return {name: value for name, value in record.items() if name != "record_id"}


def _ms(*args: int) -> int:
    return int(dt.datetime(*args, tzinfo=CST).timestamp() * 1000)


def _searches(lark: FakeLark) -> list:
    return [r for r in lark.requests if r.path.endswith("/records/search")]


async def test_tables_and_fields_by_token_and_by_url(tools: Tools, lark: FakeLark):
    tables = await tools.ok("list_base_tables", {"base": BASE})
    assert tables == {
        "app_token": BASE,
        "tables": [
            {"table_id": "tblTasks", "name": "Tasks"},
            {"table_id": "tblPeople", "name": "People"},
            {"table_id": "tblMilestones", "name": "Milestones"},
        ],
        "has_more": False,
    }
    for url in (TASKS_URL, "https://acme.larksuite.com/base/bascnTeamTracker?table=tblTasks"):
        fields = await tools.ok("list_base_fields", {"base": url})
        assert fields["table_id"] == "tblTasks"
        by_name = {f["name"]: f for f in fields["fields"]}
        assert [f["type"] for f in fields["fields"]] == [
            "text",
            "number",
            "single_select",
            "multi_select",
            "date",
            "checkbox",
            "person",
            "text",
        ]
        assert by_name["Status"]["options"] == ["To do", "In progress", "Done"]
        assert by_name["Name"]["primary"] is True
        assert by_name["Owner"]["multiple"] is True


async def test_tables_paginate(tools: Tools, lark: FakeLark):
    first = await tools.ok("list_base_tables", {"base": BASE, "page_size": 2})
    assert first["has_more"] is True and len(first["tables"]) == 2
    rest = await tools.ok(
        "list_base_tables", {"base": BASE, "page_size": 2, "page_token": first["page_token"]}
    )
    assert [t["table_id"] for t in rest["tables"]] == ["tblMilestones"]
    assert rest["has_more"] is False and "page_token" not in rest


async def test_search_reads_values_flat(tools: Tools, lark: FakeLark):
    found = await tools.ok(
        "search_base_records",
        {
            "base": BASE,
            "table_id": "tblTasks",
            "filter": {"field": "Name", "op": "is", "value": "Write MCP server"},
            "utc_offset": "+08:00",
        },
    )
    assert found["records"] == [
        {
            "record_id": "recTask01",
            "Name": "Write MCP server",
            "Estimate": 8,
            "Status": "In progress",
            "Tags": ["backend"],
            "Due": "2026-11-28T00:00:00+08:00",
            "Done": False,
            "Owner": [{"id": "ou_bob", "name": "Bob Li"}],
            "Notes": "Streamable HTTP",
        }
    ]
    assert found["total"] == 1
    utc = await tools.ok(
        "search_base_records",
        {"base": TASKS_URL, "filter": {"field": "Name", "op": "is", "value": "Write MCP server"}},
    )
    assert utc["records"][0]["Due"] == "2026-11-27T16:00:00+00:00"


async def test_search_paginates_through_every_record(tools: Tools, lark: FakeLark):
    seen, token, pages = [], None, 0
    while True:
        args = {"base": TASKS_URL, "page_size": 3, "field_names": ["Name"]}
        if token:
            args["page_token"] = token
        result = await tools.ok("search_base_records", args)
        pages += 1
        seen += [r["record_id"] for r in result["records"]]
        assert all(set(r) <= {"record_id", "Name"} for r in result["records"])
        if not result["has_more"]:
            break
        token = result["page_token"]
    assert pages == 3
    assert seen == [r["record_id"] for r in lark.records["tblTasks"]]


async def test_filter_and_sort_map_onto_lark(tools: Tools, lark: FakeLark):
    found = await tools.ok(
        "search_base_records",
        {
            "base": TASKS_URL,
            "filter": {
                "conjunction": "and",
                "conditions": [
                    {"field": "Status", "op": "is", "value": "To do"},
                    {"field": "Due", "op": "<", "value": "2026-12-01T00:00:00+08:00"},
                ],
            },
        },
    )
    assert [r["Name"] for r in found["records"]] == ["Load test"]
    (sent,) = _searches(lark)
    assert sent.json["filter"] == {
        "conjunction": "and",
        "conditions": [
            {"field_name": "Status", "operator": "is", "value": ["To do"]},
            {
                "field_name": "Due",
                "operator": "isLess",
                "value": ["ExactDate", str(_ms(2026, 12, 1))],
            },
        ],
    }
    assert sent.query["user_id_type"] == "open_id"

    anyone = await tools.ok(
        "search_base_records",
        {
            "base": TASKS_URL,
            "filter": {  # the earlier {"or": [...]} form still works
                "or": [
                    {"field": "Owner", "op": "contains", "value": "ou_erin"},
                    {"field": "Tags", "op": "contains", "value": ["docs"]},
                ]
            },
            "sort": ["-Estimate"],
        },
    )
    assert [r["Name"] for r in anyone["records"]] == [
        "Load test",
        "README",
        "Design review",
        "Launch demo",
    ]
    assert _searches(lark)[-1].json["sort"] == [{"field_name": "Estimate", "desc": True}]

    cases = [
        ({"field": "Done", "op": "is", "value": True}, ["Fake Lark API", "Design review"]),
        (
            {"field": "Estimate", "op": ">=", "value": 5},
            ["Write MCP server", "Fake Lark API", "CDK stacks"],
        ),
        ({"field": "Due", "op": "empty"}, ["README"]),
        ({"field": "Due", "op": "is", "value": "2026-11-24"}, ["Fake Lark API", "Design review"]),
    ]
    for condition, names in cases:
        result = await tools.ok("search_base_records", {"base": TASKS_URL, "filter": condition})
        assert [r["Name"] for r in result["records"]] == names, condition


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ({"and": [{"field": "Status", "op": "equals", "value": "Done"}]}, "op 'equals'"),
        ({"where": {"Status": "Done"}}, "it takes 'conditions' (a list)"),
        ({"conjunction": "any", "conditions": [{"field": "Status", "op": "empty"}]}, "'any'"),
        ([{"field": "Status", "op": "is", "value": "Done"}], "must be an object"),
        ({"and": [{"and": []}]}, "nested group"),
    ],
)
async def test_bad_filters_show_the_form_and_never_reach_lark(
    tools: Tools, lark: FakeLark, bad, problem
):
    text = await tools.error("search_base_records", {"base": TASKS_URL, "filter": bad})
    assert problem in text and FILTER_FORM in text
    assert lark.requests == []


@pytest.mark.parametrize(
    ("condition", "problem"),
    [
        ({"field": "Due", "op": ">=", "value": "2026-12-01T00:00:00+08:00"}, "date field 'Due'"),
        ({"field": "Stauts", "op": "is", "value": "Done"}, "'Stauts', which is not a field"),
        ({"field": "Estimate", "op": "<", "value": "soon"}, "takes one number"),
    ],
)
async def test_filters_that_do_not_fit_the_table_are_not_searched(
    tools: Tools, lark: FakeLark, condition, problem
):
    text = await tools.error("search_base_records", {"base": TASKS_URL, "filter": condition})
    assert problem in text
    assert _searches(lark) == []


async def test_create_converts_values_and_reads_them_back(tools: Tools, lark: FakeLark):
    values = {
        "Name": "Write the runbook",
        "Estimate": 2.5,
        "Status": "To do",
        "Tags": ["docs", "infra"],
        "Due": "2026-12-03T10:30:00.250+08:00",
        "Done": True,
        "Owner": ["ou_alice", "ou_erin"],
    }
    created = await tools.ok("create_base_record", {"base": TASKS_URL, "fields": values})
    assert created["record_id"].startswith("rec") and created["table_id"] == "tblTasks"
    assert created["fields"] == {
        **values,
        "Owner": [{"id": "ou_alice"}, {"id": "ou_erin"}],
    }
    (stored,) = lark.writes("record")
    assert stored["fields"] == {
        **values,
        "Due": _ms(2026, 12, 3, 10, 30, 0) + 250,
        "Owner": [{"id": "ou_alice"}, {"id": "ou_erin"}],
    }
    (post,) = [r for r in lark.requests if r.method == "POST" and r.path.endswith("/records")]
    assert len(post.query["client_token"]) == 36 and post.query["user_id_type"] == "open_id"

    again = await tools.ok(
        "search_base_records",
        {
            "base": TASKS_URL,
            "filter": {"field": "Name", "op": "is", "value": "Write the runbook"},
            "utc_offset": "+08:00",
        },
    )
    assert fields(again["records"][0]) == {
        **values,
        "Owner": [{"id": "ou_alice", "name": "Alice Wang"}, {"id": "ou_erin", "name": "Erin Liu"}],
    }


async def test_values_that_do_not_fit_are_refused_before_any_write(tools: Tools, lark: FakeLark):
    text = await tools.error(
        "create_base_record",
        {
            "base": BASE,
            "table_id": "tblTasks",
            "fields": {
                "Name": "x",
                "Estimate": "a lot",
                "Due": "next Friday",
                "Done": "sure",
                "Owner": [{"name": "Bob"}],
                "Priority": "high",
            },
        },
    )
    for part in (
        "'Estimate' (number) takes a number",
        "'Due' (date) takes an ISO 8601 time with a UTC offset",
        "'Done' (checkbox) takes true or false",
        "'Owner' (person) takes a list of user open_ids",
        "'Priority' is not a field of this table",
    ):
        assert part in text
    assert lark.writes("record") == []
    assert not [r for r in lark.requests if r.method != "GET" and "/bitable/" in r.path]


async def test_update_overwrites_given_fields_and_clears_nulls(tools: Tools, lark: FakeLark):
    updated = await tools.ok(
        "update_base_record",
        {
            "base": BASE,
            "table_id": "tblTasks",
            "record_id": "recTask01",
            "fields": {"Status": "Done", "Owner": "ou_dave", "Notes": None, "Done": "true"},
        },
    )
    assert updated["record_id"] == "recTask01"
    assert updated["fields"]["Status"] == "Done" and "Notes" not in updated["fields"]
    (change,) = lark.writes("record_update")
    assert change["fields"] == {
        "Status": "Done",
        "Owner": [{"id": "ou_dave"}],
        "Notes": None,
        "Done": True,
    }
    (put,) = [r for r in lark.requests if r.method == "PUT"]
    assert put.path.endswith("/tables/tblTasks/records/recTask01")


async def test_lark_errors_and_missing_table(tools: Tools, lark: FakeLark):
    text = await tools.error("list_base_fields", {"base": BASE})
    assert "table_id" in text and "list_base_tables" in text
    text = await tools.error("list_base_fields", {"base": TASKS_URL, "table_id": "tblPeople"})
    assert "differ" in text
    text = await tools.error(
        "update_base_record",
        {"base": TASKS_URL, "record_id": "recNope", "fields": {"Name": "x"}},
    )
    assert "1254043" in text
    text = await tools.error("list_base_tables", {"base": "https://acme.feishu.cn/docx/doxAbc123"})
    assert "base URL" in text
    assert lark.writes("record_update") == []


async def test_wiki_hosted_base(tools: Tools, lark: FakeLark):
    lark.wiki_nodes.append(
        {**lark.wiki_nodes[0], "node_token": "wikTracker", "obj_token": BASE, "obj_type": "bitable"}
    )
    found = await tools.ok(
        "search_base_records",
        {"base": "https://acme.feishu.cn/wiki/wikTracker?table=tblPeople", "page_size": 1},
    )
    assert set(found) == {"records", "total", "has_more", "page_token"}
    assert found["records"][0]["Person"] == [{"id": "ou_alice", "name": "Alice Wang"}]
    text = await tools.error(
        "list_base_tables",
        {"base": f"https://acme.feishu.cn/wiki/{lark.wiki_nodes[1]['node_token']}"},
    )
    assert "is a docx, not a base" in text


@pytest.mark.parametrize("operator", ["isNot", "isGreaterEqual", "isLessEqual", "contains"])
def test_lark_refuses_these_operators_on_dates(fresh_lark: FakeLark, operator: str):
    """Why the filter form allows only is, <, > on dates: Lark's search refuses the rest."""
    with httpx2.Client(base_url=fresh_lark.base_url) as client:
        token = client.post(
            FakeLark.TOKEN_PATH,
            json={"app_id": fresh_lark.app_id, "app_secret": fresh_lark.app_secret},
        ).json()["tenant_access_token"]
        answer = client.post(
            f"/open-apis/bitable/v1/apps/{BASE}/tables/tblTasks/records/search",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "filter": {
                    "conjunction": "and",
                    "conditions": [
                        {
                            "field_name": "Due",
                            "operator": operator,
                            "value": ["ExactDate", str(_ms(2026, 12, 1))],
                        }
                    ],
                }
            },
        ).json()
    assert answer["code"] == 1254018 and "date" in answer["msg"]


async def test_tools_list_shows_the_typed_filter(tools: Tools):
    listed = await tools.client.list_tools()
    search = next(t for t in listed.tools if t.name == "search_base_records")
    shown = dict(search.input_schema["properties"]["filter"])
    assert shown.pop("description")
    assert shown == FILTER_SCHEMA


async def test_search_answers_one_header_row_then_a_row_per_record(tools: Tools, lark: FakeLark):
    result = await tools.client.call_tool(
        "search_base_records", {"base": TASKS_URL, "field_names": ["Status", "Name"]}
    )
    rows = json.loads(result.content[0].text)["records"]
    # The table's own field order, whatever order field_names asked in; the id comes first.
    assert rows[0] == ["record_id", "Name", "Status"]
    assert rows[1] == ["recTask01", "Write MCP server", "In progress"]
    assert len(rows) == 1 + len(lark.records["tblTasks"][:20])
