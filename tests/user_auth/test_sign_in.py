"""Sign-in end to end on loopback: Authlib's OAuth client, our authorization server as a real
process, the fake Feishu consent page, and the user-gateway stand-in checking our JWT through
our discovery document (as AgentCore's CUSTOM_JWT authorizer does).
"""

from __future__ import annotations

import base64
import json
import time

import httpx2
import pytest
import requests
from authlib.integrations.base_client.errors import OAuthError
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from lark_auth_server.oauth import digest
from lark_user_store import open_store
from local_gateway import LocalGateway
from mcp_constructs.interceptor.caller_jwt import CALLER_JWT_HEADER
from tests.deploy_checks.local_stack import serve_in_thread
from tests.lark_fake import FakeLark

from .harness import (
    MCP_RESOURCE,
    QUICKSUITE_REDIRECT,
    AuthServerProcess,
    query_of,
    start_sign_in,
)


def _claims(token: str, issuer: str) -> dict:
    keys = KeySet.import_key_set(requests.get(f"{issuer}/jwks", timeout=5).json())
    return jwt.decode(token, keys, algorithms=["RS256"]).claims


def test_metadata_is_served_at_both_well_known_paths(auth_server: AuthServerProcess):
    iss = auth_server.base
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        meta = requests.get(iss + path, timeout=5).json()
        assert meta["issuer"] == iss
        assert meta["authorization_endpoint"] == f"{iss}/authorize"
        assert meta["token_endpoint"] == f"{iss}/token"
        assert meta["jwks_uri"] == f"{iss}/jwks"
        assert meta["code_challenge_methods_supported"] == ["S256"]
        assert set(meta["grant_types_supported"]) == {"authorization_code", "refresh_token"}
        assert set(meta["token_endpoint_auth_methods_supported"]) == {
            "client_secret_basic",
            "client_secret_post",
            "none",  # self-registered public clients (PKCE)
        }
    [key] = requests.get(f"{iss}/jwks", timeout=5).json()["keys"]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["kid"] and "d" not in key


def test_a_person_signs_in_and_the_gateway_forwards_their_jwt(
    lark: FakeLark, auth_server: AuthServerProcess
):
    iss = auth_server.base
    sign_in = start_sign_in(iss)
    # The browser went: /authorize -> Feishu's consent page -> /callback -> back to Quick Suite.
    paths = [r.path for r in lark.requests]
    assert "/open-apis/authen/v1/authorize" in paths
    assert query_of(sign_in.landed)["state"] == sign_in.state
    token = sign_in.fetch(f"{iss}/token")
    assert token["token_type"].lower() == "bearer" and token["expires_in"] <= 3600
    assert token["refresh_token"]

    header = json.loads(base64.urlsafe_b64decode(token["access_token"].split(".")[0] + "=="))
    assert header["alg"] == "RS256" and header["kid"]
    claims = _claims(token["access_token"], iss)
    assert claims["iss"] == iss and claims["sub"] == "ou_alice"
    assert claims["client_id"] == "quicksuite" and claims["aud"] == MCP_RESOURCE
    assert claims["exp"] - claims["iat"] <= 3600 and claims["jti"]
    assert claims["scope"] == ""

    # Feishu was asked for the configured scopes plus offline_access, with PKCE of our own.
    authorize = next(r for r in lark.requests if r.path == "/open-apis/authen/v1/authorize")
    assert authorize.query["scope"].split() == [
        "calendar:calendar:readonly",
        "docs:doc:readonly",
        "offline_access",
    ]
    assert authorize.query["code_challenge_method"] == "S256"
    assert authorize.query["redirect_uri"] == f"{iss}/callback"
    assert authorize.query["state"] != sign_in.state  # our own state, not the client's
    # user_info was called with Alice's user token, and her Lark tokens are in the store.
    info = next(r for r in lark.requests if r.path == "/open-apis/authen/v1/user_info")
    assert info.open_id == "ou_alice"
    stored = open_store(auth_server.store_url).get("ou_alice")
    assert stored is not None and stored.refresh_token and not stored.needs_reauth
    assert "offline_access" in stored.scopes and stored.name == "Alice Wang"
    assert lark.oauth.caller(stored.access_token) == ("ou_alice", None)

    # The user gateway accepts the JWT through our discovery document and forwards it.
    seen: list[dict[str, str]] = []

    async def runtime(request: Request) -> JSONResponse:
        seen.append({k.lower(): v for k, v in request.headers.items()})
        return JSONResponse({"jsonrpc": "2.0", "id": 1, "result": {}})

    with serve_in_thread(Starlette(routes=[Route("/mcp", runtime, methods=["POST"])])) as rt:
        gateway = LocalGateway(
            issuer=iss,
            upstream_url=f"{rt}/mcp",
            audience=MCP_RESOURCE,
            allowed_clients=("quicksuite",),
        )
        with serve_in_thread(gateway.app) as gw:
            body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
            ok = httpx2.post(
                f"{gw}/mcp",
                json=body,
                headers={
                    "Authorization": f"Bearer {token['access_token']}",
                    CALLER_JWT_HEADER: "forged.by.client",
                },
            )
            assert ok.status_code == 200, gateway.refusals
            assert seen[-1][CALLER_JWT_HEADER.lower()] == token["access_token"]
            assert "authorization" not in seen[-1]

            forged = token["access_token"][:-4] + (
                "AAAA" if not token["access_token"].endswith("AAAA") else "BBBB"
            )
            assert (
                httpx2.post(
                    f"{gw}/mcp", json=body, headers={"Authorization": f"Bearer {forged}"}
                ).status_code
                == 401
            )
            assert httpx2.post(f"{gw}/mcp", json=body).status_code == 401
            assert len(seen) == 1  # refused requests never reached the runtime


