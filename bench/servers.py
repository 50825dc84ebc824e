"""The three servers under test and the fake Lark they talk to: how each one is started.

All of them listen on 127.0.0.1 only, and ours and lark-mcp are pointed at the HTTP fake of Lark
on loopback, so no traffic leaves the machine and every figure is about the server itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench import procs

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work"
LOGS = WORK / "logs"
APP_ID = "cli_fake_app"
APP_SECRET = "fake-secret"
LARK_MCP_VERSION = "0.5.1"
LARK_MCP_DIR = WORK / "lark-mcp"
LARK_MCP_CLI = LARK_MCP_DIR / "node_modules" / "@larksuiteoapi" / "lark-mcp" / "dist" / "cli.js"


@dataclass(frozen=True)
class ServerSpec:
    """One server: how to start it on a port, and which tool stands for "list my chats"."""

    name: str
    argv: Callable[[int, str], list[str]]  # (port, fake Lark base URL) -> command line
    env: Callable[[int, str], dict[str, str]]
    tool: str
    arguments: dict[str, Any]
    expect: str  # text a successful call's result must contain (a tool error is not a success)
    note: str
    needs_fake: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)
    cwd: Path = ROOT  # `python -m` imports from here first

    def url(self, port: int) -> str:
        return f"http://127.0.0.1:{port}/mcp"


def _base_env() -> dict[str, str]:
    """A small, explicit environment: nothing from the caller's shell leaks into a server."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    return {k: os.environ[k] for k in keep if k in os.environ} | {"PYTHONDONTWRITEBYTECODE": "1"}


def _python_env(port: int, lark: str) -> dict[str, str]:
    return _base_env() | {
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LARK_APP_ID": APP_ID,
        "LARK_APP_SECRET": APP_SECRET,
        "LARK_DOMAIN": lark,
        "PYTHONPATH": str(ROOT),
    }


OURS = ServerSpec(
    name="ours",
    argv=lambda port, lark: [sys.executable, "-m", "lark_mcp_server"],
    env=_python_env,
    tool="list_chats",
    arguments={"page_size": 20},
    expect="oc_",
    note="`python -m lark_mcp_server`; bare POSTs, no initialize (stateless, JSON responses).",
)

BARE = ServerSpec(
    name="bare",
    argv=lambda port, lark: [sys.executable, "-m", "bench.bare_server"],
    env=_python_env,
    tool="echo",
    arguments={"text": "hi"},
    expect="hi",
    note=(
        "`python -m bench.bare_server`: mcp 2.3 MCPServer, one `echo` tool, same transport "
        "settings as ours; its tool never calls Lark, so its throughput is the SDK's ceiling."
    ),
    needs_fake=False,
)

LARK_MCP = ServerSpec(
    name="lark-mcp",
    argv=lambda port, lark: [
        "node",
        str(LARK_MCP_CLI),
        "mcp",
        "-a",
        APP_ID,
        "-s",
        APP_SECRET,
        "-d",
        lark,
        "-t",
        "preset.default",
        "-m",
        "streamable",
        "--host",
        "127.0.0.1",
        "-p",
        str(port),
    ],
    env=lambda port, lark: _base_env() | {"NODE_ENV": "production"},
    tool="im_v1_chat_list",
    arguments={"params": {"page_size": 20}},
    expect="oc_",
    note=(
        f"@larksuiteoapi/lark-mcp@{LARK_MCP_VERSION} run as `node dist/cli.js mcp -m streamable "
        "-t preset.default -d <fake>` (no npx wrapper); its streamable mode is stateless (a new "
        "McpServer + transport per POST, no session id), answers a bare POST without initialize, "
        "and replies as text/event-stream (payload bytes counted from the data line). keytar is "
        "not built (--ignore-scripts): it warns and keeps user tokens in memory, which tenant-"
        "token calls never use."
    ),
)

BARE_FETCH = ServerSpec(
    name="bare-fetch",
    argv=lambda port, lark: [sys.executable, "-m", "bench.bare_fetch_server"],
    env=_python_env,
    tool="fetch",
    arguments={"page_size": 20},
    expect="oc_",
    note=(
        "`python -m bench.bare_fetch_server`: the bare server whose one tool `fetch` makes the "
        "same Lark GET as list_chats with aiohttp, decodes it and returns the first chat's id; "
        "its throughput is the most any tool making that round trip can reach."
    ),
)

SERVERS = {spec.name: spec for spec in (OURS, BARE, BARE_FETCH, LARK_MCP)}


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()


