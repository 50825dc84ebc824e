"""The HTTP/MCP surface as the AgentCore gateway, curl and MCP clients meet it."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest
from mcp.client import Client

from tests.lark_fake import FakeLark

from .harness import ACCEPT, ServerProcess, call, payload, rpc

MANIFEST = Path(__file__).resolve().parents[2] / "lark_mcp_server" / "tools_manifest.json"
FIRST_TWELVE = {
    "send_message": False,
    "reply_message": False,
    "list_chats": True,
    "list_messages": True,
    "create_document": False,
    "get_document": True,
    "append_to_document": False,
    "list_calendars": True,
    "list_events": True,
    "create_event": False,
    "get_freebusy": True,
    "find_users": True,
}


@pytest.mark.parametrize("path", ["/health", "/ping"])
def test_health_answers_small_json_without_lark(server: ServerProcess, lark: FakeLark, path: str):
    response = httpx2.get(server.url + path, headers={"Host": "runtime.internal"})
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert len(response.content) < 200
    assert lark.requests == []


def test_bare_tools_list_with_foreign_host_and_session_headers(container_server: ServerProcess):
    response = rpc(
        container_server,
        "tools/list",
        headers={
            "Host": "bedrock-agentcore.us-east-1.amazonaws.com",
            "Mcp-Session-Id": "not-a-session-we-issued",
            "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": "a" * 40,
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    tools = response.json()["result"]["tools"]
    manifest = json.loads(MANIFEST.read_text())["tools"]
    assert [t["name"] for t in tools] == [t["name"] for t in manifest]


def test_manifest_matches_tools_list(server: ServerProcess):
    """tools_manifest.json is what the CDK smoke test and gateway policies read: it must agree."""
    tools = rpc(server, "tools/list").json()["result"]["tools"]
    served = {t["name"]: t["annotations"]["readOnlyHint"] for t in tools}
    declared = {t["name"]: t["read_only"] for t in json.loads(MANIFEST.read_text())["tools"]}
    assert served == declared
    assert {name: served[name] for name in FIRST_TWELVE} == FIRST_TWELVE


def test_tool_declarations_fit_quick_suite_and_agents(server: ServerProcess):
    raw = rpc(server, "tools/list").content
    tools = json.loads(raw)["result"]["tools"]
    assert len(tools) == len(json.loads(MANIFEST.read_text())["tools"])
    for tool in tools:
        schema = tool["inputSchema"]
        assert schema["type"] == "object"
        assert isinstance(schema["required"], list)
        assert set(schema["required"]) <= set(schema["properties"])
        for name, prop in schema["properties"].items():
            assert prop.get("description"), f"{tool['name']}.{name} has no description"
        assert tool["title"] and 10 < len(tool["description"]) < 200
        hints = tool["annotations"]
        for key in ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"):
            assert isinstance(hints[key], bool), (tool["name"], key)
        if tool["name"] in FIRST_TWELVE:
            assert hints["destructiveHint"] is False
    assert len(raw) / len(tools) < 800, f"tools/list averages {len(raw) / len(tools):.0f} B/tool"


def test_bare_tools_call_without_initialize(container_server: ServerProcess, lark: FakeLark):
    result = call(container_server, "list_chats", {}, headers={"Host": "example.com:9000"})
    names = [c["name"] for c in payload(result)["chats"]]
    assert names == [c["name"] for c in lark.chats[: len(names)]]
    assert "structuredContent" in result


@pytest.mark.anyio
async def test_official_client_over_streamable_http(server: ServerProcess, lark: FakeLark):
    async with Client(server.mcp_url) as client:
        listed = await client.list_tools()
        assert {t.name for t in listed.tools} >= {"send_message", "find_users"}
        result = await client.call_tool("list_chats", {"page_size": 2})
        assert not result.is_error
        data = json.loads(result.content[0].text)
        assert data == result.structured_content
        # A page of records is a table: the field names once, then one row per chat.
        assert data["chats"] == [
            ["chat_id", "name", "description"],
            *([c["chat_id"], c["name"], c["description"]] for c in lark.chats[:2]),
        ]
        assert data["has_more"] is True


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", -32700),
        (b'{"jsonrpc": "2.0", "id": 1}', -32600),
        (b'{"jsonrpc": "1.0", "id": 1, "method": "tools/list"}', -32600),
        (b"[]", -32600),
        (b'"just a string"', -32600),
    ],
)
def test_malformed_json_rpc_gets_4xx(server: ServerProcess, body: bytes, code: int):
    response = httpx2.post(
        server.mcp_url,
        content=body,
        headers={"Content-Type": "application/json", "Accept": ACCEPT},
    )
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.json()["error"]["code"] == code
    assert rpc(server, "tools/list").status_code == 200


def test_oversized_body_gets_413(server: ServerProcess, lark: FakeLark):
    big = {
        "name": "send_message",
        "arguments": {"receive_id": "oc_general", "text": "x" * 1_100_000},
    }
    response = httpx2.post(
        server.mcp_url,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": big},
        headers={"Accept": ACCEPT},
    )
    assert response.status_code == 413
    assert lark.writes("message") == []
    assert rpc(server, "tools/list").status_code == 200


def test_unknown_method_and_tool(server: ServerProcess, lark: FakeLark):
    response = rpc(server, "no/such/method")
    assert 200 <= response.status_code < 500
    assert response.json()["error"]["code"] == -32601
    result = call(server, "no_such_tool", {})
    assert result["isError"] is True and "no_such_tool" in result["content"][0]["text"]
    assert lark.requests == []
