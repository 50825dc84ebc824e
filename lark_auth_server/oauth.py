"""Authlib's authorization-server components wired to our records and signing key.

- Authorization code grant with PKCE required and S256 only (RFC 7636, OAuth 2.1 style).
  Codes live 5 minutes and work once. Everything is checked (client, redirect URI, PKCE) and
  the access token signed before the code is marked spent (a compare-and-set, so two racing
  redemptions cannot both win): another client's presentation, a wrong verifier or a signing
  failure leaves the code usable. A second redemption fails with `invalid_grant` and revokes
  the refresh-token family the first one started (RFC 6749 4.1.2).
- Refresh token grant with rotation (RFC 9700 4.14.2), spent only after every check passed
  (client, scope, the person's Lark sign-in, the signature): a refusal never logs anyone out.
  A `scope` within what was granted or first asked for is accepted (re-sending the first scope
  equals sending none). The token just rotated, presented again within `REFRESH_GRACE` seconds
  and before its successor was used (a lost response, a retry after a 5xx), gets a new
  successor that replaces the unused one; any other reuse revokes the whole family. The grant
  fails with `invalid_grant` when the user's Lark sign-in has ended (no usable Lark refresh
  token, or marked `needs_reauth`), so the client sends the person through sign-in again.
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
from authlib.oauth2.rfc6749.errors import (
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
)
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc7636 import CodeChallenge

from lark_user_store import Record, Records, TokenStore

from .config import Client
from .keys import Signer
from .openid import id_token, wants_id_token
from .registration import ClientRegistry, redirect_matches
from .registration_settings import RegistrationSettings
from .sign_out import signed_out_at

log = logging.getLogger("lark_auth_server")
# Authlib logs issued tokens at DEBUG ("Issue token %r"): never let that reach a log.
logging.getLogger("authlib").setLevel(logging.WARNING)

CODE_TTL = 300  # our authorization codes: 5 minutes
LOGIN_TTL = 600  # a sign-in in progress at Feishu: 10 minutes
ACCESS_TTL = 3600  # access token JWTs: 1 hour (the contract's maximum)
REFRESH_TTL = 30 * 86400  # each refresh token, and a family since its last rotation
REFRESH_GRACE = 60  # seconds a just-rotated refresh token may be presented again (see above)
#: Scopes any client gets when it asks (and `scopes_supported` publishes): a refresh token is
#: issued either way, but clients that ask for offline_access expect to see it granted;
#: `openid` adds an ID token (openid.py).
GRANTED_TO_EVERY_CLIENT = ("offline_access", "openid")
#: How clients may authenticate at /token: a secret, or none (public clients, PKCE only).
TOKEN_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


class InvalidTargetError(OAuth2Error):
    """RFC 8707: the `resource` asked for is not one this server issues tokens for."""

    error = "invalid_target"


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
        allowed = {*self.client.scopes, *GRANTED_TO_EVERY_CLIENT}
        return " ".join(dict.fromkeys(s for s in (scope or "").split() if s in allowed))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_matches(self.client, redirect_uri)  # exact, loopback on any port

    def check_client_secret(self, client_secret: str) -> bool:
        if self.client.secret_sha256:  # self-registered: only the digest is stored
            given = hashlib.sha256(client_secret.encode()).hexdigest()
            return hmac.compare_digest(self.client.secret_sha256, given)
        if not self.client.client_secret:
            return False
        return hmac.compare_digest(self.client.client_secret.encode(), client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.client.auth_method == "none":  # a public client: PKCE is its proof
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.client.grant_types


@dataclass(frozen=True)
class SignedInUser:
    open_id: str


@dataclass(frozen=True)
class IssuedCode:
    record: Record

    @property
    def data(self) -> dict[str, Any]:
        return self.record.data

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
    record: Record

    @property
    def data(self) -> dict[str, Any]:
        return self.record.data

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
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = TOKEN_AUTH_METHODS
    server: OAuthServer

    def save_authorization_code(self, code: str, request: Request) -> None:
        data = request.payload.data
        self.server.records.create(
            "code#" + digest(code),
            {
                "client_id": request.client.get_client_id(),
                "redirect_uri": data["redirect_uri"],
                "scope": request.scope or "",
                "asked": data.get("scope", ""),
                "code_challenge": data["code_challenge"],
                "code_challenge_method": data["code_challenge_method"],
                "open_id": request.user.open_id,
                "issued_at": time.time(),
                "nonce": data.get("nonce", ""),  # for the ID token (openid.py)
                "auth_time": int(time.time()),  # the person just signed in at Feishu
            },
            expires_at=int(time.time()) + CODE_TTL,
        )

    def query_authorization_code(self, code: str, client: OAuthClient) -> IssuedCode | None:
        """The code's record, read only: it is spent in `generate_token`, once all passed."""
        record = self.server.records.get("code#" + digest(code))
        if record is None:
            return None
        if record.data["client_id"] != client.get_client_id():
            log.warning("a code was presented by another client=%s", client.get_client_id())
            return None  # refused, and left for its own client
        if record.data.get("spent"):
            self.server.revoke_family(record.data.get("family"), "authorization code reused")
            return None
        if record.data.get("issued_at", 0) < signed_out_at(
            self.server.records, record.data["open_id"]
        ):
            return None  # issued before an administrator signed the person out
        return IssuedCode(record)

    def delete_authorization_code(self, authorization_code: IssuedCode) -> None:
        pass  # kept, marked spent, until it expires: a second use must revoke the family

    def authenticate_user(self, authorization_code: IssuedCode) -> SignedInUser:
        return SignedInUser(authorization_code.data["open_id"])

    def generate_token(
        self, user=None, scope=None, grant_type=None, expires_in=None, include_refresh_token=True
    ):  # Authlib calls this with its own signature
        code: IssuedCode = self.request.authorization_code
        server = self.server
        token = server.access_token(self.request, user, scope or "")  # may fail: nothing spent
        family = uuid.uuid4().hex
        client_id = self.request.client.get_client_id()
        server.records.create(
            "family#" + family,
            {"open_id": user.open_id, "client_id": client_id, "created_at": time.time()},
            expires_at=int(time.time()) + REFRESH_TTL,
        )
        refresh = server.new_refresh(family, user.open_id, client_id, scope or "", code.data)
        spent = server.records.replace(
            code.record.key,
            {**code.data, "spent": True, "family": family},
            version=code.record.version,
            expires_at=code.record.expires_at,
        )
        if spent is None:  # another redemption won the race: this one gets nothing
            server.revoke_family(family, "authorization code redeemed twice at once")
            raise InvalidGrantError("The authorization code was already used.")
        server.log_issued(self.request, user)
        return {**token, "refresh_token": refresh}


