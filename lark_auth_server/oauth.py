"""Authlib's authorization-server components wired to our records and signing key.

- Authorization code grant with PKCE required and S256 only (RFC 7636, OAuth 2.1 style).
  Codes live 5 minutes and work once: the first redemption marks the code spent (a
  compare-and-set, so two racing redemptions cannot both win); a second redemption fails with
  `invalid_grant` and revokes the refresh-token family the first one started (RFC 6749 4.1.2).
- Refresh token grant with rotation: each refresh token works once; presenting a used one
  revokes its whole family (RFC 9700 4.14.2), and the grant fails with `invalid_grant` when the
  user's Lark sign-in has ended (no usable Lark refresh token, or marked `needs_reauth`), so the
  client sends the person through sign-in again.
- Access tokens: RS256 JWTs (`iss`, `sub`=open_id, `client_id`, `scope`, `aud`, `iat`, `exp`,
  `jti`). Refresh tokens: opaque random strings. Records are keyed by a SHA-256 of each code
  or token, so the store never holds a usable credential of ours.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin, OAuth2Request
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc7636 import CodeChallenge

from lark_user_store import Records, TokenStore

from .config import Client
from .keys import Signer

log = logging.getLogger("lark_auth_server")
# Authlib logs issued tokens at DEBUG ("Issue token %r"): never let that reach a log.
logging.getLogger("authlib").setLevel(logging.WARNING)

CODE_TTL = 300  # our authorization codes: 5 minutes
LOGIN_TTL = 600  # a sign-in in progress at Feishu: 10 minutes
ACCESS_TTL = 3600  # access token JWTs: 1 hour (the contract's maximum)
REFRESH_TTL = 30 * 86400  # each refresh token, and a family since its last rotation


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# --- models -----------------------------------------------------------------------------------


class OAuthClient(ClientMixin):
    def __init__(self, client: Client) -> None:
        self.client = client

    def get_client_id(self) -> str:
        return self.client.client_id

    def get_default_redirect_uri(self) -> None:
        return None  # the redirect_uri is required: it must match a registered one exactly

    def get_allowed_scope(self, scope: str | None) -> str:
        return " ".join(s for s in (scope or "").split() if s in self.client.scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.client.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(self.client.client_secret.encode(), client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


@dataclass(frozen=True)
class SignedInUser:
    open_id: str


@dataclass(frozen=True)
class IssuedCode:
    data: dict[str, Any]
    family: str

    def get_redirect_uri(self) -> str:
        return self.data["redirect_uri"]

    def get_scope(self) -> str:
        return self.data.get("scope", "")

    @property
    def code_challenge(self) -> str:
        return self.data["code_challenge"]

    @property
    def code_challenge_method(self) -> str:
        return self.data["code_challenge_method"]


@dataclass(frozen=True)
class IssuedRefresh:
    data: dict[str, Any]

    @property
    def family(self) -> str:
        return self.data["family"]

    def check_client(self, client: OAuthClient) -> bool:
        return client.get_client_id() == self.data["client_id"]

    def get_scope(self) -> str:
        return self.data.get("scope", "")


class FormPayload:
    """Authlib's view of query or form parameters (first values, and every value)."""

    def __init__(self, lists: dict[str, list[str]]) -> None:
        self.datalist = lists
        self.data = {k: v[0] for k, v in lists.items() if v}

    client_id = property(lambda self: self.data.get("client_id"))
    response_type = property(lambda self: self.data.get("response_type"))
    grant_type = property(lambda self: self.data.get("grant_type"))
    redirect_uri = property(lambda self: self.data.get("redirect_uri"))
    scope = property(lambda self: self.data.get("scope"))
    state = property(lambda self: self.data.get("state"))


class Headers(dict):
    """Header names are stored lower-case; Authlib asks for `Authorization`."""

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)

    def __getitem__(self, name: str) -> Any:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return super().__contains__(str(name).lower())


