"""Feishu's user OAuth, faked: authorize page, token endpoint (v2) and user_info.

- `GET /open-apis/authen/v1/authorize`: the consent page, answered at once as the person
  "signed in to Feishu" (`FakeOAuth.signed_in`, an open_id of the seeded tenant): it consents
  and redirects with a code, or redirects with `error=access_denied` when `deny_consent` is set.
- `POST /open-apis/authen/v2/oauth/token` (JSON, RFC 6749 fields): codes work once and for
  5 minutes, are bound to the redirect URI and checked against the PKCE challenge (S256); a
  person in `no_access` gets 20010 (Lark reports a user without access to the app here);
  refresh tokens come only when `offline_access` was asked for, work once and rotate.
- `GET /open-apis/authen/v1/user_info` with the user's token.

User access tokens start with `u-` like Lark's; the fake's gate accepts them on every OpenAPI
path and records the caller's open_id on each request (`RecordedRequest.open_id`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .errors import LarkError
from .routing import Call, Endpoint

if TYPE_CHECKING:
    from .fake import FakeLark

# Error codes of the v2 token endpoint (RFC 6749 `error` beside Lark's `code`).
NO_APP_ACCESS = 20010  # the user may not use the app
BAD_CLIENT = 20002  # wrong client_id / client_secret
BAD_CODE = 20003  # unknown or already used authorization code
CODE_EXPIRED = 20004
BAD_REFRESH = 20026  # unknown refresh token
REFRESH_EXPIRED = 20037
REFRESH_USED = 20064  # a rotated-away (already used) refresh token
PKCE_FAILED = 20049
USER_TOKEN_INVALID = 99991668  # unknown or revoked user_access_token at the gateway
USER_TOKEN_EXPIRED = 99991677

AUTHORIZE_PATH = "/open-apis/authen/v1/authorize"
TOKEN_PATH = "/open-apis/authen/v2/oauth/token"
USER_INFO_PATH = "/open-apis/authen/v1/user_info"


@dataclass
class _Code:
    open_id: str
    redirect_uri: str
    scope: str
    challenge: str | None
    method: str | None
    expires_at: float
    used: bool = False


@dataclass
class UserToken:
    open_id: str
    scope: str
    expires_at: float
    revoked: bool = False


@dataclass
class _Refresh:
    open_id: str
    scope: str
    expires_at: float
    used: bool = False


@dataclass
class FakeOAuth:
    """The OAuth state of the fake tenant and the knobs tests turn."""

    signed_in: str = "ou_alice"  # who the browser is signed in to Feishu as
    no_access: set[str] = field(default_factory=set)  # open_ids the app is not available to
    deny_consent: bool = False  # the person clicks "Cancel" on the consent page
    redirect_uris: set[str] | None = None  # the console's redirect URLs; None: any
    access_ttl: int = 7200
    refresh_ttl: int = 30 * 86400
    code_ttl: int = 300
    clock_offset: float = 0.0  # seconds added to the fake's clock (`advance`)
    codes: dict[str, _Code] = field(default_factory=dict)
    access: dict[str, UserToken] = field(default_factory=dict)
    refresh: dict[str, _Refresh] = field(default_factory=dict)
    grants: list[dict[str, Any]] = field(default_factory=list)  # every token call and outcome

    def now(self) -> float:
        return time.time() + self.clock_offset

    def advance(self, seconds: float) -> None:
        """Move the fake's OAuth clock on (expires its codes and tokens without waiting)."""
        self.clock_offset += seconds

    @property
    def refreshes(self) -> int:
        """How many refresh grants Lark answered with new tokens."""
        return sum(1 for g in self.grants if g["grant_type"] == "refresh_token" and g["ok"])

    def caller(self, token: str) -> tuple[str | None, LarkError | None]:
        """(open_id, None) for a live user token, else (None, the gateway's error)."""
        tok = self.access.get(token)
        if tok is None or tok.revoked:
            return None, LarkError(USER_TOKEN_INVALID, "Invalid access token for authorization.")
        if tok.expires_at <= self.now():
            return None, LarkError(USER_TOKEN_EXPIRED, "The access token has expired.")
        return tok.open_id, None

    def revoke_user(self, open_id: str) -> None:
        """The person revoked the app's access: every token of theirs stops working."""
        for tok in self.access.values():
            if tok.open_id == open_id:
                tok.revoked = True
        for rt in self.refresh.values():
            if rt.open_id == open_id:
                rt.used = True

    # ------------------------------------------------------------------------------ issuing

    def _issue(self, open_id: str, scope: str) -> dict[str, Any]:
        access = "u-" + secrets.token_urlsafe(24)
        self.access[access] = UserToken(open_id, scope, self.now() + self.access_ttl)
        answer: dict[str, Any] = {
            "code": 0,
            "access_token": access,
            "expires_in": self.access_ttl,
            "token_type": "Bearer",
            "scope": scope,
        }
        if "offline_access" in scope.split():
            refresh = "ur-" + secrets.token_urlsafe(24)
            self.refresh[refresh] = _Refresh(open_id, scope, self.now() + self.refresh_ttl)
            answer["refresh_token"] = refresh
            answer["refresh_token_expires_in"] = self.refresh_ttl
        return answer


def issue_user_tokens(
    fake: FakeLark,
    open_id: str,
    *,
    access_ttl: int = 7200,
    refresh_ttl: int = 30 * 86400,
    scopes: tuple[str, ...] = ("offline_access",),
) -> dict[str, Any]:
    """A user access + refresh token pair for `open_id`, as the token endpoint answers it,
    without the browser dance (tests that seed a token store start from this)."""
    oauth = fake.oauth
    saved = (oauth.access_ttl, oauth.refresh_ttl)
    oauth.access_ttl, oauth.refresh_ttl = access_ttl, refresh_ttl
    try:
        return oauth._issue(open_id, " ".join(dict.fromkeys((*scopes, "offline_access"))))
    finally:
        oauth.access_ttl, oauth.refresh_ttl = saved


