"""Signing keys for our access tokens: a local PEM file, or a KMS asymmetric key.

`AUTH_SIGNING_KEY` is either a path (a 2048-bit RSA PEM private key, generated there when
absent: local runs and tests) or `kms:<key arn>` (AWS: an RSA_2048 SIGN_VERIFY key; the private
half never leaves KMS, we call Sign with RSASSA_PKCS1_V1_5_SHA_256 and publish GetPublicKey's
key). Each key's `kid` is its RFC 7638 thumbprint, so a rotation needs no configuration beyond
listing the old key in `AUTH_PREVIOUS_SIGNING_KEYS` until its tokens have expired.
KMS is reached through the stdlib SigV4 client: no boto3 import on the Lambda's cold start.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from joserfc import jwt
from joserfc.jwk import RSAKey

from lark_user_store.sigv4 import AwsApiError, CachedCredentials, call_json_api, endpoint_for


class SigningKeyError(Exception):
    """A signing key could not be loaded or used; the message says what to check."""


class Signer(Protocol):
    kid: str

    def public_jwk(self) -> dict[str, Any]: ...

    def sign_jwt(self, claims: dict[str, Any]) -> str: ...


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _public_jwk(key: RSAKey, kid: str) -> dict[str, Any]:
    """What /jwks publishes for a key: its public half, `kid`, RS256, for signatures."""
    return {**key.as_dict(private=False), "kid": kid, "alg": "RS256", "use": "sig"}


def _jwt_header(kid: str) -> dict[str, str]:
    return {"alg": "RS256", "typ": "JWT", "kid": kid}


class LocalKey:
    """An RSA private key in a PEM file; created (mode 0600) when the file does not exist."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        if not path.exists():
            key = RSAKey.generate_key(2048, private=True)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(key.as_pem(private=True))
        try:
            self._key = RSAKey.import_key(path.read_bytes())
        except (ValueError, TypeError) as exc:
            raise SigningKeyError(
                f"AUTH_SIGNING_KEY={path} is not an RSA private key in PEM ({exc})."
            ) from None
        if not self._key.is_private:
            raise SigningKeyError(
                f"AUTH_SIGNING_KEY={path} holds a public key; it needs the private."
            )
        self.kid = self._key.thumbprint()

    def public_jwk(self) -> dict[str, Any]:
        return _public_jwk(self._key, self.kid)

    def sign_jwt(self, claims: dict[str, Any]) -> str:
        return jwt.encode(_jwt_header(self.kid), claims, self._key)


class KmsKey:
    """An asymmetric KMS key (RSA_2048, SIGN_VERIFY); the public key is fetched once."""

    def __init__(self, arn: str, env: Mapping[str, str] | None = None) -> None:
        parts = arn.split(":")
        if len(parts) < 6 or parts[0] != "arn" or parts[2] != "kms":
            raise SigningKeyError(
                f"AUTH_SIGNING_KEY=kms:{arn} does not name a KMS key ARN "
                "(kms:arn:aws:kms:<region>:<account>:key/<id>)."
            )
        self.arn = arn
        self._region = parts[3]
        self._endpoint = endpoint_for("KMS", "kms", self._region, env)
        self._credentials = CachedCredentials(env)
        der = base64.b64decode(self._call("GetPublicKey", {"KeyId": arn})["PublicKey"])
        from cryptography.hazmat.primitives.serialization import (
            Encoding,
            PublicFormat,
            load_der_public_key,
        )

        pem = load_der_public_key(der).public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        self._public = RSAKey.import_key(pem)
        self.kid = self._public.thumbprint()

    def _call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            return call_json_api(
                endpoint=self._endpoint,
                region=self._region,
                service="kms",
                target=f"TrentService.{action}",
                payload=payload,
                creds=self._credentials.get(),
                content_type="application/x-amz-json-1.1",
            )
        except AwsApiError as exc:
            raise SigningKeyError(
                f"KMS refused {action} on {self.arn} ({exc.kind}: {exc.message}). Check that "
                f"the role may call kms:{action} on this key."
            ) from None
        except OSError as exc:
            raise SigningKeyError(f"Cannot reach KMS for {self.arn}: {exc}") from None

    def public_jwk(self) -> dict[str, Any]:
        return _public_jwk(self._public, self.kid)

    def sign_jwt(self, claims: dict[str, Any]) -> str:
        signing_input = ".".join(
            _b64(json.dumps(part, separators=(",", ":")).encode())
            for part in (_jwt_header(self.kid), claims)
        )
        answer = self._call(
            "Sign",
            {
                "KeyId": self.arn,
                "Message": base64.b64encode(signing_input.encode()).decode(),
                "MessageType": "RAW",
                "SigningAlgorithm": "RSASSA_PKCS1_V1_5_SHA_256",
            },
        )
        return f"{signing_input}.{_b64(base64.b64decode(answer['Signature']))}"


def load_signer(spec: str, env: Mapping[str, str] | None = None) -> Signer:
    """`kms:<arn>` or a PEM path (see the module docstring)."""
    spec = spec.strip()
    if spec.startswith("kms:"):
        return KmsKey(spec.removeprefix("kms:"), env)
    return LocalKey(spec)


def load_previous(specs: str, env: Mapping[str, str] | None = None) -> list[Signer]:
    """Keys still published in /jwks after a rotation (comma-separated `kms:<arn>` or paths)."""
    return [load_signer(s, env) for s in specs.split(",") if s.strip()]