class Request(OAuth2Request):
    """An OAuth2Request built from our framework-free request; `issuer` signs its tokens."""

    def __init__(
        self,
        method: str,
        uri: str,
        headers: dict[str, str],
        lists: dict[str, list[str]],
        issuer: str,
    ) -> None:
        super().__init__(method=method, uri=uri, headers=Headers(headers))
        self.payload = FormPayload(lists)
        self.issuer = issuer

    @property
    def args(self) -> dict[str, str]:
        return self.payload.data if self.method == "GET" else {}

    @property
    def form(self) -> dict[str, str]:
        return self.payload.data if self.method == "POST" else {}


# --- grants -----------------------------------------------------------------------------------


class RequireS256(CodeChallenge):
    """PKCE is mandatory and only S256 is accepted (plain would defeat it)."""

    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge (S256).")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256.")
        super().validate_code_challenge(grant, redirect_uri)


class CodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post"]
    server: OAuthServer

    def save_authorization_code(self, code: str, request: Request) -> None:
        data = request.payload.data
        self.server.records.create(
            "code#" + digest(code),
            {
                "client_id": request.client.get_client_id(),
                "redirect_uri": data["redirect_uri"],
                "scope": request.scope or "",
                "code_challenge": data["code_challenge"],
                "code_challenge_method": data["code_challenge_method"],
                "resource": data.get("resource", ""),
                "open_id": request.user.open_id,
            },
            expires_at=int(time.time()) + CODE_TTL,
        )

    def query_authorization_code(self, code: str, client: OAuthClient) -> IssuedCode | None:
        key = "code#" + digest(code)
        record = self.server.records.get(key)
        if record is None:
            return None
        if record.data.get("spent"):
            self.server.revoke_family(record.data.get("family"), "authorization code reused")
            return None
        family = uuid.uuid4().hex
        spent = self.server.records.replace(
            key,
            {**record.data, "spent": True, "family": family},
            version=record.version,
            expires_at=record.expires_at,
        )
        if spent is None or record.data["client_id"] != client.get_client_id():
            return None  # lost a race to another redemption, or not this client's code
        return IssuedCode(record.data, family)

    def delete_authorization_code(self, authorization_code: IssuedCode) -> None:
        pass  # kept, marked spent, until it expires: a second use must revoke the family

    def authenticate_user(self, authorization_code: IssuedCode) -> SignedInUser:
        return SignedInUser(authorization_code.data["open_id"])

    def generate_token(
        self, user=None, scope=None, grant_type=None, expires_in=None, include_refresh_token=True
    ):  # Authlib calls this with its own signature
        code: IssuedCode = self.request.authorization_code
        return self.server.issue(
            self.request, user, scope or "", code.data.get("resource", ""), include_refresh_token
        )


