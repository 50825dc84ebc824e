"""The authorization server as one framework-free function: `AuthServer.handle(request)`.

The local ASGI app and the Lambda adapter both translate their requests into `HttpRequest`
and back, so every endpoint behaves the same in both places. Handlers block (KMS, DynamoDB,
Feishu over urllib): the ASGI adapter runs them in a worker thread.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749.errors import AccessDeniedError, OAuth2Error
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from lark_user_store import StoreError, TokenStore, open_store

from . import lark, pages
from .config import Settings
from .consent import Consent, needs_consent
from .consent import expired as consent_expired
from .keys import Signer, SigningKeyError, load_previous, load_signer
from .oauth import (
    GRANTED_TO_EVERY_CLIENT,
    LOGIN_TTL,
    TOKEN_AUTH_METHODS,
    InvalidTargetError,
    OAuthServer,
    Request,
    SignedInUser,
    digest,
)
from .registration import RegistrationEndpoint, register
from .signin_cookie import CookieTooLarge, SignInCookies

log = logging.getLogger("lark_auth_server")

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_JSON_PATHS = ("/token", "/register")  # machine endpoints: errors as JSON, never a page
_PASSED_ON = (  # the client's authorize parameters we keep while the person is at Feishu
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "resource",
    "nonce",
)


@dataclass
class HttpRequest:
    method: str
    path: str
    query: str = ""  # raw query string
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    issuer: str = ""  # our public base URL for this request
    source: str = ""  # the caller's IP address (rate limits of /register)


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


_UNQUOTABLE = (
    "A parameter contains a character that is not allowed there (such as a double quote or a "
    "backslash)."
)


def _basic_credentials_problem(header: str) -> str | None:
    """Why HTTP Basic credentials cannot be read (RFC 6749 2.3.1: form-encoded UTF-8), if so."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return "The Basic credentials are not base64 of UTF-8 text."
    if ":" not in decoded:
        return "The Basic credentials must be client_id:client_secret."
    return None


def _token_error(status: int, error: str, description: str) -> HttpResponse:
    return _json(status, {"error": error, "error_description": description})


def _html(status: int, body: bytes) -> HttpResponse:
    return HttpResponse(status, {"Content-Type": "text/html; charset=utf-8", **_NO_STORE}, body)


