"""Our consent page in a real browser (Debian's headless chromium through selenium): what a
person sees before a self-registered client is sent to Feishu, and the phishing and CSRF cases.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.routing import Route

from tests.lark_fake import FakeLark
from tests.loopback import serve_in_thread

from .harness import MCP_RESOURCE, QUICKSUITE_REDIRECT, AuthServerProcess, browse, query_of

CHROMEDRIVER = "/usr/bin/chromedriver"
FEISHU_AUTHORIZE = "/open-apis/authen/v1/authorize"

pytestmark = pytest.mark.skipif(
    not shutil.which("chromium") or not shutil.which(CHROMEDRIVER),
    reason="needs Debian's chromium and chromedriver: make browser",
)


@pytest.fixture(scope="module")
def chrome() -> Iterator:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(chrome):
    """A browser with no cookies: a person who has not been here before."""
    chrome.delete_all_cookies()
    return chrome


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[str, list[dict]]]:
    """The app's loopback redirect: records what the browser brings back."""
    seen: list[dict] = []

    async def callback(request: Request) -> PlainTextResponse:
        seen.append(dict(request.query_params))
        return PlainTextResponse("back in the app")

    with serve_in_thread(Starlette(routes=[Route("/cb", callback)])) as base:
        yield f"{base}/cb", seen