class RotatingRefreshGrant(RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post"]
    INCLUDE_NEW_REFRESH_TOKEN = True
    server: OAuthServer

    def authenticate_refresh_token(self, refresh_token: str) -> IssuedRefresh | None:
        records = self.server.records
        key = "rt#" + digest(refresh_token)
        record = records.get(key)
        if record is None:
            return None
        family = record.data["family"]
        if record.data.get("used"):
            self.server.revoke_family(family, "refresh token reused")
            return None
        state = records.get("family#" + family)
        if state is None or state.data.get("revoked"):
            return None
        if (
            records.replace(
                key,
                {**record.data, "used": True},
                version=record.version,
                expires_at=record.expires_at,
            )
            is None
        ):
            self.server.revoke_family(family, "refresh token used twice at once")
            return None
        return IssuedRefresh(record.data)

    def authenticate_user(self, refresh_token: IssuedRefresh) -> SignedInUser:
        open_id = refresh_token.data["open_id"]
        tokens = self.server.store.get(open_id)
        now = time.time()
        usable = (
            tokens is not None
            and not tokens.needs_reauth
            and (
                tokens.access_expires_at > now
                or (tokens.refresh_token and (tokens.refresh_expires_at or now + 1) > now)
            )
        )
        if not usable:
            log.info(
                "refresh refused: Lark sign-in ended open_id=%s",
                open_id,
                extra={"event": "refresh_refused", "reason": "lark_sign_in_ended"},
            )
            raise InvalidGrantError(
                "The Lark sign-in has ended (its refresh token is gone or was refused): "
                "sign in again."
            )
        return SignedInUser(open_id)

    def revoke_old_credential(self, refresh_token: IssuedRefresh) -> None:
        pass  # already marked used (conditionally) in authenticate_refresh_token

    def generate_token(
        self, user=None, scope=None, grant_type=None, expires_in=None, include_refresh_token=True
    ):  # Authlib calls this with its own signature
        old: IssuedRefresh = self.request.refresh_token
        return self.server.issue(
            self.request,
            user,
            scope or "",
            old.data.get("aud", ""),
            include_refresh_token,
            family=old.family,
        )


# --- server -----------------------------------------------------------------------------------


class OAuthServer(AuthorizationServer):
    def __init__(
        self,
        clients: dict[str, Client],
        store: TokenStore,
        signer: Signer,
        audience: str | None = None,
    ) -> None:
        super().__init__()
        self.clients = clients
        self.store = store
        self.records: Records = store.records
        self.signer = signer
        self.audience = audience
        self.register_grant(CodeGrant, [RequireS256(required=True)])
        self.register_grant(RotatingRefreshGrant)

    # Authlib framework hooks
    def query_client(self, client_id: str) -> OAuthClient | None:
        client = self.clients.get(client_id)
        return OAuthClient(client) if client else None

    def save_token(self, token: dict[str, Any], request: Request) -> None:
        pass  # issue() already stored the refresh token with its family

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass

    def create_oauth2_request(self, request: Request) -> Request:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> tuple[int, dict, bytes]:
        payload = body if isinstance(body, str) else json.dumps(body)
        return status, dict(headers), payload.encode()

    # ours
    def issue(
        self,
        request: Request,
        user: SignedInUser,
        scope: str,
        aud: str,
        include_refresh_token: bool,
        family: str | None = None,
    ) -> dict[str, Any]:
        client_id = request.client.get_client_id()
        now = int(time.time())
        audience = aud or self.audience or request.issuer
        claims = {
            "iss": request.issuer,
            "sub": user.open_id,
            "aud": audience,
            "client_id": client_id,
            "scope": scope,
            "iat": now,
            "exp": now + ACCESS_TTL,
            "jti": uuid.uuid4().hex,
        }
        token: dict[str, Any] = {
            "access_token": self.signer.sign_jwt(claims),
            "token_type": "Bearer",
            "expires_in": ACCESS_TTL,
            "scope": scope,
        }
        if include_refresh_token:
            family = family or request.authorization_code.family
            refresh = secrets.token_urlsafe(32)
            expires = now + REFRESH_TTL
            family_key = "family#" + family
            if request.authorization_code is not None:
                self.records.create(
                    family_key,
                    {"open_id": user.open_id, "client_id": client_id},
                    expires_at=expires,
                )
            else:  # a rotation keeps the family alive as long as its newest token
                current = self.records.get(family_key)
                if current is not None and not current.data.get("revoked"):
                    self.records.replace(
                        family_key, current.data, version=current.version, expires_at=expires
                    )
            self.records.create(
                "rt#" + digest(refresh),
                {
                    "family": family,
                    "open_id": user.open_id,
                    "client_id": client_id,
                    "scope": scope,
                    "aud": audience,
                },
                expires_at=expires,
            )
            token["refresh_token"] = refresh
        log.info(
            "token issued grant=%s client=%s open_id=%s",
            request.payload.grant_type,
            client_id,
            user.open_id,
        )
        return token

    def revoke_family(self, family: str | None, why: str) -> None:
        if not family:
            return
        key = "family#" + family
        record = self.records.get(key)
        if record is None:
            return
        self.records.put(key, {**record.data, "revoked": True}, expires_at=record.expires_at)
        log.warning(
            "refresh family revoked (%s) client=%s open_id=%s",
            why,
            record.data.get("client_id"),
            record.data.get("open_id"),
            extra={"event": "refresh_refused", "reason": why},
        )
