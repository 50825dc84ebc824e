"""MCP clients sign in unaided against the local chain (`make local USER_AUTH=1`): from a bare
MCP URL through the 401, RFC 9728 discovery, RFC 8414 metadata, the authorization server's pages
and Feishu's consent (the fake), the token, to `tools/list` and a tool call that reaches Lark
with that person's own token.

- the official MCP Python SDK's `OAuthClientProvider` (mcp 2.x),
- the official MCP TypeScript SDK's client (`@modelcontextprotocol/sdk`, run by node with
  tests/local_gateway/ts_client.mjs, which browses with a tiny fetch-based browser),
- Quick Suite's pattern: a pre-registered client with fixed URLs (Authlib's OAuth client).
"""

from __future__ import annotations

import json
import subprocess

import httpx2
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from mcp.client import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)

from lark_user_store import open_store
from tests.user_auth.harness import QUICKSUITE_REDIRECT

from .browser import SignInBrowser, query
from .conftest import CLIENTS, PY_REDIRECT, REPO, TS_REDIRECT, RunningChain

NODE = REPO / "node_modules" / "node" / "bin" / "node"
TS_DRIVER = REPO / "tests" / "local_gateway" / "ts_client.mjs"
# The chain's four processes start in the first test: minutes on a loaded 2-core runner.
pytestmark = [pytest.mark.anyio, pytest.mark.timeout(600)]


class MemoryStorage:
    """The SDK's TokenStorage, in memory (a client app would persist it)."""

    def __init__(self, client_info: OAuthClientInformationFull | None = None) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info = client_info

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


def _client(client_id: str) -> dict:
    return next(c for c in CLIENTS if c["client_id"] == client_id)


def sign_in_as(chain: RunningChain, open_id: str) -> None:
    """Who the fake Feishu's browser session is signed in as."""
    answer = httpx2.post(f"{chain.lark_url}/_fake/oauth", json={"signed_in": open_id}, timeout=5)
    assert answer.status_code == 200, answer.text


async def python_sdk_calls_a_tool(
    chain: RunningChain,
    metadata: OAuthClientMetadata,
    storage: MemoryStorage,
    redirect: str,
    tools: set[str],
) -> SignInBrowser:
    """The Python SDK's OAuthClientProvider from the bare MCP URL, its redirects answered by a
    browser (our pages, Feishu's consent): `tools` are listed and `list_my_tasks` answers.
    Returns the browser, which keeps the pages it was shown."""
    browser = SignInBrowser()
    landed: dict[str, str] = {}

    async def redirect_handler(url: str) -> None:
        landed["url"] = await browser.sign_in(url, redirect)

    async def callback_handler() -> AuthorizationCodeResult:
        params = query(landed["url"])
        return AuthorizationCodeResult(
            code=params["code"], state=params.get("state"), iss=params.get("iss")
        )

    provider = OAuthClientProvider(
        server_url=chain.mcp_url,
        client_metadata=metadata,
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
    )
    try:
        async with (
            httpx2.AsyncClient(auth=provider, timeout=60) as http,
            Client(streamable_http_client(chain.mcp_url, http_client=http)) as client,
        ):
            listed = await client.list_tools()
            assert tools <= {t.name for t in listed.tools}
            result = await client.call_tool("list_my_tasks", {})
            assert not result.is_error, result.content
    finally:
        await browser.aclose()
    return browser


def assert_acted_as(chain: RunningChain, tool: str, open_id: str) -> None:
    """The server ran `tool` with `open_id`'s own Lark token (its log), which sign-in stored."""
    calls = [c for c in chain.tool_calls(tool) if c.get("open_id") == open_id]
    assert calls and calls[-1]["status"] == "ok" and calls[-1]["as"] == "user", calls
    assert "token" not in calls[-1]  # the person's own token, not the app's
    stored = open_store(f"sqlite:///{chain.data / 'tokens.db'}").get(open_id)
    assert stored is not None and stored.access_token.startswith("u-")


async def test_the_python_sdk_signs_in_from_a_bare_mcp_url(chain: RunningChain):
    sign_in_as(chain, "ou_alice")
    conf = _client("py-sdk")
    metadata = OAuthClientMetadata(
        client_name="MCP Python SDK (test)",
        redirect_uris=[PY_REDIRECT],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="client_secret_post",
    )
    storage = MemoryStorage(
        OAuthClientInformationFull(
            client_id=conf["client_id"],
            client_secret=conf["client_secret"],
            **metadata.model_dump(),
        )
    )
    await python_sdk_calls_a_tool(
        chain, metadata, storage, PY_REDIRECT, {"list_my_tasks", "search_documents"}
    )
    assert storage.tokens is not None and storage.tokens.access_token
    assert_acted_as(chain, "list_my_tasks", "ou_alice")


def test_the_typescript_sdk_signs_in_from_a_bare_mcp_url(chain: RunningChain):
    sign_in_as(chain, "ou_bob")
    conf = _client("ts-sdk")
    run = subprocess.run(
        [str(NODE), str(TS_DRIVER)],
        cwd=REPO,
        env={
            "MCP_URL": chain.mcp_url,
            "REDIRECT_URI": TS_REDIRECT,
            "CLIENT_ID": conf["client_id"],
            "CLIENT_SECRET": conf["client_secret"],
            "TOOL": "list_my_tasks",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert {"list_my_tasks", "search_documents"} <= set(report["tools"])
    assert report["isError"] is False, report
    assert report["unauthorizedFirst"] is True  # it started from the bare URL's 401
    assert_acted_as(chain, "list_my_tasks", "ou_bob")


async def test_quick_suites_pattern_pre_registered_with_fixed_urls(chain: RunningChain):
    """What Quick Suite does with the form fields an admin pasted: no discovery, no registration."""
    sign_in_as(chain, "ou_carol")
    conf = _client("quicksuite")
    oauth = AsyncOAuth2Client(
        conf["client_id"],
        conf["client_secret"],
        redirect_uri=QUICKSUITE_REDIRECT,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    verifier = generate_token(64)
    url, state = oauth.create_authorization_url(
        f"{chain.issuer}/authorize", code_verifier=verifier, resource=chain.mcp_url
    )
    browser = SignInBrowser()
    try:
        landed = await browser.sign_in(url, QUICKSUITE_REDIRECT)
    finally:
        await browser.aclose()
    assert browser.pages == []  # the pre-registered client sees no page of ours
    token = await oauth.fetch_token(
        f"{chain.issuer}/token", authorization_response=landed, code_verifier=verifier, state=state
    )
    await oauth.aclose()
    async with (
        httpx2.AsyncClient(
            headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=60
        ) as http,
        Client(streamable_http_client(chain.mcp_url, http_client=http)) as client,
    ):
        result = await client.call_tool("list_my_tasks", {})
        assert not result.is_error, result.content
    assert_acted_as(chain, "list_my_tasks", "ou_carol")
