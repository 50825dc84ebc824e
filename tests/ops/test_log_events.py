"""The log lines the Monitoring stack counts (its metric filters match their `event` field),
emitted by real local runs: `python -m lark_auth_server` behind the fake Feishu, and
`python -m lark_mcp_server` with user sign-in on.

Deployed, the same records reach CloudWatch as JSON objects with the `extra` fields on top (the
authorization server's Lambda uses Lambda's JSON log format; the MCP server writes JSON lines).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
from authlib.integrations.base_client.errors import OAuthError

from mcp_constructs.interceptor.caller_jwt import CALLER_JWT_HEADER
from tests.lark_fake import FakeLark
from tests.server.harness import call, error_text, run_server, server_env
from tests.user_auth.harness import AuthServerProcess, start_auth_server, start_sign_in


def events(log: str) -> list[dict[str, Any]]:
    """Every JSON log line that carries an `event`."""
    found = []
    for line in log.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and "event" in entry:
            found.append(entry)
    return found


@pytest.fixture
def auth_server(fresh_lark: FakeLark, tmp_path: Path):
    with start_auth_server(
        fresh_lark.base_url, fresh_lark.app_id, fresh_lark.app_secret, tmp_path
    ) as server:
        yield server


def test_the_auth_server_logs_sign_ins_and_refusals_as_events(
    fresh_lark: FakeLark, auth_server: AuthServerProcess
):
    iss = auth_server.base
    sign_in = start_sign_in(iss)
    first = sign_in.fetch(f"{iss}/token")
    second = sign_in.client.refresh_token(f"{iss}/token", refresh_token=first["refresh_token"])
    sign_in.client.refresh_token(f"{iss}/token", refresh_token=second["refresh_token"])
    with pytest.raises(OAuthError):  # a spent token, long after its successor was used
        sign_in.client.refresh_token(f"{iss}/token", refresh_token=first["refresh_token"])

    fresh_lark.oauth.no_access.add("ou_alice")  # Feishu: this person may not use the app
    refused = start_sign_in(iss)
    assert not isinstance(refused.landed, str) and refused.landed.status_code == 403

    logged = events(auth_server.log())
    assert [e["event"] for e in logged] == ["sign_in", "refresh_refused", "sign_in_refused"]
    signed_in, refresh, no_access = logged
    assert "ou_alice" in signed_in["message"] and signed_in["level"] == "INFO"
    assert refresh["reason"] == "refresh token reused"
    assert no_access["reason"] == "lark_20010"
    for entry in logged:  # the layout Lambda's JSON log format gives the deployed server
        assert {"timestamp", "level", "message", "logger"} <= set(entry)


def test_the_mcp_server_logs_each_person_asked_to_reconnect(lark_fake: FakeLark, tmp_path: Path):
    env = server_env(
        lark_fake.base_url,
        LARK_USER_AUTH_ISSUER="http://127.0.0.1:9",  # never reached: the token is no JWT
        LARK_USER_AUTH_CLIENTS="quicksuite",
        LARK_USER_AUTH_AUDIENCE="https://gateway.example/mcp",
        USER_TOKEN_STORE=f"sqlite:///{tmp_path / 'tokens.db'}",
    )
    with run_server(env) as server:
        result = call(server, "list_chats", {}, headers={CALLER_JWT_HEADER: "not-a-jwt"})
        assert "reconnect" in error_text(result).lower()
        output = server.output()
    logged = events(output)
    assert len(logged) == 1
    assert logged[0]["event"] == "reconnect_required"
    assert logged[0]["tool"] == "list_chats" and logged[0]["status"] == "sign_in_required"
    assert "not-a-jwt" not in output


def test_the_auth_server_logs_registrations_as_events(auth_server: AuthServerProcess):
    iss = auth_server.base
    client = {
        "client_name": "A notebook",
        "redirect_uris": ["http://127.0.0.1:5000/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    }
    assert httpx2.post(f"{iss}/register", json=client, timeout=10).status_code == 201
    outside = {**client, "redirect_uris": ["https://collector.example/callback"]}
    assert httpx2.post(f"{iss}/register", json=outside, timeout=10).status_code == 400
    logged = events(auth_server.log())
    assert [e["event"] for e in logged] == ["client_registered", "registration_refused"]
