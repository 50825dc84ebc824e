"""The pending sign-in, sealed in a cookie of the browser that started it.

`/authorize` sends the person to Feishu with a random `state` and gives their browser a cookie
named after that state, whose value is the pending sign-in (the client's authorize parameters,
our PKCE verifier for Feishu, an expiry) encrypted and authenticated with a server key (JWE
`dir` + `A256GCM`, joserfc). `/callback` finishes only when the browser presents that cookie
and it opens with our key and names the same state. So:

- a sign-in started by one browser cannot be finished by another (login CSRF, RFC 9700 4.7):
  the victim's browser has no such cookie;
- an anonymous `/authorize` that never comes back writes nothing to the store: the state lives
  in the browser until `/callback`, which records the state as used (one-time).

The cookie is `__Host-` prefixed, HttpOnly, Secure, SameSite=Lax (Feishu's redirect back is a
top-level GET, which Lax lets through); on a local `http://` issuer it has neither `Secure` nor
the prefix (a browser refuses both over plain http), the rule is otherwise the same. Each sign-in
has its own cookie name, so two tabs signing in at once do not overwrite each other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from pathlib import Path
from typing import Any

from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

_NAME = "lark_signin_"
_HEADER = {"alg": "dir", "enc": "A256GCM"}
MAX_COOKIE = 3800  # browsers keep at most 4096 bytes per cookie, name and attributes included


class CookieKeyError(Exception):
    """The cookie key cannot be read or created; the message says where and why."""


class CookieTooLarge(Exception):
    """The pending sign-in does not fit a cookie (a client sent oversized parameters)."""


def derive_key(secret: str | bytes) -> bytes:
    """A 32-byte AES key from a secret string (a Secrets Manager generated password)."""
    raw = secret.encode() if isinstance(secret, str) else secret
    return hashlib.sha256(b"lark-auth-server signin cookie\0" + raw).digest()


def load_key_file(path: str | Path) -> bytes:
    """The local cookie key: created 0600 with 32 random bytes when absent, else read."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            text = path.read_text().strip()
        else:
            text = base64.urlsafe_b64encode(os.urandom(32)).decode()
            with os.fdopen(fd, "w") as file:
                file.write(text + "\n")
    except OSError as exc:
        raise CookieKeyError(
            f"Cannot read or create the sign-in cookie key at {path} ({exc}); set "
            "AUTH_COOKIE_KEY to a writable path."
        ) from None
    if len(text) < 32:
        raise CookieKeyError(f"The sign-in cookie key at {path} is too short (delete it).")
    return derive_key(text)


class SignInCookies:
    """Seals and opens pending sign-ins; `issuer` decides the cookie's name and flags."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise CookieKeyError("the sign-in cookie key must be 32 bytes")
        self._key = OctKey.import_key(key)

    @staticmethod
    def name(state: str, issuer: str) -> str:
        suffix = hashlib.sha256(state.encode()).hexdigest()[:16]
        return ("" if _plain_http(issuer) else "__Host-") + _NAME + suffix

    def seal(self, state: str, pending: dict[str, Any], issuer: str, ttl: int) -> str:
        """The `Set-Cookie` value that carries `pending` for `state` for `ttl` seconds."""
        body = {"state": state, "exp": int(time.time()) + ttl, "pending": pending}
        value = jwe.encrypt_compact(_HEADER, json.dumps(body).encode(), self._key)
        cookie = f"{self.name(state, issuer)}={value}; Max-Age={ttl}; " + _attributes(issuer)
        if len(cookie) > MAX_COOKIE:
            raise CookieTooLarge(f"the sign-in request is too large ({len(cookie)} bytes)")
        return cookie

    def open(self, state: str, cookie_header: str, issuer: str) -> dict[str, Any] | None:
        """The pending sign-in for `state` from the browser's cookies; None when this browser
        has no valid, unexpired cookie for it."""
        value = read_cookie(cookie_header, self.name(state, issuer))
        if not value:
            return None
        try:
            body = json.loads(jwe.decrypt_compact(value.encode("ascii"), self._key).plaintext)
        except (JoseError, ValueError, UnicodeError, TypeError, KeyError, AttributeError):
            return None
        if not isinstance(body, dict) or not isinstance(body.get("pending"), dict):
            return None
        same = hmac.compare_digest(str(body.get("state", "")).encode(), state.encode())
        exp = body.get("exp")
        if not same or not isinstance(exp, int) or exp <= time.time():
            return None
        return {**body["pending"], "exp": exp}

    def clear(self, state: str, issuer: str) -> str:
        """The `Set-Cookie` value that removes the cookie of `state`."""
        return f"{self.name(state, issuer)}=; Max-Age=0; " + _attributes(issuer)


def read_cookie(header: str, name: str) -> str | None:
    """One cookie's value from a `Cookie` header (tolerant of anything a client sends)."""
    for part in header.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value.strip().strip('"')
    return None


def _plain_http(issuer: str) -> bool:
    return issuer.startswith("http://")


def _attributes(issuer: str) -> str:
    secure = "" if _plain_http(issuer) else "Secure; "
    return f"Path=/; {secure}HttpOnly; SameSite=Lax"
