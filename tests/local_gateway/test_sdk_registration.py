"""The official SDK clients, unaided: nothing configured but the bare MCP URL. Each discovers the
authorization server from the 401, registers itself (RFC 7591, a public client with PKCE),
shows the person our consent page naming it (the browser clicks Allow), passes Feishu's consent
(the fake), gets a token bound to the gateway, lists the tools and calls one that reaches Lark
with that person's own token.
"""

from __future__ import annotations

import base64
import json
import subprocess

import pytest
from mcp.shared.auth import OAuthClientMetadata

from .conftest import REPO, RunningChain
from .test_sdk_clients import (
    NODE,
    TS_DRIVER,
    MemoryStorage,
    assert_acted_as,
    python_sdk_calls_a_tool,
    sign_in_as,
)


def assert_token_for(chain: RunningChain, token: str, client_id: str, open_id: str) -> None:
    """Our access token for that person and that self-registered client, bound to the gateway."""
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["iss"] == chain.issuer and claims["aud"] == chain.mcp_url
    assert claims["sub"] == open_id and claims["client_id"] == client_id


# The chain's four processes start in the first test: minutes on a loaded 2-core runner.
pytestmark = [pytest.mark.anyio, pytest.mark.timeout(600)]


async def test_the_python_sdk_registers_itself_and_acts_as_the_person(chain: RunningChain):
    sign_in_as(chain, "ou_dave")
    redirect = "http://127.0.0.1:41999/callback"  # a port no client registered before
    storage = MemoryStorage()  # no client id: the SDK must register
    metadata = OAuthClientMetadata(
        client_name="Python SDK notebook",
        redirect_uris=[redirect],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="none",
    )
    browser = await python_sdk_calls_a_tool(chain, metadata, storage, redirect, {"list_my_tasks"})
    # Our consent page named the client and where it sends the person back, before Feishu.
    assert any("Python SDK notebook" in page and "127.0.0.1" in page for page in browser.pages)
    info = storage.client_info
    assert info is not None and info.client_id and info.client_secret is None  # public client
    assert storage.tokens is not None and storage.tokens.refresh_token
    assert_token_for(chain, storage.tokens.access_token, info.client_id, "ou_dave")
    logged = chain.log_lines("auth-server")
    assert any(e.get("event") == "client_registered" for e in logged)  # for the Monitoring stack
    assert_acted_as(chain, "list_my_tasks", "ou_dave")


def test_the_typescript_sdk_registers_itself_and_acts_as_the_person(chain: RunningChain):
    sign_in_as(chain, "ou_erin")
    run = subprocess.run(
        [str(NODE), str(TS_DRIVER)],
        cwd=REPO,
        env={
            "MCP_URL": chain.mcp_url,
            "REDIRECT_URI": "http://localhost:40888/oauth/callback",
            "TOOL": "list_my_tasks",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["unauthorizedFirst"] is True and report["registered"], report
    assert report["consentPages"] == 1, report  # it met our consent page, and only that form
    assert "list_my_tasks" in report["tools"] and report["isError"] is False, report
    assert_token_for(chain, report["accessToken"], report["registered"], "ou_erin")
    assert_acted_as(chain, "list_my_tasks", "ou_erin")
