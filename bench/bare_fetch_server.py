"""The ceiling for a tool that calls Lark: the bare server whose one tool makes one Lark GET.

`fetch` asks the (fake) Lark for a page of chats with aiohttp, the client ours uses, decodes
the JSON and returns the first chat's id: no arguments checked beyond the SDK's, no
formatting, no logging, no retries, and a result too small to cost anything. Whatever
throughput it reaches against the bare `echo` is the most any tool that makes the same round
trip can reach; ours is measured against it too.
Run: `HOST=127.0.0.1 PORT=8100 LARK_DOMAIN=http://127.0.0.1:9999 LARK_APP_ID=cli_fake_app
LARK_APP_SECRET=fake-secret python -m bench.bare_fetch_server`.
"""

import json
import os
from typing import Any

import aiohttp
from mcp.server.mcpserver import MCPServer

from bench.bare_server import serve

server = MCPServer(name="bare-fetch")
_state: dict[str, Any] = {}


async def _session() -> tuple[aiohttp.ClientSession, str]:
    """One pooled session and one tenant token for the process, fetched on the first call."""
    if "session" not in _state:
        session = aiohttp.ClientSession(os.environ["LARK_DOMAIN"])
        credentials = {
            "app_id": os.environ["LARK_APP_ID"],
            "app_secret": os.environ["LARK_APP_SECRET"],
        }
        async with session.post(
            "/open-apis/auth/v3/tenant_access_token/internal", json=credentials
        ) as answer:
            _state["token"] = (await answer.json())["tenant_access_token"]
        _state["session"] = session
    return _state["session"], _state["token"]


@server.tool(
    description="Fetch one page of chats; return the first chat's id.", structured_output=False
)
async def fetch(page_size: int = 20) -> str:
    """One GET to Lark's chat list and the JSON decode any tool needs; nothing else."""
    session, token = await _session()
    async with session.get(
        "/open-apis/im/v1/chats",
        params={"page_size": page_size},
        headers={"Authorization": f"Bearer {token}"},
    ) as answer:
        body = json.loads(await answer.read())
    return str(body["data"]["items"][0]["chat_id"])


if __name__ == "__main__":
    serve(server)
