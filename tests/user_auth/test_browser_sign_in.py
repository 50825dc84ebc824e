"""The sign-in in a real browser (Debian's headless Chromium through selenium): our
authorization server and the fake Feishu on loopback, a client whose redirect URI is a page on
loopback. The browser that starts a sign-in finishes it (its cookie carries the binding); a
Feishu link started elsewhere and opened in another browser ends on our error page with no code.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
import requests
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.lark_fake import FakeLark
from tests.loopback import serve_in_thread

from .harness import MCP_RESOURCE, AuthServerProcess, query_of, start_auth_server

CLIENT_ID, CLIENT_SECRET = "browser-app", "browser-secret-0123456789"


class ClientPage:
    """The client's redirect URI: records what each browser brought back."""

    def __init__(self) -> None:
        self.landed: list[dict[str, str]] = []
        self.app = Starlette(routes=[Route("/cb", self._cb)])

    async def _cb(self, request: Request) -> HTMLResponse:
        self.landed.append(dict(request.query_params))
        return HTMLResponse("<!doctype html><title>back at the client</title><p>ok</p>")


@pytest.fixture(scope="module")
def client_page() -> Iterator[tuple[ClientPage, str]]:
    page = ClientPage()
    with serve_in_thread(page.app) as base:
        yield page, f"{base}/cb"


@pytest.fixture(scope="module")
def server(
    lark_fake: FakeLark,
    tmp_path_factory: pytest.TempPathFactory,
    client_page: tuple[ClientPage, str],
) -> Iterator[AuthServerProcess]:
    clients = [
        {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [client_page[1]]}
    ]
    with start_auth_server(
        lark_fake.base_url,
        lark_fake.app_id,
        lark_fake.app_secret,
        tmp_path_factory.mktemp("browser"),
        AUTH_CLIENTS=json.dumps(clients),
    ) as process:
        yield process


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    """A fresh headless Chromium profile: its own cookie jar, like a person's browser."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _authorize_url(server: AuthServerProcess, redirect_uri: str) -> tuple[str, str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = create_s256_code_challenge(verifier)
    state = secrets.token_urlsafe(16)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": redirect_uri,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "resource": MCP_RESOURCE,
        }
    )
    return f"{server.base}/authorize?{query}", state, verifier


def test_the_browser_that_starts_the_sign_in_finishes_it(
    lark: FakeLark,
    server: AuthServerProcess,
    client_page: tuple[ClientPage, str],
    browser: webdriver.Chrome,
):
    page, redirect_uri = client_page
    page.landed.clear()
    url, state, verifier = _authorize_url(server, redirect_uri)
    browser.get(url)  # -> Feishu's (fake) consent -> our /callback -> the client's page
    WebDriverWait(browser, 30).until(lambda d: d.current_url.startswith(redirect_uri))
    assert "ok" in browser.page_source
    back = query_of(browser.current_url)
    assert back["state"] == state and back["iss"] == server.base and back["code"]
    assert page.landed == [back]
    # The cookie was cleared on the way back: nothing of the sign-in stays in the browser.
    assert not [c for c in browser.get_cookies() if c["name"].startswith("lark_signin_")]
    token = requests.post(
        f"{server.base}/token",
        data={
            "grant_type": "authorization_code",
            "code": back["code"],
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=10,
    )
    assert token.status_code == 200, token.text
    assert token.json()["access_token"]


def test_a_feishu_link_from_another_browser_is_refused(
    lark: FakeLark,
    server: AuthServerProcess,
    client_page: tuple[ClientPage, str],
    browser: webdriver.Chrome,
):
    """Login CSRF: the attacker starts the sign-in (their cookie), sends the Feishu link; the
    victim's browser, signed in to Feishu as the victim, opens it."""
    page, redirect_uri = client_page
    page.landed.clear()
    url, _, _ = _authorize_url(server, redirect_uri)
    attacker = requests.get(url, allow_redirects=False, timeout=10)
    feishu_link = attacker.headers["Location"]
    assert feishu_link.startswith(lark.base_url) and attacker.headers["Set-Cookie"]

    lark.oauth.signed_in = "ou_bob"
    browser.get(feishu_link)
    WebDriverWait(browser, 30).until(lambda d: d.current_url.startswith(f"{server.base}/callback"))
    assert "This sign-in cannot be finished here" in browser.page_source
    assert "started in another browser" in browser.page_source
    assert page.landed == []  # no code ever reached the client
    assert not [r for r in lark.requests if r.path == "/open-apis/authen/v2/oauth/token"]
