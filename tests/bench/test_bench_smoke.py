"""The benchmark harness measures what it claims, checked on the bare mcp server only (quick).

Each test drives a real server process over HTTP on loopback with the harness's own functions;
no figure is asserted against a threshold (timings vary by machine), only that the numbers are
real measurements of the right thing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from bench import measure, procs, result_sizes
from bench.run import docs_page, table, targets
from bench.servers import BARE, ServerSpec

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def bare() -> Iterator[tuple[measure.ColdStart, procs.subprocess.Popen[bytes]]]:
    cold, running = measure.cold_start(BARE, lark="", timeout=30, tag="-pytest")
    try:
        yield cold, running.proc
    finally:
        procs.stop(running.proc)
    assert running.proc.poll() is not None, "the harness left the server running"


def test_cold_start_ends_at_a_real_tools_list_and_needs_no_handshake(bare) -> None:
    cold, proc = bare
    assert proc.poll() is None
    assert 0 < cold.seconds < 30
    assert cold.session.handshake is False


def test_tools_list_counts_the_json_payload_of_the_one_tool(bare) -> None:
    cold, _ = bare
    listed = measure.tools_list(cold.session)
    assert listed.names == ["echo"]
    assert listed.content_type == "application/json"
    assert listed.bytes_per_tool == listed.payload_bytes > 100


def test_bounded_load_completes_every_call_and_reports_latency(bare) -> None:
    cold, proc = bare
    result = measure.load(
        cold.session,
        "echo",
        {"text": "hi"},
        expect="hi",
        calls=40,
        concurrency=4,
        warmup=4,
        watch={"server": proc.pid},
    )
    assert (result.ok, result.errors, result.calls) == (40, 0, 40)
    assert set(result.cpu_ms_per_call) == {"server", "client"}
    assert result.cpu_seconds["server"] >= 0
    assert 0 < result.p50_ms <= result.p99_ms
    assert result.calls_per_second > 0
    assert procs.peak_rss_bytes(proc.pid) > 10_000_000  # a Python server is never below 10 MB


def test_a_result_without_the_expected_text_counts_as_failed(bare) -> None:
    cold, _ = bare
    result = measure.load(
        cold.session, "echo", {"text": "hi"}, expect="oc_", calls=8, concurrency=2, warmup=0
    )
    assert (result.ok, result.errors) == (0, 8)
    assert "lacks 'oc_'" in (result.first_error or "")


def _variant(**env: str) -> ServerSpec:
    return dataclasses.replace(BARE, extra_env=env)


def test_an_sse_server_that_wants_initialize_gets_one_session_reused_for_every_call() -> None:
    """The paths lark-mcp (event-stream answers) and session-bound servers need, in one server."""
    spec = _variant(BARE_SSE="1", BARE_STATEFUL="1")
    cold, running = measure.cold_start(spec, lark="", tag="-pytest-sse-stateful")
    try:
        listed = measure.tools_list(cold.session)
        result = measure.load(cold.session, "echo", {"text": "hi"}, calls=8, concurrency=2)
    finally:
        procs.stop(running.proc)
    assert cold.session.handshake is True
    assert "Mcp-Session-Id" in cold.session.headers
    assert listed.content_type == "text/event-stream"
    assert listed.names == ["echo"]
    assert result.ok == 8


def test_targets_read_missing_figures_as_not_applicable_and_the_table_renders() -> None:
    results = {"bare": {"tool": "echo", "cold_start_ms": {"median": 700.0, "runs": [700.0]}}}
    assert {c["status"] for c in targets(results)} == {"n/a"}
    assert "| cold start, median of runs (ms) | 700 |" in table(results, ["bare"])


def test_targets_compare_ours_with_the_others() -> None:
    results = {
        "ours": {
            "cold_start_ms": {"median": 800.0},
            "tools_list": {"bytes_per_tool": 900.0},
            "load": {"calls_per_second": 130.0, "errors": 0},
            "peak_rss_bytes": 90_000_000,
            "deps": {"bytes": 85_000_000},
        },
        "bare": {"cold_start_ms": {"median": 700.0}, "load": {"calls_per_second": 150.0}},
        "lark-mcp": {"cold_start_ms": {"median": 2000.0}, "load": {"calls_per_second": 60.0}},
    }
    sizes = [
        {"tool": "list_chats", "ratio": 0.25},
        {"tool": "list_messages", "ratio": 0.36},
        {"error": "a page that could not be measured has no verdict"},
    ]
    checks = targets(results, sizes)
    assert [c["status"] for c in checks] == [
        "MISS",  # 800 / 700 = 1.14 > 1.10
        "PASS",  # 800 / 2000 = 0.4
        "MISS",  # 900 B per tool
        "PASS",  # 130 / 60 = 2.17
        "PASS",  # 130 / 150 = 0.87
        "PASS",  # list_chats 0.25
        "MISS",  # list_messages 0.36
        "PASS",  # 90 MB
        "MISS",  # 85 MB
    ]
    assert checks[5]["target"] == "list_chats result text <= 0.30x lark-mcp's"


def test_docs_page_renders_the_run_it_is_given() -> None:
    results = {"bare": {"tool": "echo", "cold_start_ms": {"median": 700.0, "runs": [700.0]}}}
    report = {
        "date": "2026-11-24T00:00:00+00:00",
        "command": "make bench",
        "machine": {"cores": 2, "arch": "x86_64", "cpu": "cpu", "kernel": "6", "python": "3.11"}
        | {"node": "v20"},
        "ours_code": "commit abc",
        "load_average_before_after": [[0.5, 0, 0], [3.5, 0, 0]],
        "settings": {"concurrency": 8, "load_rounds": 3, "calls_per_round": 400}
        | {"warmup_calls": 16},
        "servers": results,
        "targets": targets(results),
        "cpu_ratios": {"cold_start_cpu_ours_over_bare": None}
        | {"cold_start_cpu_ours_over_lark_mcp": None, "cpu_per_call_lark_mcp_over_ours": None},
    }
    section = docs_page(report)
    assert section.startswith("# Benchmark\n")
    assert "```\nmake bench\n```" in section
    assert "busy with other work" in " ".join(section.split())  # 3.5 > 2 cores
    assert "| cold start ≤ 1.10x bare | - | n/a |" in section


def test_result_items_and_content_floor_read_tables_and_grids() -> None:
    chats = {
        "chats": [["chat_id", "name"], ["oc_1", "Général"], ["oc_2", None]],
        "has_more": True,
        "page_token": "abc",
    }
    assert result_sizes.rows("chats", chats["chats"]) == [["oc_1", "Général"], ["oc_2", None]]
    # Values only: oc_1 (4) + Général (9 UTF-8 bytes) + oc_2 (4) + true (4) + abc (3); the
    # header row's names and the null cell add nothing.
    assert result_sizes.content_floor(chats) == 24
    sheet = {"range": "S!A1:B2", "values": [["Item", "Q1"], ["Rent", 1250]]}
    assert len(result_sizes.rows("values", sheet["values"])) == 2  # a grid has no header row
    assert result_sizes.content_floor(sheet) == len("S!A1:B2ItemQ1Rent1250")


def test_a_page_target_shows_its_content_floor() -> None:
    sizes = [{"tool": "read_sheet_range", "ratio": 0.534, "floor_ratio": 0.381}]
    (check,) = [c for c in targets({}, sizes) if c["target"].startswith("read_sheet_range")]
    assert check == {
        "target": "read_sheet_range result text <= 0.30x lark-mcp's",
        "value": "0.534x (floor 0.381x)",
        "status": "MISS",
    }


def test_the_echo_target_shows_the_bare_fetch_ceiling_beside_it() -> None:
    results = {
        "ours": {"load": {"calls_per_second": 560.0, "errors": 0}},
        "bare": {"load": {"calls_per_second": 700.0}},
        "bare-fetch": {"load": {"calls_per_second": 595.0}},
    }
    (check,) = [c for c in targets(results) if c["target"].endswith("bare echo")]
    assert check["value"] == "0.8x (bare-fetch: 0.85x)" and check["status"] == "PASS"
