"""`make bench`: ours vs. a bare mcp server vs. the official lark-mcp, side by side, on loopback.

Usage: `.venv/bin/python -m bench.run [--servers ours,bare,lark-mcp] [--runs 5] [--calls 400]
[--concurrency 8] [--time-cap 60] [--out bench/results.json]`. Prints a table with each target
marked PASS/MISS and writes the same figures to bench/results.json. Every server is started and
stopped by this script; it ends by itself (each loop is bounded in count and time).
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
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python bench/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import measure, procs
from bench.servers import (
    LARK_MCP_DIR,
    LARK_MCP_VERSION,
    LOGS,
    ROOT,
    SERVERS,
    ServerSpec,
    ensure_lark_mcp,
    start_fake_lark,
)

MB = 1_000_000  # decimal megabytes, the stricter reading of the targets


def bench_server(spec: ServerSpec, lark: str, args: argparse.Namespace) -> dict[str, Any]:
    """Cold start `args.runs` times; keep the last instance for size, load and memory."""
    out: dict[str, Any] = {"note": spec.note, "tool": spec.tool, "arguments": spec.arguments}
    running = None
    try:
        starts: list[float] = []
        for run in range(args.runs):
            cold, running = measure.cold_start(spec, lark, tag=f"-{run + 1}")
            starts.append(cold.seconds)
            if run < args.runs - 1:
                procs.stop(running.proc)
                running = None
                time.sleep(0.3)
        out["cold_start_ms"] = {
            "median": round(measure.median(starts) * 1000, 1),
            "runs": [round(s * 1000, 1) for s in starts],
        }
        out["handshake"] = cold.session.handshake
        out["tools_list"] = measure.as_dict(measure.tools_list(cold.session))
        out["load"] = measure.as_dict(
            measure.load(
                cold.session,
                spec.tool,
                spec.arguments,
                expect=spec.expect,
                calls=args.calls,
                concurrency=args.concurrency,
                warmup=2 * args.concurrency,
                time_cap=args.time_cap,
            )
        )
        out["peak_rss_bytes"] = procs.peak_rss_bytes(running.proc.pid)
    except Exception as exc:  # one broken server must not hide the other two's figures
        out["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        if running is not None:
            procs.stop(running.proc)
    return out


def deps_sizes(names: list[str]) -> dict[str, dict[str, Any]]:
    """Installed size of what each server needs at run time (interpreters not counted)."""
    sizes: dict[str, dict[str, Any]] = {}
    ours_reqs = measure.requirement_lines(ROOT / "lark_mcp_server" / "requirements.txt")
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


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
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
    if _get(results, "ours", "load", "errors") or _get(results, "lark-mcp", "load", "errors"):
        tput_note = " (calls failed: see errors)"
    else:
        tput_note = ""
    rss = _get(results, "ours", "peak_rss_bytes")
    deps = _get(results, "ours", "deps", "bytes")
    return [
        {
            "target": "cold start <= 1.15x bare",
            "value": None if cold_bare is None else f"{cold_bare}x",
            "status": verdict(None if cold_bare is None else cold_bare <= 1.15),
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
    """The figures as a Markdown table (what the README shows)."""

    def row(label: str, cell: Any) -> str:
        return "| " + " | ".join([label, *(cell(n) for n in names)]) + " |"

    def mb(n: str, *path: str) -> str:
        value = _get(results, n, *path)
        return "-" if value is None else f"{value / MB:.1f}"

    def load(key: str, spec: str) -> Any:
        return lambda n: _fmt(_get(results, n, "load", key), spec)

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
        row("throughput (calls/s)", load("calls_per_second", ".1f")),
        row("latency p50 (ms)", load("p50_ms", ".1f")),
        row("latency p99 (ms)", load("p99_ms", ".1f")),
        row(
            "calls ok / failed",
            lambda n: (
                f"{_fmt(_get(results, n, 'load', 'ok'))} / "
                f"{_fmt(_get(results, n, 'load', 'errors'))}"
            ),
        ),
        row("peak RSS (MB)", lambda n: mb(n, "peak_rss_bytes")),
        row("runtime deps installed (MB)", lambda n: mb(n, "deps", "bytes")),
    ]
    return "\n".join(lines)


def target_table(checks: list[dict[str, Any]]) -> str:
    lines = ["| target (ours) | measured | result |", "|---|---:|---|"]
    lines += [f"| {c['target']} | {_fmt(c['value'])} | {c['status']} |" for c in checks]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--servers",
        default="ours,bare,lark-mcp",
        help="comma-separated subset of: " + ", ".join(SERVERS),
    )
    parser.add_argument("--runs", type=int, default=5, help="cold starts per server (median)")
    parser.add_argument("--calls", type=int, default=400, help="measured tools/call requests")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    parser.add_argument("--time-cap", type=float, default=60.0, help="seconds per load run, max")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument("--skip-deps", action="store_true", help="do not measure install sizes")
    args = parser.parse_args(argv)
    args.names = [n.strip() for n in args.servers.split(",") if n.strip()]
    unknown = [n for n in args.names if n not in SERVERS]
    if unknown:
        parser.error(f"unknown server(s) {unknown}; choose from {sorted(SERVERS)}")
    if not (1 <= args.runs <= 20 and 1 <= args.calls <= 100_000 and 1 <= args.concurrency <= 256):
        parser.error("--runs must be 1..20, --calls 1..100000, --concurrency 1..256")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = dt.datetime.now(dt.UTC)
    shutil.rmtree(LOGS, ignore_errors=True)
    if "lark-mcp" in args.names:
        ensure_lark_mcp()
    specs = [SERVERS[n] for n in args.names]
    results: dict[str, Any] = {}
    fake = start_fake_lark() if any(s.needs_fake for s in specs) else None
    try:
        for spec in specs:
            print(f"bench: {spec.name} ...", file=sys.stderr, flush=True)
            results[spec.name] = bench_server(spec, fake.url if fake else "", args)
            time.sleep(1.0)  # let the CPU settle between servers
    finally:
        if fake is not None:
            procs.stop(fake.proc)
    if not args.skip_deps:
        print("bench: installed sizes ...", file=sys.stderr, flush=True)
        for name, size in deps_sizes(args.names).items():
            results[name]["deps"] = size
    checks = targets(results)
    command = (
        "make bench  (= .venv/bin/python -m bench.run"
        + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
        + ")"
    )
    report = {
        "date": started.isoformat(timespec="seconds"),
        "command": command,
        "machine": machine(),
        "settings": {
            "cold_start_runs": args.runs,
            "calls": args.calls,
            "concurrency": args.concurrency,
            "warmup_calls": 2 * args.concurrency,
            "time_cap_s": args.time_cap,
            "megabyte": MB,
        },
        "servers": results,
        "targets": checks,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    m = report["machine"]
    print(
        f"\n{m['cores']} cores {m['arch']} ({m['cpu']}), Python {m['python']}, "
        f"Node {m['node']}, {report['date']}"
    )
    print(f"command: {command}\n")
    print(table(results, args.names))
    print()
    print(target_table(checks))
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
