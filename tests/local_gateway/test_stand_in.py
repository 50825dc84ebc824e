"""`local_gateway` as a client meets it: RFC 9728 discovery, AgentCore's 401, its CUSTOM_JWT
checks (signature, issuer, expiry, audience, client), the interceptor's header and the proxy.

The upstream here is a recording MCP endpoint; the full chain with the real servers and the
official SDK clients is in tests/local_gateway/test_sdk_clients.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from local_gateway import LocalGateway
from mcp_constructs.interceptor.caller_jwt import CALLER_JWT_HEADER
from tests.deploy_checks.local_stack import REPO, free_port, stop_process, wait_healthy
from tests.loopback import serve_in_thread
from tests.user_tools.issuer import LocalIssuer, serve_issuer

BODY = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}


@pytest.fixture(scope="module")
def issuer() -> Iterator[LocalIssuer]:
    with serve_issuer(LocalIssuer()) as running:
        yield running


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[str, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []

    async def mcp(request: Request) -> JSONResponse:
        seen.append({k.lower(): v for k, v in request.headers.items()})
        body = await request.json()
        return JSONResponse(
            {"jsonrpc": "2.0", "id": body["id"], "result": {"tools": []}},
            headers={"mcp-session-id": "s-1", "x-internal": "never shown"},
        )

    with serve_in_thread(Starlette(routes=[Route("/mcp", mcp, methods=["POST"])])) as base:
        yield f"{base}/mcp", seen


@pytest.fixture
def gateway(issuer: LocalIssuer, upstream: tuple[str, list]) -> Iterator[LocalGateway]:
    upstream[1].clear()
    gw = LocalGateway(issuer=issuer.url, upstream_url=upstream[0])
    with serve_in_thread(gw.app, what="local_gateway") as base:
        gw.public_url = base
        yield gw


def post(gw: LocalGateway, token: str | None = None, **headers: str) -> httpx2.Response:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx2.post(gw.mcp_url, json=BODY, headers=headers, timeout=10)


def test_a_client_discovers_the_authorization_server_from_the_401(
    gateway: LocalGateway, issuer: LocalIssuer
):
    answer = post(gateway)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == -32001
    challenge = answer.headers["www-authenticate"]
    assert (
        challenge
        == f'Bearer resource_metadata="{gateway.public_url}/.well-known/oauth-protected-resource"'
    )
    metadata_url = challenge.split('resource_metadata="')[1].rstrip('"')
    for url in (metadata_url, f"{metadata_url}/mcp"):  # RFC 9728 §3.1's path-suffixed form too
        metadata = httpx2.get(url, timeout=10).json()
        assert metadata == {
            "resource": gateway.mcp_url,
            "authorization_servers": [issuer.url],
            "bearer_methods_supported": ["header"],
        }


def test_a_valid_token_reaches_the_upstream_with_only_the_verified_caller_jwt(
    gateway: LocalGateway, issuer: LocalIssuer, upstream: tuple[str, list]
):
    token = issuer.token("ou_alice", aud=gateway.mcp_url)
    answer = post(gateway, token, **{CALLER_JWT_HEADER: "forged.by.client", "X-Other": "x"})
    assert answer.status_code == 200, gateway.refusals
    assert answer.json()["result"] == {"tools": []}
    assert answer.headers["mcp-session-id"] == "s-1" and "x-internal" not in answer.headers
    (seen,) = upstream[1]
    assert seen[CALLER_JWT_HEADER.lower()] == token
    assert "authorization" not in seen and "x-other" not in seen


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"aud": "https://other-gateway.example/mcp"}, "invalid token: InvalidClaimError"),
        ({"aud": None}, "invalid token: "),  # no audience at all
        ({"lifetime": -60}, "invalid token: ExpiredTokenError"),
        ({"issuer": "https://evil.example"}, "invalid token: InvalidClaimError"),
        ({"key": LocalIssuer.stranger_key()}, "invalid token: BadSignatureError"),
    ],
)
def test_tokens_agentcore_would_refuse_never_reach_the_upstream(
    gateway: LocalGateway, issuer: LocalIssuer, upstream: tuple[str, list], claims, why
):
    claims = {"aud": gateway.mcp_url, **claims}
    answer = post(gateway, issuer.token("ou_alice", **claims))
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith('Bearer error="invalid_token", ')
    assert gateway.refusals[-1].startswith(why), gateway.refusals
    assert upstream[1] == []


def test_allowed_clients_when_configured(issuer: LocalIssuer, upstream: tuple[str, list]):
    gw = LocalGateway(
        issuer=issuer.url,
        upstream_url=upstream[0],
        audience="https://gateway.example/mcp",
        allowed_clients=("quicksuite",),
    )
    with serve_in_thread(gw.app) as base:
        gw.public_url = base
        aud = "https://gateway.example/mcp"
        assert post(gw, issuer.token("ou_a", aud=aud, client_id="other")).status_code == 401
        assert gw.refusals == ["client is not allowed"]
        assert post(gw, issuer.token("ou_a", aud=aud)).status_code == 200


def test_a_malformed_header_or_body_is_a_4xx(gateway: LocalGateway, issuer: LocalIssuer):
    for value in ("Bearer", "Bearer not-a-jwt", "Basic abc", "Bearer a.b.c d"):
        answer = httpx2.post(gateway.mcp_url, json=BODY, headers={"Authorization": value})
        assert answer.status_code == 401, value
    token = issuer.token("ou_alice", aud=gateway.mcp_url)
    bad = httpx2.post(
        gateway.mcp_url, content=b"{not json", headers={"Authorization": f"Bearer {token}"}
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == -32700


def test_python_m_local_gateway(issuer: LocalIssuer, upstream: tuple[str, list]):
    """The documented way to start it alone; a missing setting is one readable line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "UPSTREAM_"))}
    missing = subprocess.run(
        [sys.executable, "-m", "local_gateway"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert missing.returncode == 2
    assert missing.stderr.strip().startswith("local_gateway: AUTH_ISSUER is required")
    assert "Traceback" not in missing.stderr
    port = free_port()
    env.update(HOST="127.0.0.1", PORT=str(port), UPSTREAM_URL=upstream[0], AUTH_ISSUER=issuer.url)
    process = subprocess.Popen(
        [sys.executable, "-m", "local_gateway"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(process, base, "python -m local_gateway", lambda: "")
        mcp_url = f"{base}/mcp"
        token = issuer.token("ou_alice", aud=mcp_url)  # default audience: its own /mcp URL
        answer = httpx2.post(mcp_url, json=BODY, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200
        metadata = httpx2.get(f"{base}/.well-known/oauth-protected-resource").json()
        assert metadata["resource"] == mcp_url
    finally:
        stop_process(process)


def test_the_chain_names_a_setting_it_cannot_use(tmp_path):
    """`make local USER_AUTH=1` with a bad setting: one line naming it, exit 1, nothing left."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LARK_", "AUTH_"))}
    cases = [
        ({"LARK_APP_ID": "cli_x", "LARK_APP_SECRET": "s"}, "LARK_USER_SCOPES is required"),
        ({"PORT": "abc"}, "PORT='abc' is not a port number"),
        ({"AUTH_CLIENTS": "nope"}, "AUTH_CLIENTS must be a JSON list"),
    ]
    for extra, message in cases:
        run = subprocess.run(
            [sys.executable, "-m", "local_gateway.chain"],
            cwd=REPO,
            env={**env, "LOCAL_DATA": str(tmp_path), **extra},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 1, run.stderr
        assert run.stderr.startswith(f"make local USER_AUTH=1: {message}"), run.stderr
        assert "Traceback" not in run.stderr and list(tmp_path.glob("*.log")) == []
