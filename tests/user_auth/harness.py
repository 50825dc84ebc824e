"""Loopback pieces for the sign-in tests: the authorization server as a real process, a
browser that follows redirects, and a real OAuth client (Authlib's requests client).
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from local_gateway import LocalGateway
from tests.deploy_checks.local_stack import free_port, stop_process, wait_healthy
from tests.lark_fake import FakeLark
from tests.loopback import serve_in_thread
from tests.server.harness import ServerProcess, server_env

REPO = Path(__file__).resolve().parents[2]
QUICKSUITE_REDIRECT = "https://eu-west-1.quicksight.aws.amazon.com/sn/oauthcallback"
MCP_RESOURCE = "https://gateway.example/mcp"
CLIENTS = [
    {
        "client_id": "quicksuite",
        "client_secret": "quicksuite-secret-0123456789",
        "redirect_uris": [QUICKSUITE_REDIRECT],
    },
    {
        "client_id": "other-app",
        "client_secret": "other-secret-0123456789",
        "redirect_uris": ["https://other.example/callback"],
    },
]
LARK_SCOPES = "calendar:calendar:readonly docs:doc:readonly"


@dataclass
class AuthServerProcess:
    base: str
    store_url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def start_auth_server(
    lark_url: str, app_id: str, app_secret: str, workdir: Path, **extra_env: str
) -> Iterator[AuthServerProcess]:
    """`python -m lark_auth_server` on a free loopback port, set up as docs/user-auth.md says."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    store_url = f"sqlite:///{workdir}/tokens.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LARK_", "AWS_", "AUTH_"))}
    env.update(
        {
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "AUTH_ISSUER": base,
            "LARK_DOMAIN": lark_url,
            "LARK_APP_ID": app_id,
            "LARK_APP_SECRET": app_secret,
            "LARK_USER_SCOPES": LARK_SCOPES,
            "AUTH_CLIENTS": json.dumps(CLIENTS),
            "USER_TOKEN_STORE": store_url,
            "AUTH_AUDIENCE": MCP_RESOURCE,
            **extra_env,
        }
    )
    log_path = workdir / "auth-server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "lark_auth_server"], cwd=REPO, env=env, stdout=log, stderr=log
        )
    try:
        wait_healthy(process, base, "lark_auth_server", log_path.read_text)
        yield AuthServerProcess(base, store_url, log_path)
    finally:
        stop_process(process)


def browse(
    url: str,
    stop_at: str,
    max_hops: int = 10,
    browser: requests.Session | None = None,
    consent: str | None = None,
) -> requests.Response | str:
    """Follow redirects as a browser would (keeping its cookies in `browser`); the URL once it
    points at `stop_at` (the client's redirect URI, which the browser would load next), else
    the page it ended on. `consent` ("allow" or "deny") answers our consent page, which a
    self-registered client's sign-in shows first, as a person clicking that button would."""
    browser = browser or requests.Session()
    for _ in range(max_hops):
        if url.startswith(stop_at):
            return url
        response = browser.get(url, allow_redirects=False, timeout=10)
        form = re.search(r'action="([^"]+)".*?name="consent" value="([^"]+)"', response.text, re.S)
        if response.status_code == 200 and form and consent:
            response = browser.post(
                html.unescape(form.group(1)),
                data={"consent": form.group(2), "decision": consent},
                allow_redirects=False,
                timeout=10,
            )
        if response.status_code not in (301, 302, 303, 307):
            return response
        url = response.headers["Location"]
    raise AssertionError(f"more than {max_hops} redirects")


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@dataclass
class SignIn:
    """One OAuth client run up to the redirect back: what a test needs to finish or break it."""

    client: OAuth2Session
    verifier: str
    state: str
    landed: requests.Response | str  # the redirect URI with code/error, or a page
    browser: requests.Session  # the person's browser (its cookies)

    @property
    def code(self) -> str:
        assert isinstance(self.landed, str), getattr(self.landed, "text", self.landed)
        return query_of(self.landed)["code"]

    def fetch(self, token_url: str, **overrides: str) -> dict:
        params = {"code_verifier": self.verifier, **overrides}
        return self.client.fetch_token(
            token_url,
            authorization_response=self.landed if isinstance(self.landed, str) else None,
            state=self.state,
            **params,
        )


def start_sign_in(
    issuer: str,
    client_id: str = "quicksuite",
    redirect_uri: str = QUICKSUITE_REDIRECT,
    browser: requests.Session | None = None,
    stop_at: str | None = None,
    **extra: str,
) -> SignIn:
    """What Quick Suite does: PKCE S256, a state, the MCP URL as `resource`; then the browser
    (a fresh one unless given) follows the redirects up to `stop_at` (default: the client)."""
    browser = browser or requests.Session()
    conf = next(c for c in CLIENTS if c["client_id"] == client_id)
    client = OAuth2Session(
        client_id,
        conf["client_secret"],
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    verifier = generate_token(64)
    params = {"resource": MCP_RESOURCE, **extra}
    url, state = client.create_authorization_url(
        f"{issuer}/authorize", code_verifier=verifier, **params
    )
    landed = browse(url, stop_at=stop_at or redirect_uri, browser=browser)
    return SignIn(client, verifier, state, landed, browser)


def user_server_env(lark_fake: FakeLark, auth: AuthServerProcess) -> dict[str, str]:
    """The MCP server's environment as a userAuth deployment sets it, on `auth`'s sign-ins."""
    return server_env(
        lark_fake.base_url,
        LARK_USER_AUTH_ISSUER=auth.base,
        LARK_USER_AUTH_CLIENTS="quicksuite",
        LARK_USER_AUTH_AUDIENCE=MCP_RESOURCE,
        USER_TOKEN_STORE=auth.store_url,
    )


@contextlib.contextmanager
def serve_user_gateway(auth: AuthServerProcess, runtime: ServerProcess) -> Iterator[str]:
    """The user gateway's stand-in in front of `runtime`, trusting `auth`; yields its MCP URL."""
    gateway = LocalGateway(
        issuer=auth.base,
        upstream_url=runtime.mcp_url,
        audience=MCP_RESOURCE,
        allowed_clients=("quicksuite",),
    )
    with serve_in_thread(gateway.app) as url:
        yield f"{url}/mcp"


def call_tool(gateway: str, token: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """tools/call through the gateway with the person's access token; the JSON-RPC result."""
    response = httpx2.post(
        gateway,
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": name, "arguments": arguments},
        },
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/json, text/event-stream",
        },
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.json()["result"]
