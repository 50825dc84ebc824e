"""Chat search/members, wiki, drive and task tools through the real server; faults and
read-only mode for the whole second set."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from mcp.client import Client

from tests.lark_fake import FakeLark
from tests.results import records
from tests.server.harness import run_server, server_env

from .conftest import Tools

pytestmark = pytest.mark.anyio

CST = dt.timezone(dt.timedelta(hours=8))
WRITES = {"create_base_record", "update_base_record", "create_task", "update_task"}
READS = {
    "search_chats",
    "get_chat_members",
    "list_wiki_spaces",
    "list_wiki_nodes",
    "list_drive_files",
    "list_base_tables",
    "list_base_fields",
    "search_base_records",
}


async def _all_pages(tools: Tools, name: str, args: dict, key: str) -> list:
    items, token = [], None
    while True:
        page = await tools.ok(name, {**args, **({"page_token": token} if token else {})})
        items += page[key]
        if not page["has_more"]:
            assert "page_token" not in page
            return items
        token = page["page_token"]


async def test_search_chats_and_members(tools: Tools, lark: FakeLark):
    found = await tools.ok("search_chats", {"query": "engineering"})
    assert found["chats"] == [
        {
            "chat_id": "oc_engineering",
            "name": "Engineering",
            "description": "Backend and infra engineering",
        }
    ]
    assert lark.requests[-1].query["query"] == "engineering"
    members = await _all_pages(
        tools, "get_chat_members", {"chat_id": "oc_engineering", "page_size": 3}, "members"
    )
    assert members == [
        {"open_id": "ou_alice", "name": "Alice Wang"},
        {"open_id": "ou_bob", "name": "Bob Li"},
        {"open_id": "ou_carol", "name": "Carol Zhang"},
        {"open_id": "ou_dave", "name": "Dave Chen"},
    ]
    first = await tools.ok("get_chat_members", {"chat_id": "oc_general", "page_size": 2})
    assert first["member_total"] == 6 and first["has_more"] is True
    text = await tools.error("get_chat_members", {"chat_id": "oc_nope"})
    assert "230001" in text


async def test_wiki_spaces_and_nodes(tools: Tools, lark: FakeLark):
    spaces = await _all_pages(tools, "list_wiki_spaces", {"page_size": 1}, "spaces")
    assert [s["space_id"] for s in spaces] == [s["space_id"] for s in lark.wiki_spaces]
    space = spaces[0]["space_id"]
    top = await tools.ok("list_wiki_nodes", {"space_id": space})
    parents = [n for n in top["nodes"] if n.get("has_children")]
    assert parents and all(n["obj_type"] == "docx" and n["obj_token"] for n in top["nodes"])
    children = await _all_pages(
        tools,
        "list_wiki_nodes",
        {"space_id": space, "parent_node_token": parents[0]["node_token"], "page_size": 1},
        "nodes",
    )
    expected = [
        n["title"] for n in lark.wiki_nodes if n["parent_node_token"] == parents[0]["node_token"]
    ]
    assert [n["title"] for n in children] == expected and len(expected) > 1


async def test_drive_files_by_folder_token_or_url(tools: Tools, lark: FakeLark):
    root = await _all_pages(tools, "list_drive_files", {"page_size": 4}, "files")
    assert [f["name"] for f in root][:2] == ["q3-report.pdf", "Budget 2026"]
    assert len(root) == 6 and root[0]["modified"].endswith("+00:00")
    assert lark.requests[-1].query.get("folder_token") is None
    projects = await tools.ok(
        "list_drive_files", {"folder_token": "https://acme.feishu.cn/drive/folder/fldProjects"}
    )
    assert projects["folder_token"] == "fldProjects"
    assert {f["type"] for f in projects["files"]} == {"folder", "docx", "file"}


async def test_create_and_update_task(tools: Tools, lark: FakeLark):
    created = await tools.ok(
        "create_task",
        {
            "summary": "Send the launch notes",
            "description": "to #general",
            "due": "2026-12-02T18:00:00+08:00",
            "assignees": ["ou_bob", "ou_carol"],
        },
    )
    assert created["summary"] == "Send the launch notes"
    assert created["due"] == "2026-12-02T18:00:00+08:00"
    assert created["assignees"] == ["ou_bob", "ou_carol"] and created["completed"] is False
    (task,) = lark.writes("task")
    expected_ms = int(dt.datetime(2026, 12, 2, 18, tzinfo=CST).timestamp() * 1000)
    assert task["due"] == {"timestamp": str(expected_ms), "is_all_day": False}
    assert [(m["id"], m["role"]) for m in task["members"]] == [
        ("ou_bob", "assignee"),
        ("ou_carol", "assignee"),
    ]
    (post,) = [r for r in lark.requests if r.method == "POST" and r.path.endswith("/tasks")]
    assert len(post.json["client_token"]) == 36

    guid = created["task_guid"]
    done = await tools.ok("update_task", {"task_guid": guid, "completed": True})
    assert done["completed"] is True and done["completed_at"]
    moved = await tools.ok(
        "update_task", {"task_guid": guid, "summary": "Send notes", "due": "2026-12-03T09:00:00Z"}
    )
    assert moved["due"] == "2026-12-03T09:00:00+00:00" and moved["summary"] == "Send notes"
    reopened = await tools.ok("update_task", {"task_guid": guid, "completed": False})
    assert reopened["completed"] is False
    updates = lark.writes("task_update")
    assert [u["update_fields"] for u in updates] == [
        ["completed_at"],
        ["summary", "due"],
        ["completed_at"],
    ]
    assert updates[2]["changes"]["completed_at"] == "0"

    before = len(lark.requests)
    assert "Nothing to change" in await tools.error("update_task", {"task_guid": guid})
    assert len(lark.requests) == before
    unknown = "00000000-0000-4000-8000-000000000000"
    assert "1470404" in await tools.error("update_task", {"task_guid": unknown, "summary": "x"})
    # Not a GUID at all: refused before Lark, naming the argument and the shape.
    before = len(lark.requests)
    refused = await tools.error("update_task", {"task_guid": "nope", "summary": "x"})
    assert "task_guid 'nope' is not a task GUID" in refused and "UUID" in refused
    assert len(lark.requests) == before
    assert "UTC offset" in await tools.error(
        "create_task", {"summary": "x", "due": "2026-12-02 18:00"}
    )
    assert len(lark.writes("task")) == 1


async def test_creates_survive_faults_without_duplicates(tools: Tools, lark: FakeLark):
    """30% 429 + 30% 5xx, 5xx also after the write was stored: every call succeeds once."""
    for prefix in ("/open-apis/bitable", "/open-apis/task"):
        lark.inject(path=prefix, rate_429=0.3, rate_5xx=0.3, after_commit=True)
    names = [f"Fault-tolerant row {i}" for i in range(8)]
    for name in names:
        await tools.ok(
            "create_base_record",
            {"base": "bascnTeamTracker", "table_id": "tblTasks", "fields": {"Name": name}},
        )
        await tools.ok("create_task", {"summary": name})
    assert [w["fields"]["Name"] for w in lark.writes("record")] == names
    assert [w["summary"] for w in lark.writes("task")] == names
    record_posts = [
        r
        for r in lark.requests
        if r.method == "POST" and r.path.endswith("/tables/tblTasks/records")
    ]
    task_posts = [r for r in lark.requests if r.method == "POST" and r.path.endswith("/tasks")]
    # Faults really hit the writes, and every retry reused its call's key.
    assert len(record_posts) > len(names) and len(task_posts) > len(names)
    assert len({r.query["client_token"] for r in record_posts}) == len(names)
    assert len({r.json["client_token"] for r in task_posts}) == len(names)
    assert any(r.status >= 500 for r in record_posts) and any(r.status == 429 for r in task_posts)


async def test_updates_are_retried_through_faults(tools: Tools, lark: FakeLark):
    lark.inject(path="/open-apis/bitable", rate_5xx=0.5)
    for i in range(4):
        await tools.ok(
            "update_base_record",
            {
                "base": "bascnTeamTracker",
                "table_id": "tblTasks",
                "record_id": "recTask02",
                "fields": {"Estimate": i},
            },
        )
    assert [w["fields"] for w in lark.writes("record_update")] == [
        {"Estimate": i} for i in range(4)
    ]


async def test_tool_declarations(tools: Tools, lark: FakeLark):
    listed = {t.name: t for t in (await tools.client.list_tools()).tools}
    assert set(listed) >= READS | WRITES
    for name in READS | WRITES:
        tool = listed[name]
        hints = tool.annotations
        assert hints.read_only_hint is (name in READS), name
        assert hints.destructive_hint is (name == "update_base_record"), name
        assert hints.open_world_hint is True and tool.title
        schema = tool.input_schema
        assert schema["type"] == "object" and isinstance(schema["required"], list)
        assert all(p.get("description") for p in schema["properties"].values()), name
    assert listed["search_base_records"].input_schema["required"] == ["base"]
    assert listed["create_base_record"].input_schema["required"] == ["base", "fields"]
    assert listed["search_chats"].input_schema["required"] == ["query"]
    assert listed["create_task"].input_schema["required"] == ["summary"]


async def test_read_only_mode_hides_the_writes(lark_fake: FakeLark):
    lark_fake.reset()
    env = server_env(lark_fake.base_url, LARK_READ_ONLY="true")
    with run_server(env) as process:
        async with Client(process.mcp_url) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert names >= READS and not names & WRITES
            result = await client.call_tool("create_task", {"summary": "sneaky"})
            assert result.is_error and "create_task" in result.content[0].text
            found = await client.call_tool("search_chats", {"query": "design"})
            assert records(json.loads(found.content[0].text)["chats"])[0]["chat_id"] == "oc_design"
    assert lark_fake.writes("task") == []