def _error(status: int, code: int, error: str, description: str) -> JSONResponse:
    return JSONResponse(
        {"code": code, "error": error, "error_description": description}, status_code=status
    )


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def routes(fake: FakeLark) -> list[Route]:
    """The authorize page and token endpoint: plain routes (not JSON-envelope OpenAPIs)."""
    oauth = fake.oauth

    async def authorize(request: Request) -> Response:
        q = dict(request.query_params)
        fake.record(request, None, status=302)
        if q.get("client_id") != fake.app_id:
            return HTMLResponse("<h1>应用不存在 (app not found)</h1>", status_code=400)
        redirect_uri = q.get("redirect_uri", "")
        if not redirect_uri or (
            oauth.redirect_uris is not None and redirect_uri not in oauth.redirect_uris
        ):
            return HTMLResponse(
                "<h1>重定向 URL 有误 (redirect URL not configured for the app)</h1>",
                status_code=400,
            )
        back: dict[str, str] = {}
        if q.get("state"):
            back["state"] = q["state"]
        if oauth.deny_consent:
            return RedirectResponse(
                f"{redirect_uri}?{urlencode({'error': 'access_denied', **back})}"
            )
        code = secrets.token_urlsafe(24)
        oauth.codes[code] = _Code(
            open_id=oauth.signed_in,
            redirect_uri=redirect_uri,
            scope=q.get("scope", ""),
            challenge=q.get("code_challenge"),
            method=q.get("code_challenge_method"),
            expires_at=oauth.now() + oauth.code_ttl,
        )
        return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, **back})}")

    async def token(request: Request) -> Response:
        await fake.oauth_latency(TOKEN_PATH)  # e.g. a slow refresh, to widen a race on purpose
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            body = None
        rec = fake.record(request, body)
        response, open_id, grant_type = _token(fake, body)
        rec.status = response.status_code
        rec.code = json.loads(response.body).get("code")
        oauth.grants.append(
            {"grant_type": grant_type, "open_id": open_id, "ok": rec.code == 0, "code": rec.code}
        )
        return response

    return [
        Route(AUTHORIZE_PATH, authorize, methods=["GET"]),
        Route(TOKEN_PATH, token, methods=["POST"]),
    ]


def _token(fake: FakeLark, body: Any) -> tuple[JSONResponse, str | None, str]:
    oauth = fake.oauth
    if not isinstance(body, dict):
        return _error(400, 20001, "invalid_request", "body must be JSON"), None, ""
    grant_type = str(body.get("grant_type", ""))
    if body.get("client_id") != fake.app_id or body.get("client_secret") != fake.app_secret:
        return (
            _error(400, BAD_CLIENT, "invalid_client", "client_id or secret invalid"),
            None,
            grant_type,
        )
    if grant_type == "authorization_code":
        code = oauth.codes.get(str(body.get("code", "")))
        if code is None or code.used:
            return (
                _error(400, BAD_CODE, "invalid_grant", "the code is invalid or was used"),
                None,
                grant_type,
            )
        code.used = True
        if code.expires_at <= oauth.now():
            return (
                _error(400, CODE_EXPIRED, "invalid_grant", "the code has expired"),
                None,
                grant_type,
            )
        if body.get("redirect_uri") != code.redirect_uri:
            return (
                _error(400, BAD_CODE, "invalid_grant", "redirect_uri does not match"),
                None,
                grant_type,
            )
        if code.challenge:
            verifier = str(body.get("code_verifier") or "")
            expected = _s256(verifier) if code.method == "S256" else verifier
            if not verifier or expected != code.challenge:
                return (
                    _error(400, PKCE_FAILED, "invalid_grant", "code_verifier does not match"),
                    None,
                    grant_type,
                )
        if code.open_id in oauth.no_access:
            return (
                _error(
                    400, NO_APP_ACCESS, "access_denied", "the user has no permission to use the app"
                ),
                code.open_id,
                grant_type,
            )
        return JSONResponse(oauth._issue(code.open_id, code.scope)), code.open_id, grant_type
    if grant_type == "refresh_token":
        rt = oauth.refresh.get(str(body.get("refresh_token", "")))
        if rt is None:
            return (
                _error(400, BAD_REFRESH, "invalid_grant", "refresh token is invalid"),
                None,
                grant_type,
            )
        if rt.used:
            return (
                _error(400, REFRESH_USED, "invalid_grant", "refresh token has been used"),
                rt.open_id,
                grant_type,
            )
        rt.used = True
        if rt.expires_at <= oauth.now():
            return (
                _error(400, REFRESH_EXPIRED, "invalid_grant", "refresh token has expired"),
                rt.open_id,
                grant_type,
            )
        return JSONResponse(oauth._issue(rt.open_id, rt.scope)), rt.open_id, grant_type
    return (
        _error(400, 20001, "unsupported_grant_type", f"grant_type {grant_type!r}"),
        None,
        grant_type,
    )


async def user_info(fake: FakeLark, call: Call) -> dict[str, Any]:
    if call.user is None:
        raise LarkError(USER_TOKEN_INVALID, "user_info needs a user_access_token.")
    u = fake.user(call.user)
    return {
        "name": u["name"],
        "en_name": u["en_name"],
        "open_id": u["open_id"],
        "union_id": u["union_id"],
        "user_id": u["user_id"],
        "email": u["email"],
        "tenant_key": u["tenant_key"],
        "avatar_url": "",
    }


def endpoints() -> list[Endpoint]:
    return [Endpoint("GET", USER_INFO_PATH, user_info)]