def test_a_code_works_once_and_its_reuse_revokes_what_it_gave(
    lark: FakeLark, auth_server: AuthServerProcess
):
    iss = auth_server.base
    sign_in = start_sign_in(iss)
    token = sign_in.fetch(f"{iss}/token")
    with pytest.raises(OAuthError) as reuse:
        sign_in.fetch(f"{iss}/token")
    assert reuse.value.error == "invalid_grant"
    with pytest.raises(OAuthError) as refresh:
        sign_in.client.refresh_token(f"{iss}/token", refresh_token=token["refresh_token"])
    assert refresh.value.error == "invalid_grant"  # the family the code started is revoked


def test_a_redirect_uri_not_registered_gets_a_page_and_no_redirect(
    lark: FakeLark, auth_server: AuthServerProcess
):
    sign_in = start_sign_in(auth_server.base, redirect_uri="https://evil.example/cb")
    page = sign_in.landed
    assert isinstance(page, requests.Response) and page.status_code == 400
    assert "Location" not in page.headers
    assert "redirect" in page.text.lower() and "evil.example" in page.text
    assert not [r for r in lark.requests if r.path == "/open-apis/authen/v1/authorize"]


def test_a_token_request_with_another_redirect_uri_fails(
    lark: FakeLark, auth_server: AuthServerProcess
):
    sign_in = start_sign_in(auth_server.base)
    with pytest.raises(OAuthError) as err:
        sign_in.fetch(f"{auth_server.base}/token", redirect_uri="https://other.example/cb")
    assert err.value.error == "invalid_grant"


def test_authorize_without_pkce_or_with_plain_pkce_is_refused_to_the_client(
    lark: FakeLark, auth_server: AuthServerProcess
):
    base = {
        "response_type": "code",
        "client_id": "quicksuite",
        "redirect_uri": QUICKSUITE_REDIRECT,
        "state": "s-123",
    }
    for extra in ({}, {"code_challenge": "x" * 43, "code_challenge_method": "plain"}):
        answer = requests.get(
            f"{auth_server.base}/authorize",
            params={**base, **extra},
            allow_redirects=False,
            timeout=5,
        )
        assert answer.status_code == 302
        location = answer.headers["Location"]
        assert location.startswith(QUICKSUITE_REDIRECT)
        assert query_of(location)["error"] == "invalid_request"
        assert query_of(location)["state"] == "s-123"
    assert not [r for r in lark.requests if r.path == "/open-apis/authen/v1/authorize"]


