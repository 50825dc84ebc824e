"""Local settings: what a person gets told when a variable is missing or wrong."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from lark_auth_server.config import ConfigError, from_env

CLIENTS = json.dumps([{"client_id": "c", "client_secret": "s", "redirect_uris": ["https://c/cb"]}])


@pytest.fixture
def base(tmp_path: Path) -> dict[str, str]:
    return {
        "AUTH_ISSUER": "http://127.0.0.1:8001/",
        "AUTH_AUDIENCE": "https://gw.example/mcp",
        "LARK_APP_ID": "cli_x",
        "LARK_APP_SECRET": "secret",
        "AUTH_CLIENTS": CLIENTS,
        "USER_TOKEN_STORE": f"sqlite:///{tmp_path}/x/tokens.db",
    }


def test_defaults_and_derived_values(base: dict[str, str], tmp_path: Path):
    settings = from_env({**base, "LARK_USER_SCOPES": "calendar:calendar:readonly"})
    assert settings.issuer == "http://127.0.0.1:8001"
    assert settings.audience == "https://gw.example/mcp"
    assert settings.lark_scopes == ("calendar:calendar:readonly", "offline_access")
    assert settings.accounts == "https://accounts.feishu.cn"
    assert settings.signing_key == f"{tmp_path}/x/signing-key.pem"
    lark = from_env({**base, "LARK_DOMAIN": "https://open.larksuite.com"})
    assert lark.accounts == "https://accounts.larksuite.com"
    assert "secret" not in repr(settings)


def test_the_cookie_key_is_made_once_readable_only_by_its_owner(
    base: dict[str, str], tmp_path: Path
):
    first = from_env(base)
    key_file = tmp_path / "x" / "cookie-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first.cookie_key) == 32
    assert from_env(base).cookie_key == first.cookie_key  # the next start reads the same key
    other = from_env({**base, "AUTH_COOKIE_KEY": str(tmp_path / "elsewhere")})
    assert other.cookie_key != first.cookie_key
    assert first.cookie_key.hex() not in repr(first)


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
        ({"AUTH_AUDIENCE": ""}, "AUTH_AUDIENCE is not set"),
        ({"AUTH_AUDIENCE": "javascript:alert(1)"}, "AUTH_AUDIENCE=javascript"),
        ({"AUTH_REDIRECT_ALLOW": "defaults javascript"}, "AUTH_REDIRECT_ALLOW: 'javascript'"),
        ({"AUTH_REDIRECT_ALLOW": "bad_host.example"}, "AUTH_REDIRECT_ALLOW: 'bad_host"),
        ({"AUTH_REGISTRATIONS_PER_HOUR": "many"}, "AUTH_REGISTRATIONS_PER_HOUR='many'"),
    ],
)
def test_bad_settings_name_the_variable(base: dict[str, str], change: dict[str, str], message: str):
    with pytest.raises(ConfigError, match=message):
        from_env({**base, **change})
