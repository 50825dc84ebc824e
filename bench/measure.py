"""The measurements, each bounded in count and in time, each returning plain numbers."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx2

from bench import procs
from bench.mcp_http import McpCallError, Session, call_async, list_tools_sync, result_of, tool_call
from bench.servers import WORK, Running, ServerSpec, start_server


@dataclass
class ColdStart:
    seconds: float  # spawn -> first successful tools/list
    cpu_seconds: float  # CPU the server used up to then: steadier than wall time on a busy box
    session: Session  # how the server had to be addressed


def cold_start(
    spec: ServerSpec,
    lark: str,
    *,
    timeout: float = 30.0,
    tag: str = "",
    cpus: frozenset[int] | None = None,
) -> tuple[ColdStart, Running]:
    """Spawn the server and poll `tools/list` every 10 ms until it answers; leaves it running.

    The clock starts just before the process is spawned and stops when a complete, valid
    `tools/list` result has been read, so interpreter start, imports, tool registration and
    binding the socket all count (and a handshake, for a server that needs one).
    """
    started = time.perf_counter()
    running = start_server(spec, lark, tag, cpus)
    session = Session(running.url)
    deadline = time.monotonic() + timeout
    last_error = "no attempt"
    with httpx2.Client(timeout=5.0) as client:
        while time.monotonic() < deadline:
            if running.proc.poll() is not None:
                raise RuntimeError(
                    f"{spec.name} exited with code {running.proc.returncode} before answering; "
                    f"see bench/.work/logs/{spec.name}{tag}.log"
                )
            try:
                list_tools_sync(client, session)
                seconds = time.perf_counter() - started
                cpu = procs.cpu_seconds(running.proc.pid)
                return ColdStart(seconds, cpu, session), running
            except (httpx2.TransportError, McpCallError) as exc:
                last_error = str(exc) or type(exc).__name__
                time.sleep(0.01)
    procs.stop(running.proc)
    raise TimeoutError(
        f"{spec.name} did not answer tools/list within {timeout:.0f} s (last: {last_error}); "
        f"see bench/.work/logs/{spec.name}{tag}.log"
    )


@dataclass
class ToolsList:
    tools: int
    payload_bytes: int
    bytes_per_tool: float
    content_type: str
    names: list[str]


def tools_list(session: Session) -> ToolsList:
    """Size of the `tools/list` answer: the JSON-RPC payload as sent (SSE framing excluded)."""
    with httpx2.Client(timeout=10.0) as client:
        reply = list_tools_sync(client, session)
    tools = result_of(reply)["tools"]
    return ToolsList(
        tools=len(tools),
        payload_bytes=reply.payload_bytes,
        bytes_per_tool=round(reply.payload_bytes / max(len(tools), 1), 1),
        content_type=reply.content_type,
        names=sorted(t["name"] for t in tools),
    )


@dataclass
class Load:
    calls: int  # measured calls completed (ok + failed)
    ok: int
    errors: int
    seconds: float
    calls_per_second: float
    p50_ms: float
    p99_ms: float
    concurrency: int
    warmup: int
    first_error: str | None
    # CPU seconds each watched process (e.g. "server", "lark") used during the measured calls,
    # and per successful call: unlike calls/s, this does not depend on what else the machine runs.
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    cpu_ms_per_call: dict[str, float] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    rounds_calls_per_second: list[float] = field(default_factory=list)


def _per_call(cpu: dict[str, float], ok: int) -> dict[str, float]:
    return {name: round(seconds * 1000 / ok, 3) for name, seconds in cpu.items()} if ok else {}


def _percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation) of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), math.ceil(q / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


async def _load(
    session: Session,
    tool: str,
    arguments: dict[str, Any],
    *,
    expect: str,
    calls: int,
    concurrency: int,
    warmup: int,
    time_cap: float,
    watch: dict[str, int],
) -> Load:
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    errors: list[str] = []
    async with httpx2.AsyncClient(timeout=30.0, limits=limits) as client:

        async def worker(queue: asyncio.Queue[int], record: bool, deadline: float) -> None:
            while time.monotonic() < deadline:
                try:
                    queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                begun = time.perf_counter()
                try:
                    await call_async(client, session, tool_call(tool, arguments), expect)
                    ok = True
                except (McpCallError, httpx2.HTTPError, ValueError) as exc:
                    ok = False
                    if record:
                        errors.append(str(exc) or type(exc).__name__)
                if record and ok:
                    latencies.append(time.perf_counter() - begun)

        async def phase(count: int, record: bool, cap: float) -> float:
            queue: asyncio.Queue[int] = asyncio.Queue()
            for i in range(count):
                queue.put_nowait(i)
            deadline = time.monotonic() + cap
            begun = time.perf_counter()
            await asyncio.gather(*(worker(queue, record, deadline) for _ in range(concurrency)))
            return time.perf_counter() - begun

        # Warm-up (token fetch, connection pool, JIT) is not measured.
        await phase(warmup, record=False, cap=min(time_cap, 30.0))
        cpu_before = {name: procs.cpu_seconds(pid) for name, pid in watch.items()}
        client_before = time.process_time()
        seconds = await phase(calls, record=True, cap=time_cap)
        cpu = {name: procs.cpu_seconds(pid) - cpu_before[name] for name, pid in watch.items()}
        cpu["client"] = time.process_time() - client_before
    ordered = sorted(latencies)
    done = len(latencies) + len(errors)
    return Load(
        calls=done,
        ok=len(latencies),
        errors=len(errors),
        seconds=round(seconds, 3),
        calls_per_second=round(len(latencies) / seconds, 1) if seconds else 0.0,
        p50_ms=round(_percentile(ordered, 50) * 1000, 2),
        p99_ms=round(_percentile(ordered, 99) * 1000, 2),
        concurrency=concurrency,
        warmup=warmup,
        first_error=errors[0] if errors else None,
        cpu_seconds={name: round(v, 3) for name, v in cpu.items()},
        cpu_ms_per_call=_per_call(cpu, len(latencies)),
        latencies_ms=[x * 1000 for x in latencies],
    )


def combine(rounds: list[Load]) -> Load:
    """Several rounds as one figure: the median round's throughput, percentiles over all calls."""
    if not rounds:
        raise ValueError("no load round completed")
    pooled = sorted(x for r in rounds for x in r.latencies_ms)
    rates = [r.calls_per_second for r in rounds]
    cpu = {
        name: round(sum(r.cpu_seconds.get(name, 0.0) for r in rounds), 3)
        for name in rounds[0].cpu_seconds
    }
    return Load(
        calls=sum(r.calls for r in rounds),
        ok=sum(r.ok for r in rounds),
        errors=sum(r.errors for r in rounds),
        seconds=round(sum(r.seconds for r in rounds), 3),
        calls_per_second=round(statistics.median(rates), 1),
        p50_ms=round(_percentile(pooled, 50), 2),
        p99_ms=round(_percentile(pooled, 99), 2),
        concurrency=rounds[0].concurrency,
        warmup=rounds[0].warmup,
        first_error=next((r.first_error for r in rounds if r.first_error), None),
        cpu_seconds=cpu,
        cpu_ms_per_call=_per_call(cpu, sum(r.ok for r in rounds)),
        rounds_calls_per_second=rates,
    )