def test_a_missing_or_wrong_code_verifier_fails(lark: FakeLark, auth_server: AuthServerProcess):
    iss = auth_server.base
    missing = start_sign_in(iss)
    with pytest.raises(OAuthError) as err:
        missing.client.fetch_token(
            f"{iss}/token", authorization_response=missing.landed, state=missing.state
        )
    assert err.value.error == "invalid_request"
    wrong = start_sign_in(iss)
    with pytest.raises(OAuthError) as err:
        wrong.fetch(f"{iss}/token", code_verifier="w" * 64)
    assert err.value.error == "invalid_grant"
    # A wrong verifier (someone who intercepted the code) does not burn it for its client.
    assert wrong.fetch(f"{iss}/token")["access_token"]


def test_an_expired_code_fails(lark: FakeLark, auth_server: AuthServerProcess):
    sign_in = start_sign_in(auth_server.base)
    records = open_store(auth_server.store_url).records
    key = "code#" + digest(sign_in.code)
    issued = records.get(key)
    assert issued is not None and issued.expires_at - time.time() <= 300
    records.put(key, issued.data, expires_at=int(time.time()) - 1)  # its 5 minutes are over
    with pytest.raises(OAuthError) as err:
        sign_in.fetch(f"{auth_server.base}/token")
    assert err.value.error == "invalid_grant"


