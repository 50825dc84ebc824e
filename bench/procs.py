"""Starting, watching and stopping the processes under test (Linux /proc, no extra deps)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx2


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    log: Path,
    cpus: frozenset[int] | None = None,
) -> subprocess.Popen[bytes]:
    """Start a server with its output going to `log` (read it when a server will not come up),
    confined to `cpus` from its first instruction when given."""
    log.parent.mkdir(parents=True, exist_ok=True)
    pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
    with log.open("ab") as out:
        return subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=pin,  # the harness starts servers from one thread only
        )


def stop(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds; also any children it left behind."""
    children = descendants(proc.pid)
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=grace)
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (children, grandchildren, ...)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may contain spaces and parentheses: fields start after the last ')'.
        fields = stat.rsplit(")", 1)[1].split()
        parents[int(entry.name)] = int(fields[1])
    found: list[int] = []
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        kids = [child for child, ppid in parents.items() if ppid == parent]
        found.extend(kids)
        frontier.extend(kids)
    return found


def _status_bytes(pid: int, field: str) -> int:
    total = 0
    for each in [pid, *descendants(pid)]:
        try:
            status = Path(f"/proc/{each}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith(field + ":"):
                total += int(line.split()[1]) * 1024
    return total


def peak_rss_bytes(pid: int) -> int:
    """VmHWM (peak resident set) of `pid` plus that of every live descendant."""
    return _status_bytes(pid, "VmHWM")


def rss_bytes(pid: int) -> int:
    """VmRSS (resident set now) of `pid` plus that of every live descendant."""
    return _status_bytes(pid, "VmRSS")


def pin(pid: int, cpus: frozenset[int]) -> None:
    """Confine every thread of `pid` and of its descendants to `cpus` (new threads inherit)."""
    for each in [pid, *descendants(pid)]:
        for task in Path(f"/proc/{each}/task").glob("*"):
            with contextlib.suppress(ProcessLookupError, FileNotFoundError):
                os.sched_setaffinity(int(task.name), cpus)


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` and its live descendants (and children it has reaped)."""
    total = 0
    for each in [pid, *descendants(pid)]:
        try:
            stat = Path(f"/proc/{each}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # fields[0] is field 3 (state)
        utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
        total += utime + stime + cutime + cstime
    return total / _TICKS


def wait_http(url: str, timeout: float = 20.0) -> None:
    """Block until something answers HTTP at `url` (any status), or raise after `timeout`."""
    deadline = time.monotonic() + timeout
    with httpx2.Client(timeout=1.0) as client:
        while time.monotonic() < deadline:
            try:
                client.get(url)
                return
            except httpx2.TransportError:
                time.sleep(0.05)
    raise TimeoutError(f"nothing answered at {url} within {timeout:.0f} s")
