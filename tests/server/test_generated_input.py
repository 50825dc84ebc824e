"""Whatever the arguments, every tool answers with a result or a tool error that says why.

Every tool from `tools/list` (new tools are covered without a change here) is called over
loopback HTTP, against the fake Lark, with arguments generated from its `inputSchema`, with
known ids made hostile, and with arbitrary JSON. A call fails the test when it gets HTTP 5xx,
a JSON-RPC internal error or an opaque `Error executing tool` answer, when the server logs a
`crash` or an ERROR, or when Lark receives a request on another route (or with another
method) than the one the tool's code names.

Runs are reproducible (`derandomize=True`: the same examples every run) and bounded: the
examples per tool are fixed, a few hundred calls in all. `pytest -s` prints calls per tool.
Set LARK_FUZZ_EXAMPLES to a larger number for a longer local hunt.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lark_mcp_server import server
from tests.lark_fake import FakeLark

from .generated import (
    Probe,
    check_generated_input,
    check_routes,
    package_of,
    probing,
    tool_routes,
)
from .harness import ServerProcess, rpc, run_server, server_env


@pytest.fixture(scope="module")
def fuzz_server(lark_fake: FakeLark) -> Iterator[ServerProcess]:
    """Its own server process, so its log holds only these calls."""
    with run_server(server_env(lark_fake.base_url)) as process:
        yield process


@pytest.fixture(scope="module")
def tools(fuzz_server: ServerProcess) -> list[dict[str, Any]]:
    response = rpc(fuzz_server, "tools/list")
    listed = response.json()["result"]["tools"]
    assert listed, "tools/list is empty"
    return listed


@pytest.fixture
def probe(fuzz_server: ServerProcess, fresh_lark: FakeLark) -> Iterator[Probe]:
    with probing(fuzz_server, fresh_lark) as probe:
        yield probe


@pytest.mark.timeout(300)  # ~15 s on an idle machine; room for a loaded CI runner
def test_every_tool_answers_generated_input_without_crashing(
    probe: Probe, tools: list[dict[str, Any]]
):
    check_generated_input(probe, tools)


@pytest.mark.timeout(300)
def test_no_argument_changes_the_method_or_route_of_a_lark_request(
    probe: Probe, tools: list[dict[str, Any]]
):
    """Good ids, then ids bent with `/`, `..`, `?`, `#`, `%`, unicode look-alikes and control
    characters: every request Lark gets is one the tool's code writes down (method and route,
    read from the source), and the route the tool meant for that call (the probe's check)."""
    check_routes(probe, tools, tool_routes(server.all_tools(), package_of(server)))


# Inputs the generated runs found crashing the server (or that a longer hunt found), kept as
# fixed cases so each stays fixed whatever the generator draws next time.
FOUND = [
    ("reply_message", {"message_id": "om_seed0001\x01", "text": "x"}),  # InvalidURL
    ("get_chat_members", {"chat_id": "oc_general\n"}),
    ("list_wiki_nodes", {"space_id": "7450000000000000001\x7f"}),
    ("update_task", {"task_guid": "x\x00", "summary": "s"}),
    ("list_drive_files", {"folder_token": "https://[x/drive/folder/y"}),  # urlsplit ValueError
    ("get_document", {"document": "https://[acme.feishu.cn/docx/x"}),
    ("list_base_tables", {"base": "https://[acme.feishu.cn/base/x"}),
    # A number field given "1e309" or "nan": no JSON number carries it.
    (
        "create_base_record",
        {
            "base": "bascnTeamTracker",
            "table_id": "tblTasks",
            "fields": {"Name": "x", "Estimate": "1e309"},
        },
    ),
    (
        "create_base_record",
        {"base": "bascnTeamTracker", "table_id": "tblTasks", "fields": {"Estimate": "nan"}},
    ),
    # Times whose UTC instant has no year 1-9999, read back in the caller's offset.
    ("create_task", {"summary": "x", "due": "9999-12-31T23:59:59-14:00"}),
    ("create_task", {"summary": "x", "due": "0001-01-01T00:00:00+14:00"}),
    (
        "create_base_record",
        {
            "base": "bascnTeamTracker",
            "table_id": "tblTasks",
            "fields": {"Name": "x", "Due": "9999-12-31T23:59:59-12:00"},
        },
    ),
    (
        "create_event",
        {
            "calendar_id": "cal_engineering@group.calendar.feishu.cn",
            "summary": "x",
            "start_time": "9999-12-31T20:00:00-14:00",
            "end_time": "9999-12-31T23:59:59-14:00",
        },
    ),
    (
        "list_events",
        {
            "calendar_id": "cal_engineering@group.calendar.feishu.cn",
            "start_time": "9999-12-01T00:00:00+00:00",
            "end_time": "9999-12-31T23:59:59-14:00",
        },
    ),
]


@pytest.mark.parametrize(
    ("tool", "arguments"), FOUND, ids=[f"{t}-{i}" for i, (t, _) in enumerate(FOUND)]
)
def test_inputs_that_once_crashed_the_server_now_get_an_answer(
    probe: Probe, tool: str, arguments: dict[str, Any]
):
    answer = probe.call(tool, arguments)
    assert not probe.problems, "\n".join(probe.problems)
    assert answer is not None and "result" in answer, answer