def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_family(
    lark: FakeLark, auth_server: AuthServerProcess
):
    iss = auth_server.base
    sign_in = start_sign_in(iss)
    first = sign_in.fetch(f"{iss}/token")
    second = sign_in.client.refresh_token(f"{iss}/token", refresh_token=first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    assert _claims(second["access_token"], iss)["sub"] == "ou_alice"
    assert _claims(second["access_token"], iss)["aud"] == MCP_RESOURCE
    third = sign_in.client.refresh_token(f"{iss}/token", refresh_token=second["refresh_token"])
    # `first`'s successor has been used: presenting `first` again is a replay.
    with pytest.raises(OAuthError) as reuse:
        sign_in.client.refresh_token(f"{iss}/token", refresh_token=first["refresh_token"])
    assert reuse.value.error == "invalid_grant"
    with pytest.raises(OAuthError) as family:  # the newest one died with its family
        sign_in.client.refresh_token(f"{iss}/token", refresh_token=third["refresh_token"])
    assert family.value.error == "invalid_grant"


def test_refresh_fails_when_the_lark_sign_in_has_ended(
    lark: FakeLark, auth_server: AuthServerProcess
):
    iss = auth_server.base
    sign_in = start_sign_in(iss)
    token = sign_in.fetch(f"{iss}/token")
    store = open_store(auth_server.store_url)
    assert store.mark_needs_reauth(store.get("ou_alice"))  # Lark refused its refresh token
    with pytest.raises(OAuthError) as err:
        sign_in.client.refresh_token(f"{iss}/token", refresh_token=token["refresh_token"])
    assert err.value.error == "invalid_grant"
    assert "sign in again" in (err.value.description or "")

    again = start_sign_in(iss).fetch(f"{iss}/token")  # signing in again works at once
    store.delete("ou_alice")  # and when the Lark tokens are gone altogether, refresh fails too
    with pytest.raises(OAuthError) as gone:
        sign_in.client.refresh_token(f"{iss}/token", refresh_token=again["refresh_token"])
    assert gone.value.error == "invalid_grant"


def test_a_person_feishu_refuses_sees_why_in_plain_words(
    lark: FakeLark, auth_server: AuthServerProcess
):
    lark.oauth.signed_in = "ou_frank"
    lark.oauth.no_access = {"ou_frank"}
    sign_in = start_sign_in(auth_server.base)
    page = sign_in.landed
    assert isinstance(page, requests.Response) and page.status_code == 403
    assert "Location" not in page.headers
    assert "does not have access" in page.text and "administrator" in page.text
    assert open_store(auth_server.store_url).get("ou_frank") is None


def test_a_person_who_declines_consent_sees_it_and_can_go_back(
    lark: FakeLark, auth_server: AuthServerProcess
):
    lark.oauth.deny_consent = True
    sign_in = start_sign_in(auth_server.base)
    page = sign_in.landed
    assert isinstance(page, requests.Response) and page.status_code == 403
    assert "did not allow" in page.text
    assert "error=access_denied" in page.text and sign_in.state in page.text


def test_a_used_sign_in_link_says_it_expired(lark: FakeLark, auth_server: AuthServerProcess):
    """The browser that finished a sign-in replays its /callback, cookie and all: refused."""
    iss = auth_server.base
    sign_in = start_sign_in(iss, stop_at=f"{iss}/callback")
    callback = sign_in.landed
    assert isinstance(callback, str)
    cookies = sign_in.browser.cookies.get_dict()
    first = sign_in.browser.get(callback, allow_redirects=False, timeout=5)
    assert first.status_code == 302 and first.headers["Location"].startswith(QUICKSUITE_REDIRECT)
    assert not sign_in.browser.cookies.get_dict()  # the sign-in cookie was cleared
    again = requests.get(callback, cookies=cookies, allow_redirects=False, timeout=5)
    assert again.status_code == 400 and "expired" in again.text
    assert "Location" not in again.headers


def test_wrong_client_secret_or_unknown_client(lark: FakeLark, auth_server: AuthServerProcess):
    iss = auth_server.base
    sign_in = start_sign_in(iss)
    sign_in.client.client_secret = "not-the-secret"
    with pytest.raises(OAuthError) as err:
        sign_in.fetch(f"{iss}/token")
    assert err.value.error == "invalid_client"
    page = requests.get(
        f"{iss}/authorize",
        params={
            "response_type": "code",
            "client_id": "nobody",
            "redirect_uri": QUICKSUITE_REDIRECT,
        },
        allow_redirects=False,
        timeout=5,
    )
    assert page.status_code == 400 and "Location" not in page.headers


def test_the_gateway_refuses_a_token_of_a_client_it_does_not_allow(
    lark: FakeLark, auth_server: AuthServerProcess
):
    iss = auth_server.base
    token = start_sign_in(
        iss, client_id="other-app", redirect_uri="https://other.example/callback"
    ).fetch(f"{iss}/token")
    gateway = LocalGateway(
        issuer=iss,
        upstream_url="http://127.0.0.1:9/mcp",
        audience=MCP_RESOURCE,
        allowed_clients=("quicksuite",),
    )
    with serve_in_thread(gateway.app) as gw:
        answer = httpx2.post(
            f"{gw}/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )
    assert answer.status_code == 401 and gateway.refusals == ["client is not allowed"]


def test_no_token_code_or_secret_reaches_the_log(lark: FakeLark, auth_server: AuthServerProcess):
    iss = auth_server.base
    sign_in = start_sign_in(iss)
    token = sign_in.fetch(f"{iss}/token")
    refreshed = sign_in.client.refresh_token(f"{iss}/token", refresh_token=token["refresh_token"])
    stored = open_store(auth_server.store_url).get("ou_alice")
    log = auth_server.log()
    assert "signed in open_id=ou_alice" in log
    for secret in (
        sign_in.code,
        token["access_token"],
        token["refresh_token"],
        refreshed["refresh_token"],
        stored.access_token,
        stored.refresh_token,
        lark.app_secret,
        "quicksuite-secret",
    ):
        assert secret not in log