class RotatingRefreshGrant(RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = TOKEN_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True
    server: OAuthServer

    def authenticate_refresh_token(self, refresh_token: str) -> IssuedRefresh | None:
        """The token's record, read only (spent in `generate_token`, once all passed)."""
        records = self.server.records
        record = records.get("rt#" + digest(refresh_token))
        if record is None:
            return None
        if record.data["client_id"] != self.request.client.get_client_id():
            log.warning("a refresh token was presented by another client")
            return None  # refused, and left for its own client
        family = record.data["family"]
        state = records.get("family#" + family)
        if state is None or state.data.get("revoked"):
            return None
        if state.data.get("created_at", 0) < signed_out_at(records, record.data["open_id"]):
            log.info("refresh refused: signed out by an administrator")
            return None
        if record.data.get("used"):
            if record.data.get("superseded"):
                return None  # replaced unused by a retry of its predecessor: just refused
            if self.server.unused_successor(record) is None:
                self.server.revoke_family(family, "refresh token reused")
                return None
        return IssuedRefresh(record)

    def _validate_token_scope(self, token: IssuedRefresh) -> None:
        """A scope within what was granted or first asked for (RFC 6749 6): re-sending the
        first request's scope is the same as sending none."""
        asked = set((self.request.payload.scope or "").split())
        known = set(token.data.get("scope", "").split()) | set(token.data.get("asked", "").split())
        if not asked <= known:
            raise InvalidScopeError(
                f"The refresh may ask only for scopes granted before: {' '.join(sorted(known))}."
            )

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
        pass  # spent (conditionally) in generate_token

    def generate_token(
        self, user=None, scope=None, grant_type=None, expires_in=None, include_refresh_token=True
    ):  # Authlib calls this with its own signature
        old: IssuedRefresh = self.request.refresh_token
        granted = old.data.get("scope", "").split()
        asked = set((self.request.payload.scope or "").split())
        scope = " ".join(s for s in granted if not asked or s in asked)
        token = self.server.access_token(self.request, user, scope)  # may fail: nothing spent
        refresh = self.server.rotate(old.record, scope)
        self.server.log_issued(self.request, user)
        return {**token, "refresh_token": refresh}


# --- server -----------------------------------------------------------------------------------


class OAuthServer(AuthorizationServer):
    def __init__(
        self,
        clients: dict[str, Client],
        store: TokenStore,
        signer: Signer,
        audience: str | None = None,
        registration: RegistrationSettings | None = None,
    ) -> None:
        super().__init__()
        self.clients = clients
        self.registration = registration or RegistrationSettings()
        self.registry = ClientRegistry(store.records, self.registration.policy)
        self.store = store
        self.records: Records = store.records
        self.signer = signer
        self.audience = audience
        self.register_grant(CodeGrant, [RequireS256(required=True)])
        self.register_grant(RotatingRefreshGrant)

    def is_audience(self, resource: str) -> bool:
        """`resource` names our audience (RFC 8707; a trailing slash makes no difference)."""
        ours = (self.audience or "").rstrip("/")
        return bool(ours) and resource.rstrip("/") == ours

    # Authlib framework hooks
    def query_client(self, client_id: str) -> OAuthClient | None:
        client = self.clients.get(client_id) or self.registry.get(client_id)
        return OAuthClient(client) if client else None

    def save_token(self, token: dict[str, Any], request: Request) -> None:
        # The grants already stored the refresh token with its family; a self-registered
        # client that received a token stays registered (registration.IDLE_TTL).
        self.registry.touch(request.client.client)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass

    def create_oauth2_request(self, request: Request) -> Request:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> tuple[int, dict, bytes]:
        payload = body if isinstance(body, str) else json.dumps(body)
        return status, dict(headers), payload.encode()

    # ours
    def access_token(self, request: Request, user: SignedInUser, scope: str) -> dict[str, Any]:
        """A signed access token (the signing call may fail: callers spend nothing before)."""
        now = int(time.time())
        claims = {
            "iss": request.issuer,
            "sub": user.open_id,
            "aud": self.audience or request.issuer,
            "client_id": request.client.get_client_id(),
            "scope": scope,
            "iat": now,
            "exp": now + ACCESS_TTL,
            "jti": uuid.uuid4().hex,
        }
        token = {
            "access_token": self.signer.sign_jwt(claims),
            "token_type": "Bearer",
            "expires_in": ACCESS_TTL,
            "scope": scope,
        }
        if wants_id_token(scope):
            code = request.authorization_code
            token["id_token"] = id_token(
                self.signer,
                issuer=request.issuer,
                open_id=user.open_id,
                client_id=request.client.get_client_id(),
                now=now,
                code=code.data if code is not None else None,
            )
        return token

    def new_refresh(
        self, family: str, open_id: str, client_id: str, scope: str, first: dict[str, Any]
    ) -> str:
        """A new refresh token of `family`, stored (by digest) and not yet handed out."""
        refresh = secrets.token_urlsafe(32)
        self.records.create(
            "rt#" + digest(refresh),
            {
                "family": family,
                "open_id": open_id,
                "client_id": client_id,
                "scope": scope,
                "asked": first.get("asked", ""),
            },
            expires_at=int(time.time()) + REFRESH_TTL,
        )
        return refresh

    def unused_successor(self, record: Record) -> Record | None:
        """The successor of a used refresh token, when it may still be replaced: the token
        was rotated less than `REFRESH_GRACE` seconds ago and its successor never used."""
        used_at = record.data.get("used_at")
        successor = record.data.get("successor")
        if not isinstance(used_at, int) or not successor or time.time() - used_at > REFRESH_GRACE:
            return None
        found = self.records.get(successor)
        return found if found is not None and not found.data.get("used") else None

    def rotate(self, old: Record, scope: str) -> str:
        """Spend `old` and return its successor; a retry within the grace window replaces the
        unused successor instead. Compare-and-set throughout: of racing rotations, one wins
        each step and the others re-read. `InvalidGrantError` when the token cannot rotate."""
        for _ in range(4):
            if not old.data.get("used"):
                refresh = self._spend(old, scope)
            else:
                successor = self.unused_successor(old)
                if successor is None:
                    self.revoke_family(old.data["family"], "refresh token reused")
                    raise InvalidGrantError("The refresh token was already used.")
                refresh = self._replace_successor(old, successor, scope)
            if refresh:
                return refresh
            current = self.records.get(old.key)  # lost a race: decide again on what won
            if current is None:
                break
            old = current
        raise InvalidGrantError("The refresh token is being used concurrently; try again.")

    def _successor_of(self, old: Record, scope: str) -> tuple[str, dict[str, Any]]:
        data = old.data
        refresh = self.new_refresh(data["family"], data["open_id"], data["client_id"], scope, data)
        return refresh, {**data, "successor": "rt#" + digest(refresh)}

    def _spend(self, old: Record, scope: str) -> str | None:
        refresh, data = self._successor_of(old, scope)
        spent = {**data, "used": True, "used_at": int(time.time())}
        if self.records.replace(old.key, spent, version=old.version, expires_at=old.expires_at):
            self._extend_family(old.data["family"])
            return refresh
        self.records.delete(data["successor"])
        return None

    def _replace_successor(self, old: Record, successor: Record, scope: str) -> str | None:
        """Point `old` at a new successor, then retire the unused one; if that one was used
        meanwhile, both branches are live: revoke the family."""
        refresh, moved = self._successor_of(old, scope)
        if not self.records.replace(old.key, moved, version=old.version, expires_at=old.expires_at):
            self.records.delete(moved["successor"])
            return None
        retired = {**successor.data, "used": True, "superseded": True}
        version, expires = successor.version, successor.expires_at
        if not self.records.replace(successor.key, retired, version=version, expires_at=expires):
            self.revoke_family(old.data["family"], "refresh token reused")
            raise InvalidGrantError("The refresh token was already used.")
        log.info("refresh retried within the grace window client=%s", old.data["client_id"])
        return refresh

    def _extend_family(self, family: str) -> None:
        """A rotation keeps the family alive as long as its newest token."""
        key = "family#" + family
        current = self.records.get(key)
        if current is not None and not current.data.get("revoked"):
            self.records.replace(
                key,
                current.data,
                version=current.version,
                expires_at=int(time.time()) + REFRESH_TTL,
            )

    def log_issued(self, request: Request, user: SignedInUser) -> None:
        log.info(
            "token issued grant=%s client=%s open_id=%s",
            request.payload.grant_type,
            request.client.get_client_id(),
            user.open_id,
        )

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
