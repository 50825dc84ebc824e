"""Local settings: what a person gets told when a variable is missing or wrong."""

from __future__ import annotations

import json

import pytest

from lark_auth_server.config import ConfigError, from_env

CLIENTS = json.dumps([{"client_id": "c", "client_secret": "s", "redirect_uris": ["https://c/cb"]}])
BASE = {
    "AUTH_ISSUER": "http://127.0.0.1:8001/",
    "LARK_APP_ID": "cli_x",
    "LARK_APP_SECRET": "secret",
    "AUTH_CLIENTS": CLIENTS,
    "USER_TOKEN_STORE": "sqlite:////tmp/x/tokens.db",
}


def test_defaults_and_derived_values():
    settings = from_env({**BASE, "LARK_USER_SCOPES": "calendar:calendar:readonly"})
    assert settings.issuer == "http://127.0.0.1:8001"
    assert settings.lark_scopes == ("calendar:calendar:readonly", "offline_access")
    assert settings.accounts == "https://accounts.feishu.cn"
    assert settings.signing_key == "/tmp/x/signing-key.pem"
    lark = from_env({**BASE, "LARK_DOMAIN": "https://open.larksuite.com"})
    assert lark.accounts == "https://accounts.larksuite.com"
    assert "secret" not in repr(settings)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"LARK_APP_ID": ""}, "LARK_APP_ID is not set"),
        ({"AUTH_CLIENTS": "[]"}, "lists no client"),
        ({"AUTH_CLIENTS": '[{"client_id": "c"}]'}, "JSON list of"),
        (
            {"AUTH_CLIENTS": '[{"client_id": "c", "client_secret": "s", "redirect_uris": "x"}]'},
            "list of URLs",
        ),
        ({"AUTH_ISSUER": "http://auth.example.com"}, "must be an https:// URL"),
        ({"AUTH_ISSUER": ""}, "AUTH_ISSUER is not set"),
        ({"AUTH_REDIRECT_ALLOW": "defaults javascript"}, "AUTH_REDIRECT_ALLOW: 'javascript'"),
        ({"AUTH_REDIRECT_ALLOW": "bad_host.example"}, "AUTH_REDIRECT_ALLOW: 'bad_host"),
        ({"AUTH_REGISTRATIONS_PER_HOUR": "many"}, "AUTH_REGISTRATIONS_PER_HOUR='many'"),
    ],
)
def test_bad_settings_name_the_variable(change: dict[str, str], message: str):
    with pytest.raises(ConfigError, match=message):
        from_env({**BASE, **change})
