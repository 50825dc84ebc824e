"""The authorization server as one framework-free function: `AuthServer.handle(request)`.

The local ASGI app and the Lambda adapter both translate their requests into `HttpRequest`
and back, so every endpoint behaves the same in both places. Handlers block (KMS, DynamoDB,
Feishu over urllib): the ASGI adapter runs them in a worker thread.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from lark_user_store import StoreError, TokenStore, open_store

from . import lark, pages
from .config import Settings
from .keys import Signer, SigningKeyError, load_previous, load_signer
from .oauth import LOGIN_TTL, OAuthServer, Request, SignedInUser, digest

log = logging.getLogger("lark_auth_server")

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_PASSED_ON = (  # the client's authorize parameters we keep while the person is at Feishu
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "resource",
)


@dataclass
class HttpRequest:
    method: str
    path: str
    query: str = ""  # raw query string
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    issuer: str = ""  # our public base URL for this request


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes = b""


def _json(status: int, body: dict[str, Any], cache: bool = False) -> HttpResponse:
    headers = {"Content-Type": "application/json"}
    if not cache:
        headers.update(_NO_STORE)
    else:
        headers["Cache-Control"] = "public, max-age=300"
    return HttpResponse(status, headers, json.dumps(body).encode())


def _html(status: int, body: bytes) -> HttpResponse:
    return HttpResponse(status, {"Content-Type": "text/html; charset=utf-8", **_NO_STORE}, body)


def _redirect(location: str) -> HttpResponse:
    return HttpResponse(302, {"Location": location, **_NO_STORE})


class AuthServer:
    def __init__(
        self, settings: Settings, store: TokenStore, signer: Signer, previous: list[Signer]
    ) -> None:
        self.settings = settings
        self.store = store
        self.signer = signer
        self.previous = previous
        self.oauth = OAuthServer(settings.clients, store, signer, settings.audience)

    @classmethod
    def from_settings(cls, settings: Settings) -> AuthServer:
        return cls(
            settings,
            open_store(settings.store_url),
            load_signer(settings.signing_key),
            load_previous(settings.previous_keys),
        )

    # --------------------------------------------------------------------------- dispatch

    def handle(self, request: HttpRequest) -> HttpResponse:
        routes = {
            ("GET", "/.well-known/oauth-authorization-server"): self.metadata,
            ("GET", "/.well-known/openid-configuration"): self.metadata,
            ("GET", "/jwks"): self.jwks,
            ("GET", "/authorize"): self.authorize,
            ("GET", "/callback"): self.callback,
            ("POST", "/token"): self.token,
            ("GET", "/health"): lambda _: _json(200, {"status": "ok"}),
        }
        path = request.path.rstrip("/") or "/"
        route = routes.get((request.method, path))
        if route is None:
            known = {p for _, p in routes}
            if path in known:
                return _json(405, {"error": "method_not_allowed"})
            return _json(404, {"error": "not_found", "error_description": f"No {path} here."})
        try:
            return route(request)
        except (StoreError, SigningKeyError) as exc:
            log.error("%s %s failed: %s", request.method, path, exc)
            if path == "/token":
                return _json(503, {"error": "temporarily_unavailable"})
            return _html(503, pages.lark_failed("The sign-in service is temporarily unavailable."))
        except Exception:  # a bug: say so without echoing the request (it may carry a code)
            log.exception("%s %s failed unexpectedly", request.method, path)
            if path == "/token":
                return _json(500, {"error": "server_error"})
            return _html(500, pages.lark_failed("The sign-in service failed unexpectedly."))

    def _oauth_request(self, request: HttpRequest, params: str) -> Request:
        lists = parse_qs(params, keep_blank_values=False)
        uri = f"{request.issuer}{request.path}"
        return Request(request.method, uri, request.headers, lists, request.issuer)

    # --------------------------------------------------------------------------- endpoints

    def metadata(self, request: HttpRequest) -> HttpResponse:
        iss = request.issuer
        scopes = sorted({s for c in self.settings.clients.values() for s in c.scopes})
        return _json(
            200,
            {
                **({"scopes_supported": scopes} if scopes else {}),
                "issuer": iss,
                "authorization_endpoint": f"{iss}/authorize",
                "token_endpoint": f"{iss}/token",
                "jwks_uri": f"{iss}/jwks",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            },
            cache=True,
        )

    def jwks(self, request: HttpRequest) -> HttpResponse:
        keys = [self.signer.public_jwk()]
        keys += [k.public_jwk() for k in self.previous if k.kid != self.signer.kid]
        return _json(200, {"keys": keys}, cache=True)

    def authorize(self, request: HttpRequest) -> HttpResponse:
        oauth_request = self._oauth_request(request, request.query)
        try:
            self.oauth.get_consent_grant(oauth_request)
        except OAuth2Error as error:
            if error.redirect_uri:  # the client and its redirect URI are known: tell it
                status, headers, _ = self.oauth.handle_error_response(oauth_request, error)
                return HttpResponse(status, {**headers, **_NO_STORE})
            return _html(400, pages.bad_request(error.description or error.error))
        data = oauth_request.payload.data
        state = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)
        self.oauth.records.create(
            "login#" + digest(state),
            {
                **{k: data[k] for k in _PASSED_ON if k in data},
                "lark_verifier": verifier,
            },
            expires_at=int(time.time()) + LOGIN_TTL,
        )
        log.info("sign-in started client=%s", data.get("client_id"))
        return _redirect(
            lark.authorize_url(
                self.settings.accounts,
                app_id=self.settings.app_id,
                redirect_uri=f"{request.issuer}/callback",
                scopes=" ".join(self.settings.lark_scopes),
                state=state,
                challenge=create_s256_code_challenge(verifier),
            )
        )

    def callback(self, request: HttpRequest) -> HttpResponse:
        query = {k: v[0] for k, v in parse_qs(request.query).items()}
        state = query.get("state", "")
        pending = self.oauth.records.take("login#" + digest(state)) if state else None
        if pending is None:
            log.info(
                "sign-in refused: unknown or expired state",
                extra={"event": "sign_in_refused", "reason": "expired"},
            )
            return _html(400, pages.expired_login())
        login = pending.data
        if query.get("error") or not query.get("code"):
            back = None
            if login.get("redirect_uri"):
                params = {"error": "access_denied"}
                if login.get("state"):
                    params["state"] = login["state"]
                back = f"{login['redirect_uri']}?{urlencode(params)}"
            log.info(
                "sign-in declined at Feishu client=%s",
                login.get("client_id"),
                extra={"event": "sign_in_refused", "reason": "declined"},
            )
            return _html(403, pages.consent_denied(back))
        settings = self.settings
        try:
            grant = lark.exchange_code(
                settings.lark_domain,
                app_id=settings.app_id,
                app_secret=settings.app_secret,
                code=query["code"],
                redirect_uri=f"{request.issuer}/callback",
                verifier=login["lark_verifier"],
            )
            info = lark.user_info(settings.lark_domain, grant.access_token)
        except lark.LarkOAuthError as exc:
            log.warning(
                "Feishu refused the sign-in: code=%s %s",
                exc.code,
                exc.message,
                extra={"event": "sign_in_refused", "reason": f"lark_{exc.code}"},
            )
            if exc.code == lark.NO_APP_ACCESS:
                return _html(403, pages.no_app_access(settings.app_id))
            return _html(502, pages.lark_failed(f"Feishu answered: {exc.message} ({exc.code})."))
        if not grant.refresh_token:
            log.warning(
                "Feishu sent no refresh token: add offline_access to the app's scopes "
                "(sign-in will end when the Lark access token expires)"
            )
        open_id = str(info["open_id"])
        self.store.put(
            grant.signed_in(open_id, name=info.get("name"), tenant_key=info.get("tenant_key"))
        )
        log.info(
            "signed in open_id=%s client=%s",
            open_id,
            login.get("client_id"),
            extra={"event": "sign_in"},
        )
        params = {k: [login[k]] for k in _PASSED_ON if login.get(k)}
        oauth_request = Request("GET", f"{request.issuer}/authorize", {}, params, request.issuer)
        try:
            grant_ = self.oauth.get_consent_grant(oauth_request)
        except OAuth2Error as error:  # the client was removed while the person was at Feishu
            return _html(400, pages.bad_request(error.description or error.error))
        status, headers, body = self.oauth.create_authorization_response(
            oauth_request, grant_user=SignedInUser(open_id), grant=grant_
        )
        return HttpResponse(status, {**headers, **_NO_STORE}, body)

    def token(self, request: HttpRequest) -> HttpResponse:
        content_type = request.headers.get("content-type", "")
        if "application/x-www-form-urlencoded" not in content_type:
            return _json(
                400,
                {
                    "error": "invalid_request",
                    "error_description": "Send the form as application/x-www-form-urlencoded.",
                },
            )
        oauth_request = self._oauth_request(request, request.body.decode(errors="replace"))
        status, headers, body = self.oauth.create_token_response(oauth_request)
        return HttpResponse(status, {**headers, **_NO_STORE}, body)
