"""Signing keys: a local PEM generated once and kept, KMS keys refused with a clear message,
and a rotated-out key still published until its tokens expire."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from lark_auth_server.config import Client, Settings
from lark_auth_server.core import AuthServer, HttpRequest
from lark_auth_server.keys import LocalKey, SigningKeyError, load_previous, load_signer
from lark_user_store import open_store


def test_a_local_key_is_generated_private_and_kept(tmp_path: Path):
    path = tmp_path / "keys" / "signing-key.pem"
    first = LocalKey(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_signer(str(path))
    assert again.kid == first.kid  # the same key on the next start, so issued tokens stay valid
    token = again.sign_jwt({"sub": "ou_alice"})
    claims = jwt.decode(token, KeySet.import_key_set({"keys": [first.public_jwk()]})).claims
    assert claims == {"sub": "ou_alice"}


def test_unusable_keys_say_what_is_wrong(tmp_path: Path):
    with pytest.raises(SigningKeyError, match="KMS key ARN"):
        load_signer("kms:not-an-arn")
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    with pytest.raises(SigningKeyError, match="not an RSA private key"):
        load_signer(str(bad))


def test_jwks_keeps_a_rotated_out_key(tmp_path: Path):
    old = LocalKey(tmp_path / "old.pem")
    new = LocalKey(tmp_path / "new.pem")
    server = AuthServer(
        Settings(
            lark_domain="https://open.feishu.cn",
            app_id="cli_x",
            app_secret="s",
            clients={"c": Client("c", "secret", ("https://c.example/cb",))},
            store_url=f"sqlite:///{tmp_path}/t.db",
            signing_key=str(tmp_path / "new.pem"),
            issuer="https://auth.example",
        ),
        open_store(f"sqlite:///{tmp_path}/t.db"),
        new,
        load_previous(f"{tmp_path / 'old.pem'}, {tmp_path / 'new.pem'}"),
    )
    answer = server.handle(HttpRequest("GET", "/jwks", issuer="https://auth.example"))
    kids = [k["kid"] for k in __import__("json").loads(answer.body)["keys"]]
    assert kids == [new.kid, old.kid]
