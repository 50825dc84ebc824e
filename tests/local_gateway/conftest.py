"""The whole local chain as `make local USER_AUTH=1` starts it, once per test module."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.server.fixtures import anyio_backend as anyio_backend
from tests.user_auth.harness import QUICKSUITE_REDIRECT

REPO = Path(__file__).resolve().parents[2]
START_SECONDS = 300  # four processes, each waited for, on a busy 2-core machine
PY_REDIRECT = "http://127.0.0.1:33418/callback"
TS_REDIRECT = "http://localhost:47123/oauth/callback"
CLIENTS = [
    {
        "client_id": "quicksuite",
        "client_secret": "quicksuite-secret-0123456789",
        "redirect_uris": [QUICKSUITE_REDIRECT],
    },
    {
        "client_id": "py-sdk",
        "client_secret": "py-sdk-secret-0123456789",
        "redirect_uris": [PY_REDIRECT],
    },
    {
        "client_id": "ts-sdk",
        "client_secret": "ts-sdk-secret-0123456789",
        "redirect_uris": [TS_REDIRECT],
    },
]


@dataclass
class RunningChain:
    mcp_url: str
    issuer: str
    lark_url: str
    data: Path
    process: subprocess.Popen[str]

    def log_lines(self, name: str) -> list[dict[str, Any]]:
        lines = []
        for line in (self.data / f"{name}.log").read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                lines.append(entry)
        return lines

    def tool_calls(self, tool: str) -> list[dict[str, Any]]:
        return [
            e
            for e in self.log_lines("mcp-server")
            if e.get("message") == "tool call" and e.get("tool") == tool
        ]


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningChain]:
    data = tmp_path_factory.mktemp("local-chain")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LARK_", "AUTH_", "AWS_"))}
    env.update(
        LOCAL_DATA=str(data),
        PORT="0",
        AUTH_PORT="0",
        GATEWAY_PORT="0",
        LARK_FAKE_PORT="0",
        AUTH_CLIENTS=json.dumps(CLIENTS),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "local_gateway.chain"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    banner: list[str] = []
    mcp = sign_in = None
    deadline = time.monotonic() + START_SECONDS
    try:
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            banner.append(line)
            if line.startswith("Paste the MCP URL"):
                break
        text = "".join(banner)
        mcp = re.search(r"^MCP URL: (\S+)$", text, re.M)
        sign_in = re.search(r"sign-in: (\S+), with the fake Lark/Feishu at (\S+) ", text)
        assert mcp and sign_in, f"the chain did not start:\n{text}"
        yield RunningChain(mcp.group(1), sign_in.group(1), sign_in.group(2), data, process)
    finally:
        # What Ctrl-C on `make local USER_AUTH=1` sends: SIGINT, then make's own SIGTERM.
        process.send_signal(signal.SIGINT)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    output = process.stdout.read()
    assert process.returncode == 0, output
    assert "Traceback" not in output, output
    if mcp and sign_in:  # Ctrl-C stopped every process of the chain: nothing answers any more
        for url in (mcp.group(1), f"{sign_in.group(1)}/health", f"{sign_in.group(2)}/_fake/stats"):
            with pytest.raises(httpx2.ConnectError):
                httpx2.get(url, timeout=5)
