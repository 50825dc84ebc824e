"""Sign-in safety on loopback, as an attacker would try it: the Feishu leg bound to the browser
that started it, tokens bound to one audience, RFC 9207 `iss` on every authorization response,
the page headers, and no store write for a sign-in that never comes back.
"""

from __future__ import annotations

import sqlite3
from urllib.parse import urlencode

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from lark_user_store import open_store
from tests.lark_fake import FakeLark

from .harness import (
    CLIENTS,
    MCP_RESOURCE,
    QUICKSUITE_REDIRECT,
    AuthServerProcess,
    SignIn,
    browse,
    query_of,
    start_sign_in,
)
from .test_sign_in import _claims


def _rows(auth_server: AuthServerProcess) -> int:
    path = auth_server.store_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        return db.execute("SELECT count(*) FROM records").fetchone()[0]


def test_a_sign_in_started_by_an_attacker_cannot_be_finished_by_the_victim(
    lark: FakeLark, auth_server: AuthServerProcess
):
    """Login CSRF (RFC 9700 4.7): the attacker starts a flow with the client's own parameters
    and sends the Feishu link to a victim; the victim's browser has no sign-in cookie."""
    iss = auth_server.base
    attacker = start_sign_in(iss, stop_at=lark.base_url)  # stops at Feishu's page
    feishu_link = attacker.landed
    assert isinstance(feishu_link, str)
    assert attacker.browser.cookies.get_dict()  # the attacker's browser holds the binding

    lark.oauth.signed_in = "ou_bob"  # the victim, signed in to Feishu in their own browser
    victim = requests.Session()
    callback = victim.get(feishu_link, allow_redirects=False, timeout=5).headers["Location"]
    assert callback.startswith(f"{iss}/callback")
    page = victim.get(callback, allow_redirects=False, timeout=5)
    assert page.status_code == 400 and "Location" not in page.headers
    assert "started in another browser" in page.text and "code=" not in page.text
    # Feishu's code was never redeemed: no Lark token of the victim was fetched or stored.
    assert not [r for r in lark.requests if r.path == "/open-apis/authen/v2/oauth/token"]
    assert open_store(auth_server.store_url).get("ou_bob") is None


def test_the_cookie_is_http_only_same_site_lax_and_plain_on_a_local_http_issuer(
    lark: FakeLark, auth_server: AuthServerProcess
):
    started = start_sign_in(auth_server.base, stop_at=lark.base_url)
    [cookie] = list(started.browser.cookies)
    assert cookie.name.startswith("lark_signin_")  # no __Host- prefix over plain http
    assert not cookie.secure and cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.path == "/"
    raw = requests.get(
        f"{auth_server.base}/authorize?" + _authorize_query(), allow_redirects=False, timeout=5
    ).headers["Set-Cookie"]
    assert raw.endswith("Path=/; HttpOnly; SameSite=Lax") and "Max-Age=600" in raw


def _authorize_query(**change: str) -> str:
    params = {
        "response_type": "code",
        "client_id": "quicksuite",
        "redirect_uri": QUICKSUITE_REDIRECT,
        "state": "client-state",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
        "resource": MCP_RESOURCE,
        **change,
    }
    return urlencode({k: v for k, v in params.items() if v is not None})


def test_an_anonymous_authorize_that_never_comes_back_writes_nothing(
    lark: FakeLark, auth_server: AuthServerProcess
):
    before = _rows(auth_server)
    for _ in range(20):
        answer = requests.get(
            f"{auth_server.base}/authorize?" + _authorize_query(),
            allow_redirects=False,
            timeout=5,
        )
        assert answer.status_code == 302 and answer.headers["Location"].startswith(lark.base_url)
    assert _rows(auth_server) == before


