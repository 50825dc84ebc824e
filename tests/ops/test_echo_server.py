"""The example second server (examples/echo_server) answers MCP over real HTTP on loopback.

It is what `extraServers` builds in the README's example, so it must really be an MCP server:
stateless Streamable HTTP on `/mcp`, any Host header (the runtime proxies with its own), and
the one tool the smoke test expects.
"""

from __future__ import annotations

import importlib.util
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
import uvicorn
from mcp import Client

SERVER_DIR = Path(__file__).resolve().parents[2] / "examples" / "echo_server"


@pytest.fixture(scope="module")
def echo_url() -> Iterator[str]:
    spec = importlib.util.spec_from_file_location("echo_server", SERVER_DIR / "server.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(module.app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the echo server did not start within 20 s"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/mcp"
    server.should_exit = True
    thread.join(timeout=10)


def test_lists_and_calls_echo_with_the_official_client(echo_url: str) -> None:
    async def session() -> tuple[list[str], bool | None, str]:
        async with Client(echo_url) as client:
            tools = (await client.list_tools()).tools
            result = await client.call_tool("echo", {"text": "hello from the gateway"})
            return (
                [t.name for t in tools],
                tools[0].annotations.read_only_hint,
                result.content[0].text,
            )

    names, read_only, text = anyio.run(session)

    assert names == ["echo"]
    assert read_only is True
    assert text == "hello from the gateway"


def test_the_image_is_built_for_agentcore() -> None:
    dockerfile = (SERVER_DIR / "Dockerfile").read_text()
    requirements = (SERVER_DIR / "requirements.txt").read_text()

    assert "EXPOSE 8000" in dockerfile and "USER app" in dockerfile
    assert "mcp==2.3.0" in requirements
    # Only what the image needs enters the build context (the asset hash follows it).
    assert (SERVER_DIR / ".dockerignore").read_text().splitlines()[0] == "*"
