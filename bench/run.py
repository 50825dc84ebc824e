"""`make bench`: ours vs. a bare mcp server vs. the official lark-mcp, side by side, on loopback.

Usage: `.venv/bin/python -m bench.run [--servers ours,bare,bare-fetch,lark-mcp] [--runs 5]
[--rounds 3] [--calls 400] [--concurrency 8] [--time-cap 60] [--out bench/results.json]`.
Prints a table with each target marked PASS/MISS and writes the same figures to
bench/results.json. Every server is started and stopped by this script; it ends by itself (each
loop is bounded in count and time).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python bench/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import measure, procs
from bench import result_sizes as sizes_mod
from bench.mcp_http import Session
from bench.servers import (
    APP_ID,
    APP_SECRET,
    LARK_MCP_DIR,
    LARK_MCP_VERSION,
    LOGS,
    ROOT,
    SERVERS,
    Running,
    ServerSpec,
    compile_bytecode,
    ensure_lark_mcp,
    git,
    ours_at,
    precompute_schemas,
    start_fake_lark,
)

MB = 1_000_000  # decimal megabytes, the stricter reading of the targets


@dataclass
class Subject:
    """One server under test and everything measured on it so far."""

    spec: ServerSpec
    out: dict[str, Any]
    running: Running | None = None
    session: Session | None = None
    starts: list[float] = field(default_factory=list)
    start_cpu: list[float] = field(default_factory=list)
    rounds: list[measure.Load] = field(default_factory=list)

    def fail(self, exc: Exception) -> None:
        """Record why this server has no (more) figures, stop it, and let the others go on."""
        self.out["error"] = f"{type(exc).__name__}: {exc}"
        self.stop()

    def stop(self) -> None:
        if self.running is not None:
            procs.stop(self.running.proc)
            self.running = None


def bench_all(
    specs: list[ServerSpec], fake: Running | None, args: argparse.Namespace
) -> dict[str, Any]:
    """Measure every server, interleaved so that a busy spell on this shared machine lands on
    all of them rather than on whichever happened to run then.

    Cold starts go ours, bare, lark-mcp, ours, ... (`args.runs` each; the last instance of each
    is kept running); then `args.rounds` load rounds, the order rotated every round; then the
    peak RSS of each kept instance, which has by then served every measured call.
    """
    lark = fake.url if fake else ""
    fake_pid = {"lark_fake": fake.proc.pid} if fake else {}
    subjects = [
        Subject(s, {"note": s.note, "tool": s.tool, "arguments": s.arguments}) for s in specs
    ]
    try:
        for run in range(args.runs):
            for sub in subjects:
                if "error" in sub.out:
                    continue
                sub.stop()
                try:
                    cold, sub.running = measure.cold_start(sub.spec, lark, tag=f"-{run + 1}")
                except Exception as exc:  # one broken server must not hide the others' figures
                    sub.fail(exc)
                    continue
                sub.session = cold.session
                sub.starts.append(cold.seconds)
                sub.start_cpu.append(cold.cpu_seconds)
                time.sleep(0.3)
        live = [sub for sub in subjects if "error" not in sub.out]
        for sub in live:
            sub.out["cold_start_ms"] = {
                "median": round(measure.median(sub.starts) * 1000, 1),
                "runs": [round(s * 1000, 1) for s in sub.starts],
                "cpu_median": round(measure.median(sub.start_cpu) * 1000, 1),
            }
            sub.out["handshake"] = sub.session.handshake
            sub.out["rss_after_start_bytes"] = procs.rss_bytes(sub.running.proc.pid)
            try:
                sub.out["tools_list"] = measure.as_dict(measure.tools_list(sub.session))
            except Exception as exc:
                sub.fail(exc)
        if args.server_cpus and args.harness_cpus:
            os.sched_setaffinity(0, args.harness_cpus)  # this process is the load client
            for sub in subjects:
                if sub.running is not None and "error" not in sub.out:
                    procs.pin(sub.running.proc.pid, args.server_cpus)
        for round_ in range(args.rounds):
            shift = round_ % max(len(subjects), 1)
            for sub in subjects[shift:] + subjects[:shift]:
                if "error" in sub.out:
                    continue
                print(f"bench: load round {round_ + 1}: {sub.spec.name}", file=sys.stderr)
                try:
                    sub.rounds.append(
                        measure.load(
                            sub.session,
                            sub.spec.tool,
                            sub.spec.arguments,
                            expect=sub.spec.expect,
                            calls=args.calls,
                            concurrency=args.concurrency,
                            warmup=2 * args.concurrency if round_ == 0 else 0,
                            time_cap=args.time_cap,
                            watch={"server": sub.running.proc.pid} | fake_pid,
                        )
                    )
                except Exception as exc:
                    sub.fail(exc)
        for sub in subjects:
            if "error" in sub.out or sub.running is None:
                continue
            sub.out["load"] = measure.as_dict(measure.combine(sub.rounds))
            sub.out["peak_rss_bytes"] = procs.peak_rss_bytes(sub.running.proc.pid)
    finally:
        for sub in subjects:
            sub.stop()
    return {sub.spec.name: sub.out for sub in subjects}


def result_sizes(specs: list[ServerSpec], fake: Running) -> list[dict[str, Any]]:
    """Result text bytes of ours and of lark-mcp's matching tools on the same fake pages.

    lark-mcp is started once more with exactly those tools enabled (`-t`); ours as measured.
    """
    by_name = {s.name: s for s in specs}
    if "ours" not in by_name or "lark-mcp" not in by_name:
        return []
    lark_mcp = by_name["lark-mcp"]
    enabled = ",".join(sizes_mod.LARK_MCP_TOOLS)
    pages_spec = replace(
        lark_mcp,
        argv=lambda port, lark: [
            enabled if arg == "preset.default" else arg for arg in lark_mcp.argv(port, lark)
        ],
    )
    started: list[Running] = []
    try:
        ours_cold, ours_run = measure.cold_start(by_name["ours"], fake.url, tag="-sizes")
        started.append(ours_run)
        theirs_cold, theirs_run = measure.cold_start(pages_spec, fake.url, tag="-sizes")
        started.append(theirs_run)
        return sizes_mod.measure(
            ours_cold.session, theirs_cold.session, fake.url, APP_ID, APP_SECRET
        )
    finally:
        for running in started:
            procs.stop(running.proc)


def deps_sizes(names: list[str], ours_requirements: Path) -> dict[str, dict[str, Any]]:
    """Installed size of what each server needs at run time (interpreters not counted)."""
    sizes: dict[str, dict[str, Any]] = {}
    ours_reqs = measure.requirement_lines(ours_requirements)
    bare_reqs = ["mcp==2.3.0"]
    for name, reqs in (("ours", ours_reqs), ("bare", bare_reqs)):
        if name not in names:
            continue
        try:
            size, where = measure.python_deps_bytes(reqs, name)
            sizes[name] = {"bytes": size, "what": f"site-packages of {' '.join(reqs)}: {where}"}
        except (subprocess.SubprocessError, OSError, StopIteration) as exc:
            sizes[name] = {"bytes": None, "what": f"could not install {reqs}: {exc}"}
    if "lark-mcp" in names:
        modules = LARK_MCP_DIR / "node_modules"
        sizes["lark-mcp"] = {
            "bytes": measure.tree_bytes(modules) if modules.exists() else None,
            "what": f"node_modules of @larksuiteoapi/lark-mcp@{LARK_MCP_VERSION}"
            " (npm install --ignore-scripts)",
        }
    return sizes


def _get(results: dict[str, Any], name: str, *path: str) -> Any:
    value: Any = results.get(name, {})
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def targets(
    results: dict[str, Any], sizes: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Each target with the measured value and PASS / MISS (n/a when a figure is missing)."""

    def verdict(ok: bool | None) -> str:
        return "n/a" if ok is None else ("PASS" if ok else "MISS")

    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 2) if a is not None and b else None

    ours_cold = _get(results, "ours", "cold_start_ms", "median")
    cold_bare = ratio(ours_cold, _get(results, "bare", "cold_start_ms", "median"))
    cold_lark = ratio(ours_cold, _get(results, "lark-mcp", "cold_start_ms", "median"))
    per_tool = _get(results, "ours", "tools_list", "bytes_per_tool")
    ours_tput = _get(results, "ours", "load", "calls_per_second")
    tput = ratio(ours_tput, _get(results, "lark-mcp", "load", "calls_per_second"))
    tput_bare = ratio(ours_tput, _get(results, "bare", "load", "calls_per_second"))
    # The same round trip with nothing of ours around it: the ceiling of a Lark-calling tool.
    fetch_bare = ratio(
        _get(results, "bare-fetch", "load", "calls_per_second"),
        _get(results, "bare", "load", "calls_per_second"),
    )
    if _get(results, "ours", "load", "errors") or _get(results, "lark-mcp", "load", "errors"):
        tput_note = " (calls failed: see errors)"
    else:
        tput_note = ""
    rss = _get(results, "ours", "peak_rss_bytes")
    deps = _get(results, "ours", "deps", "bytes")
    page_checks = [
        {
            "target": f"{size['tool']} result text <= 0.30x lark-mcp's",
            "value": f"{size['ratio']}x"
            + (f" (floor {size['floor_ratio']}x)" if "floor_ratio" in size else ""),
            "status": verdict(size["ratio"] <= 0.30),
        }
        for size in sizes or []
        if "ratio" in size
    ]
    return [
        {
            "target": "cold start <= 1.10x bare",
            "value": None if cold_bare is None else f"{cold_bare}x",
            "status": verdict(None if cold_bare is None else cold_bare <= 1.10),
        },
        {
            "target": "cold start <= 0.6x lark-mcp",
            "value": None if cold_lark is None else f"{cold_lark}x",
            "status": verdict(None if cold_lark is None else cold_lark <= 0.6),
        },
        {
            "target": "tools/list <= 800 bytes per tool",
            "value": None if per_tool is None else f"{per_tool:.0f} B",
            "status": verdict(None if per_tool is None else per_tool <= 800),
        },
        {
            "target": "list_chats throughput >= 2x lark-mcp im_v1_chat_list",
            "value": None if tput is None else f"{tput}x{tput_note}",
            "status": verdict(None if tput is None else tput >= 2 and not tput_note),
        },
        {
            "target": "list_chats throughput >= 0.8x bare echo",
            "value": None
            if tput_bare is None
            else f"{tput_bare}x{tput_note}"
            + ("" if fetch_bare is None else f" (bare-fetch: {fetch_bare}x)"),
            "status": verdict(None if tput_bare is None else tput_bare >= 0.8 and not tput_note),
        },
        *page_checks,
        {
            "target": "peak RSS < 100 MB",
            "value": None if rss is None else f"{rss / MB:.1f} MB",
            "status": verdict(None if rss is None else rss < 100 * MB),
        },
        {
            "target": "runtime deps < 80 MB installed",
            "value": None if deps is None else f"{deps / MB:.1f} MB",
            "status": verdict(None if deps is None else deps < 80 * MB),
        },
    ]


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages: how busy the machine was with other work."""
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def cpu_ratios(results: dict[str, Any]) -> dict[str, float | None]:
    """The same comparisons as the targets, in CPU time rather than wall time (not targets
    themselves: a cross-check that holds when other work on the machine skews the clock)."""

    def ratio(a: Any, b: Any) -> float | None:
        return round(a / b, 2) if a is not None and b else None

    ours_cold = _get(results, "ours", "cold_start_ms", "cpu_median")
    ours_call = _get(results, "ours", "load", "cpu_ms_per_call", "server")
    return {
        "cold_start_cpu_ours_over_bare": ratio(
            ours_cold, _get(results, "bare", "cold_start_ms", "cpu_median")
        ),
        "cold_start_cpu_ours_over_lark_mcp": ratio(
            ours_cold, _get(results, "lark-mcp", "cold_start_ms", "cpu_median")
        ),
        "cpu_per_call_lark_mcp_over_ours": ratio(
            _get(results, "lark-mcp", "load", "cpu_ms_per_call", "server"), ours_call
        ),
    }


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        node = subprocess.run(
            ["node", "--version"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        node = "not found"
    return {
        "cores": os.cpu_count(),
        "arch": platform.machine(),
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "node": node,
    }


def _fmt(value: Any, spec: str = "") -> str:
    if value is None:
        return "-"
    return format(value, spec)


def table(results: dict[str, Any], names: list[str]) -> str:
    """The figures as a Markdown table (what docs/benchmark.md shows)."""

    def row(label: str, cell: Any) -> str:
        return "| " + " | ".join([label, *(cell(n) for n in names)]) + " |"

    def mb(n: str, *path: str) -> str:
        value = _get(results, n, *path)
        return "-" if value is None else f"{value / MB:.1f}"

    def load(key: str, spec: str) -> Any:
        return lambda n: _fmt(_get(results, n, "load", key), spec)

    def cpu(proc: str) -> Any:
        return lambda n: _fmt(_get(results, n, "load", "cpu_ms_per_call", proc), ".2f")

    def per_cpu_second(n: str) -> str:
        ms = _get(results, n, "load", "cpu_ms_per_call", "server")
        return "-" if not ms else f"{1000 / ms:.0f}"

    def client_and_fake(n: str) -> str:
        return f"{cpu('client')(n)} / {cpu('lark_fake')(n)}"

    def rounds(n: str) -> str:
        rates = _get(results, n, "load", "rounds_calls_per_second")
        return "-" if not rates else " / ".join(f"{r:.0f}" for r in rates)

    def cold_runs(n: str) -> str:
        runs = _get(results, n, "cold_start_ms", "runs")
        return "-" if not runs else f"{min(runs):.0f}–{max(runs):.0f}"

    lines = [
        "| metric | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
        row(
            "cold start, median of runs (ms)",
            lambda n: _fmt(_get(results, n, "cold_start_ms", "median"), ".0f"),
        ),
        row("cold start, range (ms)", cold_runs),
        row(
            "cold start, CPU used, median (ms)",
            lambda n: _fmt(_get(results, n, "cold_start_ms", "cpu_median"), ".0f"),
        ),
        row("tools", lambda n: _fmt(_get(results, n, "tools_list", "tools"))),
        row(
            "tools/list payload (bytes)",
            lambda n: _fmt(_get(results, n, "tools_list", "payload_bytes"), ","),
        ),
        row(
            "bytes per tool",
            lambda n: _fmt(_get(results, n, "tools_list", "bytes_per_tool"), ".0f"),
        ),
        row("tool called under load", lambda n: f"`{_get(results, n, 'tool')}`"),
        row("throughput, median round (calls/s)", load("calls_per_second", ".1f")),
        row("throughput, each round (calls/s)", rounds),
        row("latency p50 (ms)", load("p50_ms", ".1f")),
        row("latency p99 (ms)", load("p99_ms", ".1f")),
        row("server CPU per call (ms)", cpu("server")),
        row("calls per server CPU-second", per_cpu_second),
        row("load client / fake Lark CPU per call (ms)", client_and_fake),
        row(
            "calls ok / failed",
            lambda n: (
                f"{_fmt(_get(results, n, 'load', 'ok'))} / "
                f"{_fmt(_get(results, n, 'load', 'errors'))}"
            ),
        ),
        row("RSS after start (MB)", lambda n: mb(n, "rss_after_start_bytes")),
        row("peak RSS, after all calls (MB)", lambda n: mb(n, "peak_rss_bytes")),
        row("runtime deps installed (MB)", lambda n: mb(n, "deps", "bytes")),
    ]
    return "\n".join(lines)


def target_table(checks: list[dict[str, Any]]) -> str:
    lines = ["| target (ours) | measured | result |", "|---|---:|---|"]
    lines += [f"| {c['target']} | {_fmt(c['value'])} | {c['status']} |" for c in checks]
    return "\n".join(lines)


def docs_page(report: dict[str, Any]) -> str:
    """docs/benchmark.md for a finished run (`--docs` prints it; a test keeps the two equal)."""
    m = report["machine"]
    when = dt.datetime.fromisoformat(report["date"]).strftime("%Y-%m-%d %H:%M UTC")
    load = report["load_average_before_after"]
    busy = max(load[0][:1] + load[1][:1], default=0) > (m["cores"] or 1)
    ratios = report["cpu_ratios"]
    tools = _get(report["servers"], "ours", "tools_list", "tools")
    settings = report["settings"]

    def para(text: str) -> str:
        return textwrap.fill(text, width=96, break_on_hyphens=False, break_long_words=False)

    intro = (
        "Ours against the floor any Python-SDK server starts from (a bare `mcp` 2.3 server with "
        "one trivial tool, `bench/bare_server.py`), against that server with one tool that only "
        "makes list_chats' Lark GET (`bench/bare_fetch_server.py`, the ceiling for a tool that "
        "calls Lark), and against the official Node server "
        "`@larksuiteoapi/lark-mcp@0.5.1` (`preset.default`, streamable mode), all four on "
        "loopback against the same HTTP fake of Lark (`tests/lark_fake`). Method, and how each "
        "server is driven, in [bench/README.md](../bench/README.md); every figure is also in "
        "`bench/results.json`."
    )
    machine_line = (
        f"Measured {when} on {m['cores']} cores {m['arch']} ({m['cpu']}), Linux {m['kernel']}, "
        f"Python {m['python']}, Node {m['node']}; ours ({tools} tools) at {report['ours_code']}. "
        f"Load average (1 min) {load[0][0]} before, {load[1][0]} after"
        + (
            ": the machine was busy with other work, so calls/s and cold starts are noisy and "
            "the CPU-time figures are the steadier ones."
            if busy
            else "."
        )
    )
    cross_check = (
        "The same comparisons in CPU time (a cross-check, not targets): cold start ours/bare "
        f"{_fmt(ratios['cold_start_cpu_ours_over_bare'])}×, ours/lark-mcp "
        f"{_fmt(ratios['cold_start_cpu_ours_over_lark_mcp'])}×; lark-mcp uses "
        f"{_fmt(ratios['cpu_per_call_lark_mcp_over_ours'])}× ours' CPU per call."
    )
    how = (
        f"Load: {settings['concurrency']} calls in flight, {settings['load_rounds']} rounds of "
        f"{settings['calls_per_round']} calls per server after {settings['warmup_calls']} "
        "warm-up calls, the server pinned to its own CPU; the bare server's `echo` never calls "
        "Lark, so its column is the SDK's ceiling, not a competitor. MB are 10^6 bytes; deps are "
        "the installed `site-packages` of `lark_mcp_server/requirements.txt` (ours) and of "
        "`mcp==2.3.0` (bare), and lark-mcp's `node_modules`, interpreters not counted."
    )
    targets_md = target_table(report["targets"]).replace("<=", "≤").replace(">=", "≥")
    sizes = [s for s in report.get("result_sizes") or [] if "ratio" in s]
    sizes_md = "\n".join(
        [
            para(
                "Result text a model reads, one 20-item page of the same fake data "
                "(`bench/result_sizes.py`); lark-mcp has no tool that reads cell values, so the "
                "sheet's lark-mcp column is Lark's `data` serialized as lark-mcp serializes "
                "every answer. The floor is the bytes of the values alone (every string, "
                "number and true/false of our result, without names, quotes or brackets): no "
                "layout of the same content is smaller, so floor ÷ lark-mcp is the least ratio "
                "that page allows:"
            ),
            "",
            "| page (ours) | items | ours | lark-mcp tool | lark-mcp | ratio | floor "
            "| floor ratio |",
            "|---|---:|---:|---|---:|---:|---:|---:|",
        ]
        + [
            f"| `{s['tool']}` | {s['items']} | {s['ours_bytes']:,} B | {s['lark_mcp_tool']} | "
            f"{s['lark_mcp_bytes']:,} B | {s['ratio']} | "
            + (
                f"{s['content_floor_bytes']:,} B | {s['floor_ratio']} |"
                if "content_floor_bytes" in s
                else "– | – |"
            )
            for s in sizes
        ]
    )
    parts = [
        "# Benchmark",
        para(intro),
        f"```\n{report['command']}\n```",
        para(machine_line),
        table(report["servers"], list(report["servers"])),
        *([sizes_md] if sizes else []),
        targets_md,
        para(cross_check),
        para(how),
    ]
    return "\n\n".join(parts) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--servers",
        default="ours,bare,bare-fetch,lark-mcp",
        help="comma-separated subset of: " + ", ".join(SERVERS),
    )
    parser.add_argument("--runs", type=int, default=5, help="cold starts per server (median)")
    parser.add_argument("--calls", type=int, default=400, help="tools/call requests per round")
    parser.add_argument("--rounds", type=int, default=3, help="load rounds per server")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    parser.add_argument("--time-cap", type=float, default=60.0, help="seconds per load run, max")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument("--skip-deps", action="store_true", help="do not measure install sizes")
    parser.add_argument(
        "--ours-ref",
        default="HEAD",
        help="git ref of lark_mcp_server to measure (exported to bench/.work), or 'worktree' "
        "for the files as they are now (default: HEAD, i.e. what is committed)",
    )
    parser.add_argument(
        "--docs",
        "--readme",
        dest="docs",
        action="store_true",
        help="measure nothing: print docs/benchmark.md for the results in --out",
    )
    parser.add_argument(
        "--user-auth",
        action="store_true",
        help="start ours with user sign-in configured (LARK_USER_AUTH_ISSUER, "
        "LARK_USER_AUTH_CLIENTS, LARK_USER_AUTH_AUDIENCE, USER_TOKEN_STORE), as a userAuth "
        "deployment runs it",
    )
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="let the OS place processes under load (default with 2+ CPUs: the server under "
        "load alone on the last CPU, load client and fake Lark on the others; cold starts are "
        "never pinned)",
    )
    args = parser.parse_args(argv)
    args.names = [n.strip() for n in args.servers.split(",") if n.strip()]
    cpus = sorted(os.sched_getaffinity(0))
    if args.no_pin or len(cpus) < 2:
        args.server_cpus = args.harness_cpus = None
    else:
        args.server_cpus = frozenset(cpus[-1:])
        args.harness_cpus = frozenset(cpus[:-1])
    unknown = [n for n in args.names if n not in SERVERS]
    if unknown:
        parser.error(f"unknown server(s) {unknown}; choose from {sorted(SERVERS)}")
    if not (
        1 <= args.runs <= 20
        and 1 <= args.rounds <= 10
        and 1 <= args.calls <= 100_000
        and 1 <= args.concurrency <= 256
    ):
        parser.error(
            "--runs must be 1..20, --rounds 1..10, --calls 1..100000, --concurrency 1..256"
        )
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.docs:
        print(docs_page(json.loads(args.out.read_text())), end="")
        return 0
    started = dt.datetime.now(dt.UTC)
    load_before = load_average()
    shutil.rmtree(LOGS, ignore_errors=True)
    unavailable: dict[str, dict[str, Any]] = {}
    if "lark-mcp" in args.names:
        try:
            ensure_lark_mcp()
        except (OSError, subprocess.SubprocessError) as exc:
            unavailable["lark-mcp"] = {
                "note": SERVERS["lark-mcp"].note,
                "tool": SERVERS["lark-mcp"].tool,
                "error": f"could not install it with npm (is Node/npm on PATH?): {exc}",
            }
    specs = [SERVERS[n] for n in args.names if n not in unavailable]
    ours_requirements = ROOT / "lark_mcp_server" / "requirements.txt"
    for module in ("bare_server.py", "bare_fetch_server.py"):
        compile_bytecode(ROOT / "bench" / module)  # as a deployed server would be
    if args.ours_ref == "worktree":
        compile_bytecode(ROOT / "lark_mcp_server")
        precompute_schemas(ROOT)
        dirty = git("status", "--porcelain", "--", "lark_mcp_server")
        ours_code = f"working tree at {git('rev-parse', 'HEAD')[:12]}" + (
            " with uncommitted changes" if dirty else ""
        )
    elif "ours" in args.names:
        try:
            ours, ours_requirements, sha = ours_at(args.ours_ref)
        except (OSError, subprocess.SubprocessError) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            if isinstance(detail, bytes):
                detail = detail.decode(errors="replace")
            raise SystemExit(
                f"bench: cannot export lark_mcp_server at {args.ours_ref!r}: {exc} {detail}".strip()
                + "\n(is it committed? `--ours-ref worktree` measures the files as they are)"
            ) from exc
        specs = [ours if s.name == "ours" else s for s in specs]
        ours_code = f"commit {sha[:12]} ({args.ours_ref})"
    else:
        ours_code = "not measured"
    if args.user_auth:
        # Nothing user-specific happens until a request carries a caller JWT: the issuer is
        # never contacted and the store never opened during these measurements.
        user_env = {
            "LARK_USER_AUTH_ISSUER": "https://auth.example.invalid",
            "LARK_USER_AUTH_CLIENTS": "quicksuite",
            "LARK_USER_AUTH_AUDIENCE": "https://gateway.example.invalid/mcp",
            "USER_TOKEN_STORE": f"sqlite:///{ROOT / 'bench' / '.work' / 'user-tokens.db'}",
        }
        specs = [
            replace(s, extra_env=s.extra_env | user_env) if s.name == "ours" else s for s in specs
        ]
        ours_code += " with user sign-in configured"
    fake = start_fake_lark(args.harness_cpus) if any(s.needs_fake for s in specs) else None
    page_sizes: list[dict[str, Any]] = []
    try:
        print(f"bench: {', '.join(args.names)}: cold starts ...", file=sys.stderr, flush=True)
        results = bench_all(specs, fake, args) | unavailable
        results = {name: results[name] for name in args.names}
        if fake is not None:
            print("bench: result sizes ...", file=sys.stderr, flush=True)
            try:
                page_sizes = result_sizes(specs, fake)
            except Exception as exc:  # the other figures still stand
                page_sizes = [{"error": f"{type(exc).__name__}: {exc}"}]
    finally:
        if fake is not None:
            procs.stop(fake.proc)
    if not args.skip_deps:
        print("bench: installed sizes ...", file=sys.stderr, flush=True)
        for name, size in deps_sizes(args.names, ours_requirements).items():
            results[name]["deps"] = size
    checks = targets(results, page_sizes)
    command = (
        "make bench  (= .venv/bin/python -m bench.run"
        + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
        + ")"
    )
    report = {
        "date": started.isoformat(timespec="seconds"),
        "command": command,
        "machine": machine(),
        "ours_code": ours_code,
        "load_average_before_after": [load_before, load_average()],
        "settings": {
            "cold_start_runs": args.runs,
            "calls_per_round": args.calls,
            "load_rounds": args.rounds,
            "concurrency": args.concurrency,
            "warmup_calls": 2 * args.concurrency,
            "time_cap_s": args.time_cap,
            "megabyte": MB,
            "server_cpus": sorted(args.server_cpus) if args.server_cpus else "any",
            "client_and_fake_cpus": sorted(args.harness_cpus) if args.harness_cpus else "any",
        },
        "servers": results,
        "result_sizes": page_sizes,
        "targets": checks,
        "cpu_ratios": cpu_ratios(results),
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    m = report["machine"]
    print(
        f"\n{m['cores']} cores {m['arch']} ({m['cpu']}), Python {m['python']}, "
        f"Node {m['node']}, {report['date']}"
    )
    print(f"command: {command}")
    print(f"ours: {ours_code}")
    before, after = report["load_average_before_after"]
    print(f"load average (1 min) before / after: {before[:1]} / {after[:1]}")
    if max(before[:1] + after[:1], default=0) > (m["cores"] or 1):
        print("WARNING: the machine was busy with other work; calls/s and cold starts are noisy,")
        print("         CPU per call is the steadier figure. Rerun when it is idle to compare.")
    print()
    print(table(results, args.names))
    print()
    print(target_table(checks))
    ratios = report["cpu_ratios"]
    print(
        "\nin CPU time (cross-check, not targets): cold start ours/bare "
        f"{_fmt(ratios['cold_start_cpu_ours_over_bare'])}x, ours/lark-mcp "
        f"{_fmt(ratios['cold_start_cpu_ours_over_lark_mcp'])}x; "
        f"lark-mcp uses {_fmt(ratios['cpu_per_call_lark_mcp_over_ours'])}x ours' CPU per call"
    )
    print("\nnotes:")
    for name in args.names:
        entry = results[name]
        how = "initialize once, Mcp-Session-Id reused" if entry.get("handshake") else "no handshake"
        print(f"- {name}: {entry['note']} [{how}]")
        if entry.get("error"):
            print(f"  ERROR: {entry['error']}")
        first = _get(results, name, "load", "first_error")
        if first:
            print(f"  first failed call: {first}")
        if entry.get("deps"):
            print(f"  deps: {entry['deps']['what']}")
    print(f"\nwrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 1 if any("error" in r for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