def load(
    session: Session,
    tool: str,
    arguments: dict[str, Any],
    *,
    expect: str = "",
    calls: int = 400,
    concurrency: int = 8,
    warmup: int = 16,
    time_cap: float = 60.0,
    watch: dict[str, int] | None = None,
) -> Load:
    """`calls` tools/call requests, `concurrency` in flight, stopped early at `time_cap` s.

    A call counts as done when its result is not an error and its text contains `expect`.
    `watch` names processes whose CPU time during the measured calls is reported, beside the
    load client's own ("client").
    """
    return asyncio.run(
        _load(
            session,
            tool,
            arguments,
            expect=expect,
            calls=calls,
            concurrency=concurrency,
            warmup=warmup,
            time_cap=time_cap,
            watch=watch or {},
        )
    )


# --- installed size of the runtime dependencies ------------------------------------------------


def tree_bytes(path: Path) -> int:
    """Sum of file sizes under `path` (apparent size; symlinks not followed)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def python_deps_bytes(requirements: list[str], label: str) -> tuple[int, str]:
    """Install `requirements` into a fresh pip-less venv under bench/.work; size its
    site-packages.

    The venv is created `--without-pip` and filled by the harness's own pip (`pip --python`), so
    site-packages holds exactly the runtime dependencies, with the .pyc files pip compiles at
    install time, as in a container image. Cached by the requirement lines.
    """
    key = hashlib.sha256("\n".join(sorted(requirements)).encode()).hexdigest()[:12]
    venv = WORK / f"venv-{label}-{key}"
    marker = venv / ".installed"
    if not marker.exists():
        subprocess.run(
            [sys.executable, "-m", "venv", "--clear", "--without-pip", str(venv)],
            check=True,
            timeout=120,
        )
        pip = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "--python",
                str(venv / "bin" / "python"),
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-input",
                *requirements,
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if pip.returncode != 0:
            raise OSError(f"pip install {' '.join(requirements)} failed: {pip.stderr[-800:]}")
        marker.write_text("\n".join(requirements) + "\n")
    site = next((venv / "lib").glob("python*/site-packages"))
    return tree_bytes(site), str(site.relative_to(WORK.parent.parent))


def requirement_lines(path: Path) -> list[str]:
    """The requirement specifiers in a requirements file (comments and blanks dropped)."""
    lines = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def as_dict(value: Any) -> dict[str, Any]:
    """A result as JSON-ready data, without the per-call latencies."""
    data = asdict(value)
    data.pop("latencies_ms", None)
    return data


def median(values: list[float]) -> float:
    return statistics.median(values)