_SAFE_PAGE = {  # on every answer: no framing (clickjacking), no sniffing, no Referer leak
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _redirect(location: str) -> HttpResponse:
    return HttpResponse(302, {"Location": location, **_NO_STORE})


def _with_iss(headers: Any, issuer: str) -> dict[str, str]:
    """An authorization response (a redirect to the client) with `iss` added (RFC 9207)."""
    headers = dict(headers)
    if headers.get("Location"):
        headers["Location"] = add_params_to_uri(headers["Location"], {"iss": issuer})
    return {**headers, **_NO_STORE}


class AuthServer:
    def __init__(
        self, settings: Settings, store: TokenStore, signer: Signer, previous: list[Signer]
    ) -> None:
        self.settings = settings
        self.store = store
        self.signer = signer
        self.previous = previous
        self.oauth = OAuthServer(
            settings.clients, store, signer, settings.audience, settings.registration
        )
        self.registration = RegistrationEndpoint(
            self.oauth.registry, settings.registration, lambda: self._metadata("")
        )
        cookie_key = settings.cookie_key or secrets.token_bytes(32)
        self.cookies = SignInCookies(cookie_key)
        self.consent = Consent(cookie_key, store.records, settings.lark_scopes)

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
        response = self._dispatch(request)
        response.headers.update(_SAFE_PAGE)
        return response

    def _dispatch(self, request: HttpRequest) -> HttpResponse:
        routes = {
            ("GET", "/.well-known/oauth-authorization-server"): self.metadata,
            ("GET", "/.well-known/openid-configuration"): self.metadata,
            ("GET", "/jwks"): self.jwks,
            ("GET", "/authorize"): self.authorize,
            ("GET", "/callback"): self.callback,
            ("POST", "/token"): self.token,
            ("POST", "/register"): self.register,
            ("POST", "/consent"): self.consent_decision,
            ("GET", "/health"): lambda _: _json(200, {"status": "ok"}),
        }
        path = request.path.rstrip("/") or "/"
        route = routes.get((request.method, path))
        if route is None:
            known = {p for _, p in routes}
            if path == "/token":  # RFC 6749 5.2 codes only from the token endpoint
                return _token_error(405, "invalid_request", "Send the token request as a POST.")
            if path in known:
                return _json(405, {"error": "method_not_allowed"})
            return _json(404, {"error": "not_found", "error_description": f"No {path} here."})
        try:
            return route(request)
        except (StoreError, SigningKeyError) as exc:
            log.error("%s %s failed: %s", request.method, path, exc)
            if path == "/token":  # nothing was spent: the same request can be sent again
                response = _token_error(
                    503,
                    "invalid_request",
                    "The sign-in service is temporarily unavailable; send the same request "
                    "again in a moment.",
                )
                response.headers["Retry-After"] = "5"
                return response
            if path in _JSON_PATHS:
                return _json(503, {"error": "temporarily_unavailable"})
            return _html(503, pages.lark_failed("The sign-in service is temporarily unavailable."))
        except Exception:  # a bug: say so without echoing the request (it may carry a code)
            log.exception("%s %s failed unexpectedly", request.method, path)
            if path == "/token":
                return _token_error(
                    500, "invalid_request", "The sign-in service failed unexpectedly."
                )
            if path in _JSON_PATHS:
                return _json(500, {"error": "server_error"})
            return _html(500, pages.lark_failed("The sign-in service failed unexpectedly."))

    def _oauth_request(self, request: HttpRequest, params: str) -> Request:
        lists = parse_qs(params, keep_blank_values=False)
        uri = f"{request.issuer}{request.path}"
        return Request(request.method, uri, request.headers, lists, request.issuer)

    # --------------------------------------------------------------------------- endpoints

    def metadata(self, request: HttpRequest) -> HttpResponse:
        return _json(200, self._metadata(request.issuer), cache=True)

    def _metadata(self, iss: str) -> dict[str, Any]:
        """RFC 8414 metadata (also served as the OpenID discovery document)."""
        scopes = {s for c in self.settings.clients.values() for s in c.scopes}
        return {
            "issuer": iss,
            "authorization_endpoint": f"{iss}/authorize",
            "token_endpoint": f"{iss}/token",
            "registration_endpoint": f"{iss}/register",
            "jwks_uri": f"{iss}/jwks",
            "scopes_supported": sorted(scopes | set(GRANTED_TO_EVERY_CLIENT)),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": list(TOKEN_AUTH_METHODS),
            "authorization_response_iss_parameter_supported": True,
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def register(self, request: HttpRequest) -> HttpResponse:
        status, headers, body = register(self.registration, request)
        return HttpResponse(status, {**headers, **_NO_STORE}, json.dumps(body).encode())

    def jwks(self, request: HttpRequest) -> HttpResponse:
        keys = [self.signer.public_jwk()]
        keys += [k.public_jwk() for k in self.previous if k.kid != self.signer.kid]
        return _json(200, {"keys": keys}, cache=True)

    def authorize(self, request: HttpRequest) -> HttpResponse:
        oauth_request = self._oauth_request(request, request.query)
        try:
            self.oauth.get_consent_grant(oauth_request)
            data = oauth_request.payload.data
            self._check_resource(oauth_request)
        except ValueError:  # Authlib refuses to quote a value with `"` or `\` in its error
            return _html(400, pages.bad_request(_UNQUOTABLE))
        except OAuth2Error as error:
            return self._authorize_error(request, oauth_request, error)
        client = oauth_request.client.client
        if needs_consent(client):  # self-registered: the person confirms it first (consent.py)
            return self._ask_consent(request, client, data)
        return self._to_feishu(request, data)

    def _authorize_error(
        self, request: HttpRequest, oauth_request: Request, error: OAuth2Error
    ) -> HttpResponse:
        if error.redirect_uri:  # the client and its redirect URI are known: tell it
            status, headers, _ = self.oauth.handle_error_response(oauth_request, error)
            return HttpResponse(status, _with_iss(headers, request.issuer))
        return _html(400, pages.bad_request(error.description or error.error))

    def _ask_consent(self, request: HttpRequest, client: Any, data: dict) -> HttpResponse:
        pending = {k: data[k] for k in _PASSED_ON if k in data}
        try:
            body, cookie = self.consent.ask(client, pending, request.issuer)
        except CookieTooLarge as exc:
            return _html(400, pages.bad_request(f"The sign-in request is too large: {exc}."))
        log.info("consent asked client=%s", client.client_id)
        response = _html(200, body)
        response.headers["Set-Cookie"] = cookie
        return response

    def consent_decision(self, request: HttpRequest) -> HttpResponse:
        """`POST /consent`: Allow goes on to Feishu, Deny back to the client."""
        decided = self.consent.decide(
            request.body, request.headers.get("cookie", ""), request.issuer
        )
        if decided is None:
            log.info("consent refused: not this browser's, already answered, or expired")
            return _html(400, pages.page(*consent_expired()))
        decision, pending = decided
        params = {k: [str(pending[k])] for k in _PASSED_ON if pending.get(k)}
        oauth_request = Request("GET", f"{request.issuer}/authorize", {}, params, request.issuer)
        log.info(
            "consent %s client=%s",
            decision,
            pending.get("client_id"),
            extra={"event": "consent", "decision": decision},
        )
        try:  # again: the registration may have expired, or the policy changed, meanwhile
            self.oauth.get_consent_grant(oauth_request)
            self._check_resource(oauth_request)
            if decision != "allow":
                raise AccessDeniedError(
                    "The person did not allow this app.",
                    state=pending.get("state"),
                    redirect_uri=pending.get("redirect_uri"),
                )
        except ValueError:
            return _html(400, pages.bad_request(_UNQUOTABLE))
        except OAuth2Error as error:
            return self._authorize_error(request, oauth_request, error)
        return self._to_feishu(request, oauth_request.payload.data)

    def _to_feishu(self, request: HttpRequest, data: dict) -> HttpResponse:
        """Send the browser to Feishu's sign-in, bound to it by the sign-in cookie."""
        state = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)
        pending = {**{k: data[k] for k in _PASSED_ON if k in data}, "lark_verifier": verifier}
        try:
            cookie = self.cookies.seal(state, pending, request.issuer, LOGIN_TTL)
        except CookieTooLarge as exc:
            return _html(400, pages.bad_request(f"The sign-in request is too large: {exc}."))
        log.info("sign-in started client=%s", data.get("client_id"))
        response = _redirect(
            lark.authorize_url(
                self.settings.accounts,
                app_id=self.settings.app_id,
                redirect_uri=f"{request.issuer}/callback",
                scopes=" ".join(self.settings.lark_scopes),
                state=state,
                challenge=create_s256_code_challenge(verifier),
            )
        )
        response.headers["Set-Cookie"] = cookie
        return response

    def _check_resource(self, oauth_request: Request) -> None:
        """RFC 8707: every `resource` asked for must be our audience (a trailing slash aside)."""
        asked = oauth_request.payload.datalist.get("resource", [])
        if any(not self.oauth.is_audience(r) for r in asked):
            data = oauth_request.payload.data
            raise InvalidTargetError(
                f"resource must be {self.oauth.audience}: tokens of this server are only for "
                "that MCP server.",
                state=data.get("state"),
                redirect_uri=data.get("redirect_uri"),
            )

    def callback(self, request: HttpRequest) -> HttpResponse:
        query = {k: v[0] for k, v in parse_qs(request.query).items()}
        state = query.get("state", "")
        if not state:
            return _html(400, pages.expired_login())
        response = self._callback(request, query, state)
        response.headers["Set-Cookie"] = self.cookies.clear(state, request.issuer)
        return response

    def _callback(self, request: HttpRequest, query: dict[str, str], state: str) -> HttpResponse:
        login = self.cookies.open(state, request.headers.get("cookie", ""), request.issuer)
        if login is None:  # another browser, or the cookie expired
            log.info(
                "sign-in refused at /callback: no sign-in cookie of this browser",
                extra={"event": "sign_in_refused", "reason": "other_browser"},
            )
            return _html(400, pages.other_browser())
        once = self.oauth.records.create("login#" + digest(state), {}, expires_at=login["exp"])
        if once is None:
            log.info(
                "sign-in refused: the sign-in link was already used",
                extra={"event": "sign_in_refused", "reason": "expired"},
            )
            return _html(400, pages.expired_login())
        if query.get("error") or not query.get("code"):
            back = None
            if login.get("redirect_uri"):
                params = {"error": "access_denied", "iss": request.issuer}
                if login.get("state"):
                    params["state"] = login["state"]
                back = add_params_to_uri(login["redirect_uri"], params)
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
        return HttpResponse(status, _with_iss(headers, request.issuer), body)

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
        problem = _basic_credentials_problem(request.headers.get("authorization", ""))
        if problem:
            return _token_error(401, "invalid_client", problem)
        asked = oauth_request.payload.datalist.get("resource", [])
        if any(not self.oauth.is_audience(r) for r in asked):  # RFC 8707 2.2
            return _token_error(
                400, "invalid_target", f"resource must be {self.oauth.audience} (or be left out)."
            )
        try:
            status, headers, body = self.oauth.create_token_response(oauth_request)
        except ValueError:  # as in authorize: a value Authlib will not quote
            return _token_error(400, "invalid_request", _UNQUOTABLE)
        return HttpResponse(status, {**headers, **_NO_STORE}, body)
