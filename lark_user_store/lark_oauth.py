"""Lark's user OAuth token endpoint: the requests it takes and what its answers mean.

`POST <open origin>/open-apis/authen/v2/oauth/token` with a JSON body (RFC 6749 fields)
answers `access_token`, `expires_in`, `refresh_token`, `refresh_token_expires_in` and `scope`,
with a Lark `code` (0 on success) and RFC 6749 `error` / `error_description` on a refusal.
The authorization server exchanges sign-in codes here and the MCP server refreshes; each
sends the request with its own HTTP client (the auth Lambda has only the standard library),
and both read the answer with `read_token_answer`, so one place knows Lark's fields and codes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .tokens import UserTokens

TOKEN_PATH = "/open-apis/authen/v2/oauth/token"
NO_APP_ACCESS = 20010  # the user may not use this app (its availability settings)
# Lark's answers to a refresh token it will not take again: invalid, expired, revoked, reused.
REFRESH_REFUSED_CODES = frozenset({20026, 20037, 20064, 20073, 20074})
CLIENT_CODES = frozenset({20002, 20024, 20029})  # the app's id or secret is wrong
DEFAULT_ACCESS_SECONDS = 7200  # Lark's user access token lifetime when the answer omits it


def code_grant(
    *, app_id: str, app_secret: str, code: str, redirect_uri: str, verifier: str
) -> dict[str, str]:
    """The body that exchanges a sign-in's authorization code (with its PKCE verifier)."""
    return {
        "grant_type": "authorization_code",
        "client_id": app_id,
        "client_secret": app_secret,
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }


def refresh_grant(*, app_id: str, app_secret: str, refresh_token: str) -> dict[str, str]:
    """The body that trades a (single-use) refresh token for new tokens."""
    return {
        "grant_type": "refresh_token",
        "client_id": app_id,
        "client_secret": app_secret,
        "refresh_token": refresh_token,
    }


@dataclass(frozen=True)
class LarkGrant:
    """The tokens Lark issued, with lifetimes made absolute (unix seconds)."""

    access_token: str
    access_expires_at: float
    refresh_token: str | None
    refresh_expires_at: float | None  # None when Lark gave no lifetime for a refresh token
    scopes: tuple[str, ...]

    def signed_in(self, open_id: str, *, name: str | None, tenant_key: str | None) -> UserTokens:
        """A sign-in's tokens (a refresh token's lifetime counts only with the token)."""
        return UserTokens(
            open_id=open_id,
            access_token=self.access_token,
            access_expires_at=self.access_expires_at,
            refresh_token=self.refresh_token,
            refresh_expires_at=self.refresh_expires_at if self.refresh_token else None,
            scopes=self.scopes,
            name=name,
            tenant_key=tenant_key,
        )

    def renewing(self, old: UserTokens) -> UserTokens:
        """`old` after a refresh; what Lark's answer left out is kept from `old`."""
        return dataclasses.replace(
            old,
            access_token=self.access_token,
            access_expires_at=self.access_expires_at,
            refresh_token=self.refresh_token or old.refresh_token,
            refresh_expires_at=(
                self.refresh_expires_at
                if self.refresh_expires_at is not None
                else old.refresh_expires_at
            ),
            scopes=self.scopes or old.scopes,
            needs_reauth=False,
        )


class TokenRefused(Exception):
    """Lark issued no tokens. `code` is Lark's number (None when the answer had none)."""

    def __init__(self, status: int, code: int | None, error: str | None, message: str) -> None:
        super().__init__(f"Lark refused the token request ({message})")
        self.status = status
        self.code = code
        self.error = error
        self.message = message

    @property
    def refresh_refused(self) -> bool:
        """The refresh token is spent (used, revoked or expired): the person signs in again."""
        return self.error == "invalid_grant" or self.code in REFRESH_REFUSED_CODES

    @property
    def bad_client(self) -> bool:
        """The app's credentials were refused: the administrator's to fix."""
        return self.error == "invalid_client" or self.code in CLIENT_CODES

    @property
    def detail(self) -> str:
        return f"code {self.code}" if self.code is not None else f"HTTP {self.status}"


def read_token_answer(status: int, answer: Any, *, now: float) -> LarkGrant:
    """The grant in Lark's answer (HTTP `status`, parsed JSON body `answer`) to a request sent
    at `now`; `TokenRefused` unless it is a 200 with code 0 and an access token."""
    if not isinstance(answer, dict):
        raise TokenRefused(status, None, None, "answer is not a JSON object")
    raw_code = answer.get("code")
    error = answer.get("error")
    token = answer.get("access_token")
    if (
        status == 200
        and raw_code in (0, "0", None)
        and not error
        and isinstance(token, str)
        and token
    ):
        refresh = answer.get("refresh_token")
        refresh_in = _seconds(answer.get("refresh_token_expires_in"), 0)
        scope = answer.get("scope")
        return LarkGrant(
            access_token=token,
            access_expires_at=now + _seconds(answer.get("expires_in"), DEFAULT_ACCESS_SECONDS),
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            refresh_expires_at=now + refresh_in if refresh_in else None,
            scopes=tuple(scope.split()) if isinstance(scope, str) else (),
        )
    error = str(error) if error else None
    message = answer.get("error_description") or answer.get("msg") or error
    if not message:
        message = "no access token in the answer" if status == 200 else f"HTTP {status}"
    raise TokenRefused(status, _code(raw_code), error, str(message))


def _code(value: Any) -> int | None:
    """Lark's `code` as a number (it is one; a numeric string is read too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _seconds(value: Any, default: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if number > 0 else default