@pytest.mark.parametrize(
    "resource",
    ["https://evil.example/mcp", "javascript:alert(1)", MCP_RESOURCE + "/other", "x"],
)
def test_a_resource_other_than_the_audience_is_invalid_target(
    lark: FakeLark, auth_server: AuthServerProcess, resource: str
):
    answer = requests.get(
        f"{auth_server.base}/authorize?" + _authorize_query(resource=resource),
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 302
    back = query_of(answer.headers["Location"])
    assert answer.headers["Location"].startswith(QUICKSUITE_REDIRECT)
    assert back["error"] == "invalid_target" and back["state"] == "client-state"
    assert back["iss"] == auth_server.base
    assert "Set-Cookie" not in answer.headers


@pytest.mark.parametrize("resource", [MCP_RESOURCE, MCP_RESOURCE + "/", None])
def test_every_token_is_for_the_audience(
    lark: FakeLark, auth_server: AuthServerProcess, resource: str | None
):
    iss = auth_server.base
    sign_in = start_sign_in(iss, resource=resource) if resource else _without_resource(iss)
    landed = query_of(sign_in.landed)
    assert landed["iss"] == iss  # RFC 9207 on the success response
    token = sign_in.fetch(f"{iss}/token")
    assert _claims(token["access_token"], iss)["aud"] == MCP_RESOURCE
    refreshed = sign_in.client.refresh_token(
        f"{iss}/token", refresh_token=token["refresh_token"], resource=MCP_RESOURCE
    )
    assert _claims(refreshed["access_token"], iss)["aud"] == MCP_RESOURCE
    with pytest.raises(OAuthError) as refused:
        sign_in.client.refresh_token(
            f"{iss}/token",
            refresh_token=refreshed["refresh_token"],
            resource="https://evil.example/mcp",
        )
    assert refused.value.error == "invalid_target"
    # ... and that refusal did not spend the refresh token.
    again = sign_in.client.refresh_token(f"{iss}/token", refresh_token=refreshed["refresh_token"])
    assert _claims(again["access_token"], iss)["aud"] == MCP_RESOURCE


def _without_resource(iss: str) -> SignIn:
    client = OAuth2Session(
        "quicksuite",
        CLIENTS[0]["client_secret"],
        redirect_uri=QUICKSUITE_REDIRECT,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    verifier = generate_token(64)
    url, state = client.create_authorization_url(f"{iss}/authorize", code_verifier=verifier)
    browser = requests.Session()
    return SignIn(
        client, verifier, state, browse(url, QUICKSUITE_REDIRECT, browser=browser), browser
    )


def test_metadata_advertises_the_iss_parameter(auth_server: AuthServerProcess):
    meta = requests.get(f"{auth_server.base}/.well-known/oauth-authorization-server", timeout=5)
    assert meta.json()["authorization_response_iss_parameter_supported"] is True


def test_an_error_redirect_carries_iss(lark: FakeLark, auth_server: AuthServerProcess):
    answer = requests.get(
        f"{auth_server.base}/authorize?" + _authorize_query(code_challenge_method="plain"),
        allow_redirects=False,
        timeout=5,
    )
    back = query_of(answer.headers["Location"])
    assert back["error"] == "invalid_request" and back["iss"] == auth_server.base


def test_declining_at_feishu_links_back_with_iss(lark: FakeLark, auth_server: AuthServerProcess):
    lark.oauth.deny_consent = True
    page = start_sign_in(auth_server.base).landed
    assert isinstance(page, requests.Response)
    assert f"iss={requests.utils.quote(auth_server.base, safe='')}" in page.text


@pytest.mark.parametrize(
    "path",
    ["/authorize?client_id=nobody", "/callback?state=x&code=y", "/jwks", "/token", "/nowhere"],
)
def test_every_answer_forbids_framing_sniffing_and_referrers(
    auth_server: AuthServerProcess, path: str
):
    answer = requests.get(auth_server.base + path, allow_redirects=False, timeout=5)
    assert answer.headers["Content-Security-Policy"] == "frame-ancestors 'none'"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
