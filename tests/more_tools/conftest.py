"""The real server (`python -m lark_mcp_server`) against the session's fake Lark, and a client.

Reuses tests/server: its harness starts and stops the process, its `lark` fixture checks it
survived each test.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from mcp.client import Client

from tests.lark_fake import FakeLark
from tests.results import decode
from tests.server.fixtures import anyio_backend as anyio_backend
from tests.server.fixtures import lark as lark
from tests.server.harness import ServerProcess, run_server, server_env


@pytest.fixture(scope="session")
def server(lark_fake: FakeLark) -> Iterator[ServerProcess]:
    with run_server(server_env(lark_fake.base_url)) as process:
        yield process


class Tools:
    """The official MCP client, with the two ways a call ends: a payload or a tool error."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def ok(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result = await self.client.call_tool(name, arguments)
        assert not result.is_error, result.content[0].text
        data = json.loads(result.content[0].text)
        assert data == result.structured_content
        return decode(data)

    async def error(self, name: str, arguments: dict[str, Any]) -> str:
        result = await self.client.call_tool(name, arguments)
        assert result.is_error, result.content[0].text
        return result.content[0].text


@pytest.fixture
async def tools(server: ServerProcess, lark: FakeLark) -> AsyncIterator[Tools]:
    async with Client(server.mcp_url) as client:
        yield Tools(client)
