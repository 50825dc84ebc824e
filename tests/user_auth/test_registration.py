"""Dynamic client registration (RFC 7591) on loopback: the authorization server as a process,
clients that register themselves with plain HTTP and then sign in with Authlib's OAuth client.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from joserfc import jwt
from joserfc.jwk import KeySet

from lark_auth_server.redirects import RedirectPolicy
from lark_auth_server.registration import IDLE_TTL, UNUSED_TTL
from lark_user_store import open_store
from tests.lark_fake import FakeLark

from .harness import MCP_RESOURCE, AuthServerProcess, browse, query_of, start_auth_server

LOOPBACK = "http://127.0.0.1:33418/callback"


@pytest.fixture(scope="module")
def auth_server(
    lark_fake: FakeLark, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AuthServerProcess]:
    """This module's own server: its tests register far more clients from one address than
    the hourly limit lets through (the limit itself is tested on a server of its own)."""
    with start_auth_server(
        lark_fake.base_url,
        lark_fake.app_id,
        lark_fake.app_secret,
        tmp_path_factory.mktemp("auth-registration"),
        AUTH_REGISTRATIONS_PER_HOUR="100000",
        AUTH_REGISTRATIONS_PER_HOUR_TOTAL="100000",
    ) as server:
        yield server


def register(iss: str, **metadata: object) -> requests.Response:
    return requests.post(f"{iss}/register", json=metadata, timeout=5)


def sign_in_as(
    iss: str, client: dict, redirect_uri: str, scope: str | None = None, **extra: str
) -> dict:
    """Authorization code + PKCE with a registered client, through the browser, to a token."""
    session = OAuth2Session(
        client["client_id"],
        client.get("client_secret"),
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method=client["token_endpoint_auth_method"],
        scope=scope,
    )
    verifier = generate_token(64)
    url, state = session.create_authorization_url(
        f"{iss}/authorize", code_verifier=verifier, resource=MCP_RESOURCE, **extra
    )
    landed = browse(url, stop_at=redirect_uri, consent="allow")
    assert isinstance(landed, str), getattr(landed, "text", landed)
    assert query_of(landed)["state"] == state
    token = session.fetch_token(
        f"{iss}/token", authorization_response=landed, state=state, code_verifier=verifier
    )
    token["_session"] = session
    return token


def claims(token: str, iss: str) -> dict:
    keys = KeySet.import_key_set(requests.get(f"{iss}/jwks", timeout=5).json())
    return jwt.decode(token, keys, algorithms=["RS256"]).claims


def test_metadata_advertises_registration_and_public_clients(auth_server: AuthServerProcess):
    iss = auth_server.base
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        meta = requests.get(iss + path, timeout=5).json()
        assert meta["registration_endpoint"] == f"{iss}/register"
        assert "none" in meta["token_endpoint_auth_methods_supported"]
        assert meta["code_challenge_methods_supported"] == ["S256"]
        assert "offline_access" in meta["scopes_supported"]


def test_a_public_client_registers_and_signs_in_on_another_loopback_port(
    lark: FakeLark, auth_server: AuthServerProcess
):
    iss = auth_server.base
    answer = register(
        iss,
        client_name="MCP Python SDK",
        redirect_uris=[LOOPBACK],
        token_endpoint_auth_method="none",
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
    )
    assert answer.status_code == 201, answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    client = answer.json()
    assert client["client_id"] and "client_secret" not in client
    assert client["redirect_uris"] == [LOOPBACK]
    assert client["token_endpoint_auth_method"] == "none"
    assert client["client_name"] == "MCP Python SDK"
    # RFC 8252 §7.3: the app got another free port this time; any port is accepted.
    token = sign_in_as(iss, client, "http://127.0.0.1:50123/callback")
    assert claims(token["access_token"], iss)["client_id"] == client["client_id"]
    assert claims(token["access_token"], iss)["sub"] == "ou_alice"
    session = token["_session"]
    refreshed = session.refresh_token(f"{iss}/token", refresh_token=token["refresh_token"])
    assert claims(refreshed["access_token"], iss)["client_id"] == client["client_id"]
    log = auth_server.log()
    assert f"client registered client={client['client_id']}" in log


def test_a_confidential_client_registers_and_authenticates_with_its_secret(
    lark: FakeLark, auth_server: AuthServerProcess
):
    iss = auth_server.base
    redirect = "https://claude.ai/api/mcp/auth_callback"
    answer = register(iss, client_name="Claude", redirect_uris=[redirect])
    assert answer.status_code == 201, answer.text
    client = answer.json()
    assert client["token_endpoint_auth_method"] == "client_secret_basic"
    assert client["client_secret"] and client["client_secret_expires_at"] == 0
    assert set(client["grant_types"]) == {"authorization_code", "refresh_token"}
    token = sign_in_as(iss, client, redirect, scope="offline_access")
    assert token["scope"] == "offline_access"  # asked for, granted and echoed
    assert claims(token["access_token"], iss)["scope"] == "offline_access"
    # The store holds a digest of the secret, never the secret itself.
    record = open_store(auth_server.store_url).records.get("client#" + client["client_id"])
    assert record is not None and client["client_secret"] not in json.dumps(record.data)
    # Without its secret the client gets nothing.
    wrong = dict(client, client_secret="not-it")
    with pytest.raises(OAuthError) as err:
        sign_in_as(iss, wrong, redirect)
    assert err.value.error == "invalid_client"


def test_a_public_client_cannot_skip_pkce_and_a_confidential_one_cannot_skip_its_secret(
    lark: FakeLark, auth_server: AuthServerProcess
):
    iss = auth_server.base
    public = register(iss, redirect_uris=[LOOPBACK], token_endpoint_auth_method="none").json()
    answer = requests.get(
        f"{iss}/authorize",
        params={
            "response_type": "code",
            "client_id": public["client_id"],
            "redirect_uri": LOOPBACK,
            "state": "s1",
        },
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 302 and query_of(answer.headers["Location"])["error"] == (
        "invalid_request"
    )
    confidential = register(iss, redirect_uris=[LOOPBACK]).json()
    as_public = dict(confidential, token_endpoint_auth_method="none", client_secret=None)
    with pytest.raises(OAuthError) as err:
        sign_in_as(iss, as_public, LOOPBACK)
    assert err.value.error == "invalid_client"


@pytest.mark.parametrize(
    ("metadata", "error", "says"),
    [
        ({"redirect_uris": ["https://evil.example/cb"]}, "invalid_redirect_uri", "evil.example"),
        ({"redirect_uris": ["http://evil.example/cb"]}, "invalid_redirect_uri", "plain http"),
        ({"redirect_uris": ["javascript:alert(1)"]}, "invalid_redirect_uri", "javascript"),
        ({"redirect_uris": ["myapp://cb"]}, "invalid_redirect_uri", "myapp"),
        ({"redirect_uris": ["https://claude.ai/cb#x"]}, "invalid_redirect_uri", "fragment"),
        ({"redirect_uris": ["https://x@claude.ai/cb"]}, "invalid_redirect_uri", "user info"),
        ({"redirect_uris": ["https://claude.ai.evil.example/"]}, "invalid_redirect_uri", "host"),
        ({"redirect_uris": []}, "invalid_redirect_uri", "redirect_uris"),
        ({"client_name": "x"}, "invalid_redirect_uri", "redirect_uris"),
        ({"redirect_uris": "http://127.0.0.1/cb"}, "invalid_client_metadata", "array"),
        ({"redirect_uris": [LOOPBACK] * 11}, "invalid_client_metadata", "at most"),
        ({"redirect_uris": [LOOPBACK], "client_name": {"a": 1}}, "invalid_client_metadata", ""),
        ({"redirect_uris": [LOOPBACK], "client_name": "a\u202egnp.exe"}, "", "U+202E"),
        ({"redirect_uris": [LOOPBACK], "client_name": "x" * 81}, "", "80"),
        ({"redirect_uris": [LOOPBACK], "grant_types": ["implicit"]}, "", "grant_types"),
        ({"redirect_uris": [LOOPBACK], "grant_types": ["refresh_token"]}, "", "grant_types"),
        ({"redirect_uris": [LOOPBACK], "response_types": ["token"]}, "", "response_types"),
        (
            {"redirect_uris": [LOOPBACK], "token_endpoint_auth_method": "private_key_jwt"},
            "",
            "token_endpoint_auth_method",
        ),
        ({"redirect_uris": [LOOPBACK], "scope": "admin"}, "invalid_client_metadata", "scope"),
        ({"redirect_uris": [LOOPBACK], "client_uri": 7}, "invalid_client_metadata", "client_uri"),
        ({"redirect_uris": [LOOPBACK], "logo_uri": "not a url"}, "", "logo_uri"),
    ],
)
def test_a_registration_outside_the_policy_is_refused_with_a_reason(
    auth_server: AuthServerProcess, metadata: dict, error: str, says: str
):
    answer = register(auth_server.base, **metadata)
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["error"] == (error or "invalid_client_metadata")
    assert says in body["error_description"]
    assert "registration refused: " in auth_server.log()


def test_a_body_that_is_not_a_json_object_is_refused(auth_server: AuthServerProcess):
    iss = auth_server.base
    for body, content_type in (
        (b"[]", "application/json"),
        (b"{", "application/json"),
        (b"\xff\xfe", "application/json"),
        (b"redirect_uris=x", "application/x-www-form-urlencoded"),
        (b"{}", "application/json"),
    ):
        answer = requests.post(
            f"{iss}/register", data=body, headers={"Content-Type": content_type}, timeout=5
        )
        assert answer.status_code == 400, (body, answer.text)
        assert answer.json()["error"] == "invalid_client_metadata"
    assert requests.get(f"{iss}/register", timeout=5).status_code == 405


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=8,
)
metadata_keys = st.sampled_from(
    [
        "redirect_uris",
        "client_name",
        "grant_types",
        "response_types",
        "token_endpoint_auth_method",
        "scope",
        "client_uri",
        "logo_uri",
        "contacts",
        "jwks",
        "jwks_uri",
        "software_statement",
    ]
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.dictionaries(metadata_keys, json_values, max_size=5),
    uri=st.sampled_from([LOOPBACK, "https://claude.ai/cb", "cursor://a/b"]) | st.text(max_size=40),
)
def test_generated_registrations_get_an_answer_never_a_server_error(
    auth_server: AuthServerProcess, body: dict, uri: str
):
    body.setdefault("redirect_uris", [uri])
    answer = requests.post(f"{auth_server.base}/register", json=body, timeout=5)
    assert answer.status_code in (201, 400), answer.text
    if answer.status_code == 201:
        policy = RedirectPolicy.parse(None)
        assert all(policy.allows(u) for u in answer.json()["redirect_uris"])


def test_registrations_are_rate_limited_per_source(
    lark: FakeLark, tmp_path_factory: pytest.TempPathFactory
):
    workdir = tmp_path_factory.mktemp("auth-limits")
    with start_auth_server(
        lark.base_url,
        lark.app_id,
        lark.app_secret,
        workdir,
        AUTH_REGISTRATIONS_PER_HOUR="2",
    ) as server:
        # An invalid registration does not use up the budget of honest clients.
        assert register(server.base, redirect_uris=["https://evil.example/"]).status_code == 400
        answers = [register(server.base, redirect_uris=[LOOPBACK]) for _ in range(3)]
        assert [a.status_code for a in answers] == [201, 201, 429]
        assert answers[2].json()["error"] == "temporarily_unavailable"
        assert answers[2].headers["Retry-After"] == "3600"
        assert "reuse the client" in answers[2].json()["error_description"]
        assert "registration refused: temporarily_unavailable" in server.log()


def test_an_admin_policy_replaces_the_defaults(
    lark: FakeLark, tmp_path_factory: pytest.TempPathFactory
):
    workdir = tmp_path_factory.mktemp("auth-policy")
    with start_auth_server(
        lark.base_url,
        lark.app_id,
        lark.app_secret,
        workdir,
        AUTH_REDIRECT_ALLOW="apps.example.com myapp",
    ) as server:
        assert register(server.base, redirect_uris=["https://apps.example.com/cb"]).ok
        assert register(server.base, redirect_uris=["myapp://cb"]).ok
        assert register(server.base, redirect_uris=[LOOPBACK]).ok  # loopback always
        refused = register(server.base, redirect_uris=["https://claude.ai/api/mcp/auth_callback"])
        assert refused.status_code == 400


def test_a_registration_expires_unless_used_and_lives_on_while_used(
    lark: FakeLark, auth_server: AuthServerProcess
):
    iss = auth_server.base
    records = open_store(auth_server.store_url).records
    unused = register(iss, redirect_uris=[LOOPBACK], token_endpoint_auth_method="none").json()
    record = records.get("client#" + unused["client_id"])
    assert record is not None
    assert abs(record.expires_at - (time.time() + UNUSED_TTL)) < 60
    used = register(iss, redirect_uris=[LOOPBACK], token_endpoint_auth_method="none").json()
    sign_in_as(iss, used, LOOPBACK)
    record = records.get("client#" + used["client_id"])
    assert abs(record.expires_at - (time.time() + IDLE_TTL)) < 60
    # Once expired, the client is unknown: no page redirects to it, and /token refuses it.
    records.put("client#" + unused["client_id"], record.data, expires_at=int(time.time()) - 1)
    page = requests.get(
        f"{iss}/authorize",
        params={
            "response_type": "code",
            "client_id": unused["client_id"],
            "redirect_uri": LOOPBACK,
            "code_challenge": "x" * 43,
            "code_challenge_method": "S256",
        },
        allow_redirects=False,
        timeout=5,
    )
    assert page.status_code == 400 and "Location" not in page.headers


def test_openid_gets_an_id_token_for_the_client_with_the_nonce(
    lark: FakeLark, auth_server: AuthServerProcess
):
    iss = auth_server.base
    meta = requests.get(f"{iss}/.well-known/openid-configuration", timeout=5).json()
    assert "openid" in meta["scopes_supported"]
    client = register(iss, redirect_uris=[LOOPBACK], token_endpoint_auth_method="none").json()
    token = sign_in_as(iss, client, LOOPBACK, scope="openid offline_access", nonce="n-0S6_WzA2Mj")
    assert token["scope"] == "openid offline_access"
    id_claims = claims(token["id_token"], iss)
    assert id_claims["iss"] == iss and id_claims["sub"] == "ou_alice"
    assert id_claims["aud"] == client["client_id"] == id_claims["azp"]
    assert id_claims["nonce"] == "n-0S6_WzA2Mj"
    assert id_claims["exp"] - id_claims["iat"] <= 3600
    assert abs(id_claims["auth_time"] - time.time()) < 60
    # Not an access token: its audience is the client, never the MCP server.
    assert id_claims["aud"] != MCP_RESOURCE and "client_id" not in id_claims
    refreshed = token["_session"].refresh_token(
        f"{iss}/token", refresh_token=token["refresh_token"]
    )
    assert claims(refreshed["id_token"], iss)["sub"] == "ou_alice"
    # Without openid there is no ID token.
    plain = sign_in_as(iss, client, LOOPBACK)
    assert "id_token" not in plain and plain["scope"] == ""
