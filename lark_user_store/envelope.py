"""Envelope encryption of the Lark tokens in the store, field by field.

Each person's record carries its own data key, wrapped: by KMS in AWS (`GenerateDataKey` /
`Decrypt` with the encryption context `{"open_id": <open_id>}`, so a wrapped key decrypts only
for the person it was made for, and CloudTrail names that person on every use), or locally by a
key file beside the SQLite file (mode 0600). Each token is sealed with AES-256-GCM from
`cryptography` (a maintained implementation, not ours), a fresh 96-bit nonce per field, and the
open_id and field name as associated data, so a sealed value copied to another person or
another field does not open. Plaintext data keys stay in memory for a few minutes only (one
KMS call per person per few minutes, not one per read). This sits on top of the table's own
encryption at rest: someone who can read items still cannot read tokens without the key.

`cryptography` is imported on first use: a bot-only server never loads it.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from .records import StoreError

FORMAT = 1  # the `sealed` object's version
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
CACHE_SECONDS = 300.0  # how long a plaintext data key is kept in memory
_CACHE_SIZE = 1024  # data keys kept at most (people served recently)


class WrongKey(StoreError):
    """A wrapped data key does not open for this person with this key."""


class DataKeys(Protocol):
    """Makes and unwraps per-person data keys (KMS in AWS, a key file locally)."""

    name: str  # what the wrapped keys are wrapped with (an error names it)

    def generate(self, open_id: str) -> tuple[bytes, bytes]:
        """A new data key for `open_id`: (plaintext, wrapped)."""
        ...

    def unwrap(self, open_id: str, wrapped: bytes) -> bytes:
        """The plaintext of a key `generate(open_id)` wrapped; `WrongKey` if it does not open
        (wrapped for someone else or with another key), StoreError if the keys are out of
        reach."""
        ...


def _aead(key: bytes) -> Any:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key)


def _invalid_tag() -> type[Exception]:
    from cryptography.exceptions import InvalidTag

    return InvalidTag


class KmsDataKeys:
    """Data keys from a KMS key (`GenerateDataKey` / `Decrypt` through our SigV4 client)."""

    def __init__(self, key_id: str, env: Mapping[str, str] | None = None) -> None:
        from .sigv4 import CachedCredentials, endpoint_for

        env = os.environ if env is None else env
        parts = key_id.split(":")
        region = (
            parts[3]
            if key_id.startswith("arn:") and len(parts) > 3
            else env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        )
        if not region:
            raise StoreError(f"kms_key={key_id} needs AWS_REGION (or a key ARN).")
        self.name = f"KMS key {key_id}"
        self.key_id = key_id
        self._region = region
        self._endpoint = endpoint_for("KMS", "kms", region, env)
        self._credentials = CachedCredentials(env)

    def _call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        from .sigv4 import AwsApiError, CredentialsError, call_json_api

        try:
            return call_json_api(
                endpoint=self._endpoint,
                region=self._region,
                service="kms",
                target=f"TrentService.{action}",
                payload={"KeyId": self.key_id, **payload},
                creds=self._credentials.get(),
                content_type="application/x-amz-json-1.1",
            )
        except AwsApiError as exc:
            if exc.kind == "InvalidCiphertextException":
                raise WrongKey(f"KMS: {exc.kind}") from None
            raise StoreError(
                f"KMS refused {action} with {self.key_id} ({exc.kind}: {exc.message}). Check "
                f"that the role may call kms:{action} on the token store's key."
            ) from None
        except CredentialsError as exc:
            raise StoreError(f"Cannot reach KMS for {self.key_id}: {exc}.") from None
        except (OSError, ValueError) as exc:
            raise StoreError(f"Cannot reach KMS for {self.key_id}: {exc}") from None

    def generate(self, open_id: str) -> tuple[bytes, bytes]:
        answer = self._call(
            "GenerateDataKey", {"KeySpec": "AES_256", "EncryptionContext": {"open_id": open_id}}
        )
        return base64.b64decode(answer["Plaintext"]), base64.b64decode(answer["CiphertextBlob"])

    def unwrap(self, open_id: str, wrapped: bytes) -> bytes:
        answer = self._call(
            "Decrypt",
            {
                "CiphertextBlob": base64.b64encode(wrapped).decode(),
                "EncryptionContext": {"open_id": open_id},
            },
        )
        return base64.b64decode(answer["Plaintext"])


class FileDataKeys:
    """Data keys wrapped (AES-GCM, the open_id as associated data) by a key in a local file.

    The file holds 32 random bytes, base64; it is created on first use with mode 0600, by
    whichever local process gets there first (the auth server and the MCP server share it).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.name = f"key file {self.path}"
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def _master(self) -> bytes:
        with self._lock:
            if self._key is None:
                self._key = self._load_or_create()
            return self._key

    def _load_or_create(self) -> bytes:
        try:
            if not self.path.exists():
                self._create()
            if self.path.stat().st_mode & 0o077:
                os.chmod(self.path, 0o600)  # an older or hand-made file: make it private
            key = base64.b64decode(self.path.read_text().strip(), validate=True)
        except (OSError, ValueError) as exc:
            raise StoreError(
                f"Cannot use the token store's {self.name} ({exc}); it must hold 32 random "
                "bytes in base64 (delete it only together with the tokens it encrypts)."
            ) from None
        if len(key) != KEY_BYTES:
            raise StoreError(f"The token store's {self.name} does not hold a 32-byte key.")
        return key

    def _create(self) -> None:
        """Write a new key atomically: a complete private file appears, or none (then the
        other process's key is the one we read)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        draft = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode() + "\n")
            with contextlib.suppress(FileExistsError):  # another process made it first
                os.link(draft, self.path)
        finally:
            draft.unlink(missing_ok=True)

    @staticmethod
    def _context(open_id: str) -> bytes:
        return b"lark-user-store data key\x00" + open_id.encode()

    def generate(self, open_id: str) -> tuple[bytes, bytes]:
        plaintext = secrets.token_bytes(KEY_BYTES)
        nonce = secrets.token_bytes(NONCE_BYTES)
        wrapped = nonce + _aead(self._master()).encrypt(nonce, plaintext, self._context(open_id))
        return plaintext, wrapped

    def unwrap(self, open_id: str, wrapped: bytes) -> bytes:
        nonce, body = wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:]
        try:
            return _aead(self._master()).decrypt(nonce, body, self._context(open_id))
        except _invalid_tag():
            raise WrongKey(f"{self.name}: the data key does not open") from None


class Envelope:
    """Seals and opens the secret fields of one person's record with a per-person data key."""

    def __init__(self, keys: DataKeys, *, cache_seconds: float = CACHE_SECONDS) -> None:
        self.keys = keys
        self._cache_seconds = cache_seconds
        self._sealing: dict[str, tuple[bytes, bytes, float]] = {}  # open_id: plain, wrapped
        self._opening: dict[tuple[str, bytes], tuple[bytes, float]] = {}
        self._lock = threading.Lock()

    def _key_for_sealing(self, open_id: str) -> tuple[bytes, bytes]:
        now = time.monotonic()
        with self._lock:
            cached = self._sealing.get(open_id)
            if cached and cached[2] > now:
                return cached[0], cached[1]
        plaintext, wrapped = self.keys.generate(open_id)
        with self._lock:
            self._trim(now)
            self._sealing[open_id] = (plaintext, wrapped, now + self._cache_seconds)
            self._opening[(open_id, wrapped)] = (plaintext, now + self._cache_seconds)
        return plaintext, wrapped

    def _key_for_opening(self, open_id: str, wrapped: bytes) -> bytes:
        now = time.monotonic()
        with self._lock:
            cached = self._opening.get((open_id, wrapped))
            if cached and cached[1] > now:
                return cached[0]
        plaintext = self.keys.unwrap(open_id, wrapped)
        with self._lock:
            self._trim(now)
            self._opening[(open_id, wrapped)] = (plaintext, now + self._cache_seconds)
        return plaintext

    def _trim(self, now: float) -> None:
        """Drop expired keys, and the oldest when too many people were served recently."""
        for cache in (self._sealing, self._opening):
            for k in [k for k, v in cache.items() if v[-1] <= now]:
                del cache[k]
            while len(cache) >= _CACHE_SIZE:
                del cache[next(iter(cache))]

    def seal(self, open_id: str, fields: Mapping[str, str | None]) -> dict[str, Any]:
        """`{"v", "key", <field>: <nonce+ciphertext, base64>}` for each field that is set."""
        key, wrapped = self._key_for_sealing(open_id)
        aead = _aead(key)
        sealed: dict[str, Any] = {"v": FORMAT, "key": base64.b64encode(wrapped).decode()}
        for name, value in fields.items():
            if value is None:
                continue
            nonce = secrets.token_bytes(NONCE_BYTES)
            body = aead.encrypt(nonce, value.encode(), _aad(open_id, name))
            sealed[name] = base64.b64encode(nonce + body).decode()
        return sealed

    def open(self, open_id: str, sealed: Mapping[str, Any], names: tuple[str, ...]) -> dict:
        """The fields `names` of a `seal`ed object (None for one that was not set)."""
        try:
            if sealed.get("v") != FORMAT:
                raise ValueError(f"unknown format {sealed.get('v')!r}")
            wrapped = base64.b64decode(sealed["key"], validate=True)
            aead = _aead(self._key_for_opening(open_id, wrapped))
            opened: dict[str, str | None] = {}
            for name in names:
                raw = sealed.get(name)
                if raw is None:
                    opened[name] = None
                    continue
                blob = base64.b64decode(raw, validate=True)
                nonce, body = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
                opened[name] = aead.decrypt(nonce, body, _aad(open_id, name)).decode()
            return opened
        except WrongKey:
            pass  # a record copied from another person, or a replaced key: as below
        except StoreError:
            raise
        except (KeyError, TypeError, ValueError, _invalid_tag()):
            pass
        raise StoreError(
            f"The stored Lark sign-in of {open_id} does not decrypt with the {self.keys.name} "
            "(the key was replaced, or the record belongs to someone else); they must sign in "
            "again."
        )


def _aad(open_id: str, field: str) -> bytes:
    return f"{open_id}\x00{field}".encode()
