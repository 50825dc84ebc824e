"""The fake's Feishu OAuth over loopback HTTP, as the authorization server meets it."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

from .fake import FakeLark
from .oauth import issue_user_tokens
from .runner import run_fake_lark

REDIRECT = "https://auth.example/callback"
VERIFIER = "v" * 50
TOKEN = "/open-apis/authen/v2/oauth/token"


@pytest.fixture
def lark() -> Iterator[FakeLark]:
    with run_fake_lark(FakeLark()) as fake:
        yield fake


@pytest.fixture
def http(lark: FakeLark) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=lark.base_url, timeout=10) as client:
        yield client


def _challenge(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


def _authorize(http: httpx2.Client, lark: FakeLark, scope: str = "offline_access") -> dict:
    answer = http.get(
        "/open-apis/authen/v1/authorize",
        params={
            "client_id": lark.app_id,
            "redirect_uri": REDIRECT,
            "scope": scope,
            "state": "st",
            "code_challenge": _challenge(VERIFIER),
            "code_challenge_method": "S256",
        },
    )
    assert answer.status_code in (302, 307), answer.text
    location = answer.headers["location"]
    assert location.startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _exchange(http: httpx2.Client, lark: FakeLark, code: str, **changes: str) -> httpx2.Response:
    body = {
        "grant_type": "authorization_code",
        "client_id": lark.app_id,
        "client_secret": lark.app_secret,
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": VERIFIER,
        **changes,
    }
    return http.post(TOKEN, json=body)


def test_consent_code_token_and_user_info(http: httpx2.Client, lark: FakeLark):
    back = _authorize(http, lark, "calendar:calendar:readonly offline_access")
    assert back["state"] == "st"
    token = _exchange(http, lark, back["code"]).json()
    assert token["code"] == 0 and token["access_token"].startswith("u-")
    assert token["refresh_token"] and token["refresh_token_expires_in"] > 0
    assert token["scope"] == "calendar:calendar:readonly offline_access"
    info = http.get(
        "/open-apis/authen/v1/user_info",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    ).json()
    assert info["data"]["open_id"] == "ou_alice" and info["data"]["name"] == "Alice Wang"


def test_codes_are_single_use_expire_and_check_pkce(http: httpx2.Client, lark: FakeLark):
    code = _authorize(http, lark)["code"]
    assert _exchange(http, lark, code).json()["code"] == 0
    reused = _exchange(http, lark, code)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"

    code = _authorize(http, lark)["code"]
    assert _exchange(http, lark, code, code_verifier="x" * 50).json()["code"] == 20049

    code = _authorize(http, lark)["code"]
    assert _exchange(http, lark, code, redirect_uri="https://other/cb").json()["code"] == 20003

    code = _authorize(http, lark)["code"]
    lark.oauth.advance(301)
    assert _exchange(http, lark, code).json()["code"] == 20004


def test_no_refresh_token_without_offline_access(http: httpx2.Client, lark: FakeLark):
    token = _exchange(http, lark, _authorize(http, lark, "calendar:calendar:readonly")["code"])
    assert token.json()["code"] == 0 and "refresh_token" not in token.json()


def test_refresh_tokens_rotate_and_work_once(http: httpx2.Client, lark: FakeLark):
    first = _exchange(http, lark, _authorize(http, lark)["code"]).json()
    body = {
        "grant_type": "refresh_token",
        "client_id": lark.app_id,
        "client_secret": lark.app_secret,
    }
    second = http.post(TOKEN, json={**body, "refresh_token": first["refresh_token"]}).json()
    assert second["code"] == 0 and second["refresh_token"] != first["refresh_token"]
    again = http.post(TOKEN, json={**body, "refresh_token": first["refresh_token"]}).json()
    assert again["code"] == 20064 and again["error"] == "invalid_grant"
    assert lark.oauth.refreshes == 1


def test_a_user_without_access_gets_20010_and_consent_can_be_denied(
    http: httpx2.Client, lark: FakeLark
):
    lark.oauth.signed_in = "ou_frank"
    lark.oauth.no_access = {"ou_frank"}
    refused = _exchange(http, lark, _authorize(http, lark)["code"]).json()
    assert refused["code"] == 20010
    lark.oauth.deny_consent = True
    assert _authorize(http, lark) == {"error": "access_denied", "state": "st"}


def test_openapi_calls_with_a_user_token_are_recorded_as_that_user(
    http: httpx2.Client, lark: FakeLark
):
    lark.oauth.signed_in = "ou_bob"
    token = _exchange(http, lark, _authorize(http, lark)["code"]).json()["access_token"]
    lark.requests.clear()
    ok = http.get("/open-apis/im/v1/chats", headers={"Authorization": f"Bearer {token}"})
    assert ok.json()["code"] == 0
    assert [(r.path, r.open_id) for r in lark.requests] == [("/open-apis/im/v1/chats", "ou_bob")]
    lark.oauth.advance(7201)
    expired = http.get("/open-apis/im/v1/chats", headers={"Authorization": f"Bearer {token}"})
    assert expired.json()["code"] == 99991677
    unknown = http.get("/open-apis/im/v1/chats", headers={"Authorization": "Bearer u-forged"})
    assert unknown.json()["code"] == 99991668
    tenant = http.post(
        "/open-apis/auth/v3/tenant_access_token/internal",
        json={"app_id": lark.app_id, "app_secret": lark.app_secret},
    ).json()["tenant_access_token"]
    as_bot = http.get("/open-apis/im/v1/chats", headers={"Authorization": f"Bearer {tenant}"})
    assert as_bot.json()["code"] == 0 and lark.requests[-1].open_id is None


def test_issued_user_tokens_work_without_the_browser(http: httpx2.Client, lark: FakeLark):
    issued = issue_user_tokens(lark, "ou_carol", access_ttl=60)
    assert issued["expires_in"] == 60 and issued["refresh_token"].startswith("ur-")
    me = http.get(
        "/open-apis/authen/v1/user_info",
        headers={"Authorization": f"Bearer {issued['access_token']}"},
    ).json()
    assert me["data"]["open_id"] == "ou_carol"
