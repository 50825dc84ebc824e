"""Precomputed tool schemas (`python -m lark_mcp_server.tool_schemas`, run at image build):
a server started with them lists and runs its tools exactly as one that builds them at start,
and a file that no longer matches the code is ignored."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from lark_mcp_server import tool_schemas
from tests.lark_fake import FakeLark

from .harness import REPO, ServerProcess, call, error_text, payload, rpc, run_server, server_env


def _copy(dest: Path) -> Path:
    """The packages the image carries, as the Dockerfile copies them (no bytecode)."""
    for package in ("lark_mcp_server", "lark_user_store"):
        shutil.copytree(
            REPO / package,
            dest / package,
            ignore=shutil.ignore_patterns("__pycache__", "tool_schemas.json"),
        )
    return dest


def _tools(server: ServerProcess) -> list[dict]:
    response = rpc(server, "tools/list")
    assert response.status_code == 200, response.text
    return response.json()["result"]["tools"]


def _schemas_line(server: ServerProcess) -> str:
    (line,) = [line for line in server.log_lines() if line.get("message") == "tools ready"]
    return line["schemas"]


def test_a_server_with_precomputed_schemas_lists_and_runs_tools_as_one_without(
    tmp_path: Path, fresh_lark: FakeLark
):
    built = _copy(tmp_path / "built")
    precomputed = _copy(tmp_path / "precomputed")
    subprocess.run(
        [sys.executable, "-m", "lark_mcp_server.tool_schemas"],
        cwd=precomputed,
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert (precomputed / "lark_mcp_server" / "tool_schemas.json").is_file()

    env = server_env(fresh_lark.base_url)
    with run_server(env, cwd=built) as eager, run_server(env, cwd=precomputed) as lazy:
        assert _schemas_line(eager) == "built at start"
        assert _schemas_line(lazy) == "precomputed"
        assert _tools(lazy) == _tools(eager)
        for server in (eager, lazy):
            assert payload(call(server, "list_chats", {"page_size": 2}))["chats"]
        # Argument validation is the real model's, built on the first call.
        bad = {"page_size": "many", "receive_id": None}
        assert error_text(call(lazy, "list_chats", bad)) == error_text(
            call(eager, "list_chats", bad)
        )
        missing = error_text(call(lazy, "send_message", {"text": "hi"}))
        assert "receive_id" in missing
        assert missing == error_text(call(eager, "send_message", {"text": "hi"}))


def test_a_file_that_does_not_match_the_code_is_ignored(tmp_path: Path):
    package = _copy(tmp_path)
    path = package / "lark_mcp_server" / "tool_schemas.json"
    count = tool_schemas.write(path)
    schemas = tool_schemas.load(path)
    assert schemas is not None and len(schemas) == count
    assert schemas["list_chats"]["properties"]["page_size"]["type"] == "integer"

    # Any change to the package's source: the schemas may have changed with it.
    source = package / "lark_mcp_server" / "im.py"
    source.write_text(source.read_text() + "\n# edited\n")
    assert tool_schemas.load(path) is None

    source.write_text(source.read_text().removesuffix("\n# edited\n"))
    assert tool_schemas.load(path) is not None
    for broken in ("", "[]", '{"fingerprint": 1}', "{not json"):
        path.write_text(broken)
        assert tool_schemas.load(path) is None
    data = {"fingerprint": tool_schemas.fingerprint(path.parent), "schemas": []}
    path.write_text(json.dumps(data))
    assert tool_schemas.load(path) is None