def _register(iss: str, name: str, redirect: str) -> dict:
    answer = requests.post(
        f"{iss}/register",
        json={
            "client_name": name,
            "redirect_uris": [redirect],
            "token_endpoint_auth_method": "none",
        },
        timeout=5,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def _authorize_link(iss: str, client: dict, redirect: str) -> tuple[OAuth2Session, str, str, str]:
    session = OAuth2Session(
        client["client_id"],
        redirect_uri=redirect,
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    verifier = generate_token(64)
    url, state = session.create_authorization_url(
        f"{iss}/authorize", code_verifier=verifier, resource=MCP_RESOURCE
    )
    return session, url, state, verifier


def _arrive(browser, prefix: str) -> None:
    """Wait until the browser's navigation (a form post and its redirects) lands on `prefix`."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 20).until(lambda b: b.current_url.startswith(prefix))


def _feishu_visits(lark: FakeLark) -> int:
    return len([r for r in lark.requests if r.path == FEISHU_AUTHORIZE])


def test_a_link_sent_to_someone_else_stops_at_our_page_naming_the_client(
    lark: FakeLark, auth_server: AuthServerProcess, browser, receiver
):
    from selenium.webdriver.common.by import By

    iss = auth_server.base
    redirect, seen = receiver
    client = _register(iss, "Lark Helper <b>Pro</b>", redirect)
    _, link, state, _ = _authorize_link(iss, client, redirect)
    seen.clear()

    browser.get(link)  # the victim opens the link they were sent
    assert browser.find_element(By.ID, "client-name").text == "Lark Helper <b>Pro</b>"  # escaped
    assert "Lark Helper" in browser.title
    assert "127.0.0.1" in browser.find_element(By.ID, "redirect-host").text
    assert "If someone sent you this link, choose Deny" in browser.page_source
    assert _feishu_visits(lark) == 0  # nothing went to Feishu yet

    browser.find_element(By.ID, "deny").click()
    _arrive(browser, redirect)
    [back] = seen
    assert back["error"] == "access_denied" and back["state"] == state and back["iss"] == iss
    assert "code" not in back
    assert _feishu_visits(lark) == 0


def test_allow_goes_on_to_feishu_and_back_with_a_code_the_client_redeems(
    lark: FakeLark, auth_server: AuthServerProcess, browser, receiver
):
    from selenium.webdriver.common.by import By

    iss = auth_server.base
    redirect, seen = receiver
    client = _register(iss, "MCP Inspector", redirect)
    session, link, state, verifier = _authorize_link(iss, client, redirect)
    seen.clear()

    browser.get(link)
    assert browser.find_element(By.ID, "client-name").text == "MCP Inspector"
    browser.find_element(By.ID, "allow").click()
    _arrive(browser, redirect)
    assert _feishu_visits(lark) == 1
    [back] = seen
    assert back["state"] == state and back["iss"] == iss
    token = session.fetch_token(
        f"{iss}/token", code=back["code"], code_verifier=verifier, state=state
    )
    assert token["access_token"] and token["refresh_token"]


def test_a_consent_posted_from_another_site_with_an_attackers_id_is_refused(
    lark: FakeLark, auth_server: AuthServerProcess, browser, receiver
):
    """Login CSRF: the attacker opens the consent page themself, then makes the victim's
    browser post the attacker's consent id from the attacker's page."""
    iss = auth_server.base
    redirect, seen = receiver
    client = _register(iss, "Evil", redirect)
    _, link, _, _ = _authorize_link(iss, client, redirect)
    attacker = requests.Session()
    consent_page = attacker.get(link, timeout=5)
    consent_id = re.search(r'name="consent" value="([^"]+)"', consent_page.text).group(1)

    async def evil(request: Request) -> HTMLResponse:
        return HTMLResponse(
            f'<form id="f" method="post" action="{iss}/consent">'
            f'<input type="hidden" name="consent" value="{consent_id}">'
            '<input type="hidden" name="decision" value="allow"></form>'
            "<script>document.getElementById('f').submit()</script>"
        )

    seen.clear()
    with serve_in_thread(Starlette(routes=[Route("/", evil)])) as evil_site:
        # Another site: localhost is not 127.0.0.1 to the browser.
        browser.get(evil_site.replace("127.0.0.1", "localhost") + "/")
        _arrive(browser, f"{iss}/consent")
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        heading = WebDriverWait(browser, 20).until(lambda b: b.find_element(By.TAG_NAME, "h1"))
        assert heading.text == "This consent page cannot be used"
    assert _feishu_visits(lark) == 0 and seen == []


def test_a_consent_form_works_once_and_only_in_its_browser(
    lark: FakeLark, auth_server: AuthServerProcess, receiver
):
    iss = auth_server.base
    redirect, _ = receiver
    client = _register(iss, "Twice", redirect)
    _, link, _, _ = _authorize_link(iss, client, redirect)
    person = requests.Session()
    page = person.get(link, timeout=5)
    assert page.status_code == 200
    for header in ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy"):
        assert header in page.headers
    assert "Set-Cookie" in page.headers and "HttpOnly" in page.headers["Set-Cookie"]
    consent_id = re.search(r'name="consent" value="([^"]+)"', page.text).group(1)
    form = {"consent": consent_id, "decision": "allow"}

    other = requests.post(f"{iss}/consent", data=form, allow_redirects=False, timeout=5)
    assert other.status_code == 400 and "Location" not in other.headers
    first = person.post(f"{iss}/consent", data=form, allow_redirects=False, timeout=5)
    assert first.status_code == 302 and FEISHU_AUTHORIZE in first.headers["Location"]
    again = person.post(f"{iss}/consent", data=form, allow_redirects=False, timeout=5)
    assert again.status_code == 400 and "Location" not in again.headers
    for bad in ({"consent": consent_id, "decision": "maybe"}, {"decision": "allow"}, {}):
        answer = person.post(f"{iss}/consent", data=bad, allow_redirects=False, timeout=5)
        assert answer.status_code == 400


def test_the_pre_registered_quick_suite_client_skips_our_page(
    lark: FakeLark, auth_server: AuthServerProcess
):
    session = OAuth2Session(
        "quicksuite",
        "quicksuite-secret-0123456789",
        redirect_uri=QUICKSUITE_REDIRECT,
        code_challenge_method="S256",
    )
    url, state = session.create_authorization_url(
        f"{auth_server.base}/authorize", code_verifier=generate_token(64), resource=MCP_RESOURCE
    )
    first = requests.get(url, allow_redirects=False, timeout=5)
    assert first.status_code == 302 and FEISHU_AUTHORIZE in first.headers["Location"]
    landed = browse(url, stop_at=QUICKSUITE_REDIRECT)
    assert isinstance(landed, str) and query_of(landed)["state"] == state