def compile_bytecode(path: Path, *, unchecked: bool = False) -> None:
    """Write the .pyc files of a package or module (servers run with PYTHONDONTWRITEBYTECODE=1,
    so without this every cold start would compile from source, which no deployment does)."""
    mode = ["--invalidation-mode", "unchecked-hash"] if unchecked else []
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *mode, str(path)], check=True, timeout=120
    )


def precompute_schemas(root: Path) -> None:
    """As the image build does: write `lark_mcp_server/tool_schemas.json` under `root`, so a
    cold start serves tools/list without building every tool (commits without
    `tool_schemas.py` have nothing to write)."""
    if not (root / "lark_mcp_server" / "tool_schemas.py").exists():
        return
    subprocess.run(
        [sys.executable, "-m", "lark_mcp_server.tool_schemas"],
        cwd=root,
        env=_base_env() | {"PYTHONPATH": str(root)},
        check=True,
        capture_output=True,
        timeout=120,
    )


def ours_at(ref: str) -> tuple[ServerSpec, Path, str]:
    """Ours as committed at `ref` (exported to bench/.work/ours-<sha>), so the figures describe
    a commit rather than whatever is half-edited in the working tree. Returns the spec, the
    exported requirements file and the full commit id."""
    sha = git("rev-parse", "--verify", f"{ref}^{{commit}}")
    where = WORK / f"ours-{sha[:12]}"
    if not (where / "lark_mcp_server" / "__main__.py").exists():
        where.mkdir(parents=True, exist_ok=True)
        # The packages the image carries: the server, and the token store it imports (at
        # commits that have it).
        packages = [
            p
            for p in ("lark_mcp_server", "lark_user_store")
            if subprocess.run(
                ["git", "cat-file", "-e", f"{sha}:{p}"], cwd=ROOT, capture_output=True
            ).returncode
            == 0
        ]
        archive = subprocess.run(
            ["git", "archive", "--format=tar", sha, *packages],
            cwd=ROOT,
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True, timeout=60)
        # As the image does (the root Dockerfile): bytecode compiled once at build, so a
        # cold start does not compile the package from source.
        for package in packages:
            compile_bytecode(where / package, unchecked=True)
        precompute_schemas(where)
    for stale in WORK.glob("ours-*"):
        if stale != where:
            shutil.rmtree(stale, ignore_errors=True)
    spec = replace(
        OURS,
        cwd=where,
        extra_env={"PYTHONPATH": str(where)},
        note=OURS.note + f" Code as committed at {sha[:12]} ({ref}).",
    )
    return spec, where / "lark_mcp_server" / "requirements.txt", sha


def ensure_lark_mcp() -> None:
    """Install the official Node server into bench/.work once (npm registry only)."""
    if LARK_MCP_CLI.exists():
        return
    LARK_MCP_DIR.mkdir(parents=True, exist_ok=True)
    package = LARK_MCP_DIR / "package.json"
    if not package.exists():
        package.write_text('{"name": "bench-lark-mcp", "private": true}\n')
    # keytar (an optional OS keychain store) needs a native build; the server runs without it.
    subprocess.run(
        [
            "npm",
            "install",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            f"@larksuiteoapi/lark-mcp@{LARK_MCP_VERSION}",
        ],
        cwd=LARK_MCP_DIR,
        check=True,
        timeout=600,
    )


@dataclass
class Running:
    """A started process and where to reach it."""

    proc: subprocess.Popen[bytes]
    port: int
    url: str


def start_server(
    spec: ServerSpec, lark: str, tag: str = "", cpus: frozenset[int] | None = None
) -> Running:
    port = procs.free_port()
    proc = procs.spawn(
        spec.argv(port, lark),
        env=spec.env(port, lark) | spec.extra_env,
        cwd=spec.cwd,
        log=LOGS / f"{spec.name}{tag}.log",
        cpus=cpus,
    )
    return Running(proc, port, spec.url(port))


def start_fake_lark(cpus: frozenset[int] | None = None) -> Running:
    """The HTTP fake of Lark OpenAPI (tests/lark_fake) in its own process, so its CPU time is
    not charged to the load client's event loop."""
    port = procs.free_port()
    env = _base_env() | {"PYTHONPATH": str(ROOT)}
    proc = procs.spawn(
        [sys.executable, "-m", "tests.lark_fake", "--port", str(port), "--bench-pages"],
        env=env,
        cwd=ROOT,
        log=LOGS / "lark_fake.log",
        cpus=cpus,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        procs.wait_http(base + "/", timeout=20)
    except TimeoutError:
        procs.stop(proc)
        raise
    return Running(proc, port, base)
