"""The real server (`python -m lark_mcp_server`) against the session's fake Lark, and a client.

Reuses the server helper's harness (tests/server/harness.py) to start and stop the process.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from mcp.client import Client

from tests.lark_fake import FakeLark
from tests.server.harness import ServerProcess, run_server, server_env


@pytest.fixture(scope="session")
def server(lark_fake: FakeLark) -> Iterator[ServerProcess]:
    with run_server(server_env(lark_fake.base_url)) as process:
        yield process


@pytest.fixture
def lark(fresh_lark: FakeLark, server: ServerProcess) -> Iterator[FakeLark]:
    """The fake, reset to its seed, with the server up; checks afterwards it survived."""
    yield fresh_lark
    assert server.alive(), f"the server died:\n{server.output()[-3000:]}"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Tools:
    """The official MCP client, with the two ways a call ends: a payload or a tool error."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def ok(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result = await self.client.call_tool(name, arguments)
        assert not result.is_error, result.content[0].text
        data = json.loads(result.content[0].text)
        assert data == result.structured_content
        return data

    async def error(self, name: str, arguments: dict[str, Any]) -> str:
        result = await self.client.call_tool(name, arguments)
        assert result.is_error, result.content[0].text
        return result.content[0].text


@pytest.fixture
async def tools(server: ServerProcess, lark: FakeLark) -> AsyncIterator[Tools]:
    async with Client(server.mcp_url) as client:
        yield Tools(client)
