"""Run the real server (`python -m lark_mcp_server`) as a subprocess and talk to it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

from tests.deploy_checks.local_stack import free_port, stop_process, wait_healthy
from tests.results import decode

REPO = Path(__file__).resolve().parents[2]
ACCEPT = "application/json, text/event-stream"

# Fast retries so fault tests take seconds; production defaults are in config.py.
FAST_RETRIES = {
    "LARK_RETRY_BASE_SECONDS": "0.01",
    "LARK_RATE_LIMIT_CAP_SECONDS": "0.02",
    "LARK_HTTP_TIMEOUT_SECONDS": "5",
}


@dataclass
class ServerProcess:
    """A started server: its URL, its process and everything it printed."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def mcp_url(self) -> str:
        return f"{self.url}/mcp"

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.output().splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
        return lines

    def tool_logs(self, tool: str | None = None) -> list[dict[str, Any]]:
        return [
            line
            for line in self.log_lines()
            if line.get("message") == "tool call" and (tool is None or line.get("tool") == tool)
        ]

    def alive(self) -> bool:
        return self.process.poll() is None


def server_env(base_url: str | None, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LARK_", "AWS_")) and k not in ("HOST", "PORT")
    }
    env.update(FAST_RETRIES)
    if base_url is not None:
        env.update(LARK_DOMAIN=base_url, LARK_APP_ID="cli_fake_app", LARK_APP_SECRET="fake-secret")
    env.update(extra)
    env["PYTHONPATH"] = str(REPO)
    return env


@contextmanager
def run_server(
    env: Mapping[str, str], *, wait: bool = True, host: str = "127.0.0.1", cwd: Path = REPO
) -> Iterator[ServerProcess]:
    """Start `python -m lark_mcp_server` on a free port; stop it on exit.

    `host` is the bind address: loopback (DNS-rebinding protection on) by default, `0.0.0.0`
    for the container's behaviour (any Host). Either way it is reached over 127.0.0.1.
    `cwd`: where `lark_mcp_server` is imported from (a copy of the package, say).
    """
    port = free_port()
    full_env = {**env, "HOST": host, "PORT": str(port)}
    with tempfile.NamedTemporaryFile(prefix="lark-mcp-", suffix=".log", delete=False) as log:
        log_path = Path(log.name)
    with open(log_path, "wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "lark_mcp_server"],
            cwd=cwd,
            env=full_env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = ServerProcess(f"http://127.0.0.1:{port}", process, log_path)
    try:
        if wait:
            wait_healthy(
                process, server.url, "python -m lark_mcp_server", server.output, timeout=20
            )
        yield server
    finally:
        stop_process(process)
        log_path.unlink(missing_ok=True)


def rpc(
    server: ServerProcess,
    method: str,
    params: dict[str, Any] | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    id: int = 1,
) -> httpx2.Response:
    """A bare JSON-RPC POST, as the gateway or curl sends it: no initialize first."""
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        body["params"] = params
    return httpx2.post(
        server.mcp_url,
        json=body,
        headers={"Accept": ACCEPT, **(headers or {})},
        timeout=60,
    )


def call(server: ServerProcess, name: str, arguments: dict[str, Any], **kw: Any) -> dict[str, Any]:
    """tools/call over bare HTTP; returns the JSON-RPC `result` (fails on a protocol error)."""
    response = rpc(server, "tools/call", {"name": name, "arguments": arguments}, **kw)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "result" in body, body
    return body["result"]


def payload(result: dict[str, Any]) -> dict[str, Any]:
    """The tool's JSON payload from `content[0].text` (what every client can read), with its
    tables read back as records (tests/results.py)."""
    assert not result.get("isError"), result
    return decode(json.loads(result["content"][0]["text"]))


def error_text(result: dict[str, Any]) -> str:
    assert result.get("isError") is True, result
    return result["content"][0]["text"]
