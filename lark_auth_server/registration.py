"""Dynamic client registration (RFC 7591): `POST /register`, with Authlib's endpoint.

MCP clients (the SDKs, Claude, VS Code, Cursor, Quick Suite itself) register on their own; no
administrator hands out client ids. So everything in a registration is attacker input:

- redirect URIs must pass the redirect policy (`redirects.py`): loopback on any port, https
  and private-use schemes only where an administrator allowed them;
- the name is shown on our consent page, so it is checked (length, no control or bidi
  characters) and the page always shows the redirect host beside it;
- grant types, response types, the token endpoint auth method and scopes are limited to what
  this server does (`none` is a public client: PKCE, which we require anyway, is its proof);
- registrations are rate-limited per source address and in total, and a registration expires
  a day after it was made unless a sign-in completes, then 30 days after its last use;
- the store keeps a SHA-256 of a confidential client's secret, never the secret.

Not supported: Client ID Metadata Documents (an https `client_id`): Authlib 1.9 has no
implementation, and fetching a client-chosen URL from the server is a request-forgery risk we
would rather not hand-write. RFC 7592 (read/update/delete a registration) is not offered either.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import secrets
import time
import unicodedata
from collections.abc import Callable
from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import OAuth2Error
from authlib.oauth2.rfc6749.requests import JsonRequest
from authlib.oauth2.rfc7591 import ClientMetadataClaims, ClientRegistrationEndpoint
from authlib.oauth2.rfc7591 import InvalidClientMetadataError as _InvalidMetadata
from authlib.oauth2.rfc7591 import InvalidRedirectURIError as _InvalidRedirect

from lark_user_store import Records

from .config import Client
from .redirects import RedirectPolicy, RedirectRefused, matches
from .registration_settings import RegistrationSettings

log = logging.getLogger("lark_auth_server")

UNUSED_TTL = 86400  # a registration no sign-in ever used: 1 day
IDLE_TTL = 30 * 86400  # after its last token: as long as its refresh tokens (oauth.REFRESH_TTL)
TOUCH_EVERY = 86400  # extend the expiry at most once a day (one write, not one per refresh)
WINDOW = 3600  # the rate limits count registrations per clock hour
MAX_REDIRECT_URIS = 10
MAX_NAME = 80
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
GRANT_TYPES = ("authorization_code", "refresh_token")
_TEXT_FIELDS = (
    *("client_uri", "logo_uri", "tos_uri", "policy_uri"),
    *("software_id", "software_version", "scope", "client_name", "token_endpoint_auth_method"),
)
_BAD_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def ascii_description(text: str) -> str:
    """`text` within RFC 6749's error_description characters (Authlib raises on others, and
    our messages quote what the client sent)."""
    return "".join(c if 0x20 <= ord(c) <= 0x7E and c not in '"\\' else "?" for c in text)


class InvalidClientMetadataError(_InvalidMetadata):
    def __init__(self, description: str) -> None:
        super().__init__(ascii_description(description))


class InvalidRedirectURIError(_InvalidRedirect):
    def __init__(self, description: str) -> None:
        super().__init__(ascii_description(description))


class RegistrationThrottled(OAuth2Error):
    error = "temporarily_unavailable"
    status_code = 429

    def get_headers(self) -> list[tuple[str, str]]:
        return [*super().get_headers(), ("Retry-After", str(WINDOW))]


# --- the registry -----------------------------------------------------------------------------


class ClientRegistry:
    """Self-registered clients, as `client#<id>` records with an expiry."""

    def __init__(self, records: Records, policy: RedirectPolicy) -> None:
        self.records = records
        self.policy = policy

    def get(self, client_id: str) -> Client | None:
        if not client_id or len(client_id) > 128:
            return None
        record = self.records.get("client#" + client_id)
        if record is None:
            return None
        data = record.data
        return Client(
            client_id=client_id,
            client_secret="",
            secret_sha256=data.get("secret_sha256", ""),
            # A host an administrator has since removed from the policy no longer works.
            redirect_uris=tuple(u for u in data["redirect_uris"] if self.policy.allows(u)),
            scopes=tuple(data.get("scope", "").split()),
            auth_method=data["auth_method"],
            grant_types=tuple(data["grant_types"]),
            name=data.get("name", ""),
            registered=True,
        )

    def save(self, client_id: str, secret: str | None, metadata: dict[str, Any]) -> None:
        now = int(time.time())
        created = self.records.create(
            "client#" + client_id,
            {
                "secret_sha256": sha256(secret) if secret else "",
                "redirect_uris": metadata["redirect_uris"],
                "auth_method": metadata["token_endpoint_auth_method"],
                "grant_types": metadata["grant_types"],
                "scope": metadata.get("scope", ""),
                "name": metadata.get("client_name", ""),
                "issued_at": now,
            },
            expires_at=now + UNUSED_TTL,
        )
        if created is None:  # 192 random bits collided: refuse rather than overwrite
            raise InvalidClientMetadataError("Registration failed; try again.")

    def touch(self, client: Client) -> None:
        """A token was issued to `client`: keep its registration for another `IDLE_TTL`."""
        if not client.registered:
            return
        key = "client#" + client.client_id
        record = self.records.get(key)
        now = int(time.time())
        if record is None or (record.expires_at or 0) > now + IDLE_TTL - TOUCH_EVERY:
            return
        # Lost to a concurrent touch: that one extended it.
        self.records.replace(key, record.data, version=record.version, expires_at=now + IDLE_TTL)


class RateLimit:
    """Fixed one-hour windows counted in the store (compare-and-set, so processes share them)."""

    def __init__(self, records: Records) -> None:
        self.records = records

    def take(self, key: str, limit: int, now: float | None = None) -> bool:
        """Count one against `key`; False (counting nothing) when `limit` is reached."""
        now = time.time() if now is None else now
        window = int(now // WINDOW)
        full = f"regrate#{key}#{window}"
        expires = (window + 1) * WINDOW + 60
        for _ in range(8):
            record = self.records.get(full)
            if record is None:
                if limit < 1:
                    return False
                if self.records.create(full, {"n": 1}, expires_at=expires) is not None:
                    return True
                continue
            count = int(record.data.get("n", 0))
            if count >= limit:
                return False
            done = self.records.replace(
                full, {"n": count + 1}, version=record.version, expires_at=expires
            )
            if done is not None:
                return True
        return False  # heavy contention on one counter: treat as over the limit


def source_key(address: str) -> str:
    """The rate-limit key of a caller's address: an IPv6 caller by its /64 network."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address) + "/64"
    return str(ip)


# --- validation -------------------------------------------------------------------------------


def client_name(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidClientMetadataError("client_name must be a string.")
    name = " ".join(unicodedata.normalize("NFC", value).split())
    if not name or len(name) > MAX_NAME:
        raise InvalidClientMetadataError(f"client_name must have 1 to {MAX_NAME} characters.")
    bad = [c for c in name if unicodedata.category(c) in _BAD_CATEGORIES]
    if bad:
        raise InvalidClientMetadataError(
            f"client_name has a control, formatting or unassigned character "
            f"(U+{ord(bad[0]):04X}); use plain text."
        )
    return name


def _string_list(data: dict[str, Any], key: str, most: int) -> list[str] | None:
    if key not in data:
        return None
    value = data[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidClientMetadataError(f"{key} must be a JSON array of strings.")
    if len(value) > most:
        raise InvalidClientMetadataError(f"{key} may list at most {most} values.")
    return value


class _Claims(ClientMetadataClaims):
    """Authlib's checks (URLs, jwks, values the server metadata allows) after ours (types,
    the redirect policy, names, grant types), which come first so that a wrong type is a
    400 naming the field, never a crash inside a check that trusted it."""

    policy: ClassVar[RedirectPolicy]

    def validate(self, now: Any = None, leeway: int = 0) -> None:
        for key in _TEXT_FIELDS:
            if key in self and not isinstance(self[key], str):
                raise InvalidClientMetadataError(f"{key} must be a string.")
            if key in self and len(self[key]) > 2000:
                raise InvalidClientMetadataError(f"{key} is longer than 2000 characters.")
        # Keys are for private_key_jwt, which this server does not offer: ignored, unchecked.
        self.pop("jwks", None)
        self.pop("jwks_uri", None)
        _string_list(self, "contacts", 10)
        uris = _string_list(self, "redirect_uris", MAX_REDIRECT_URIS)
        if not uris:
            raise InvalidRedirectURIError("redirect_uris is required: at least one redirect URI.")
        for uri in uris:
            try:
                self.policy.check(uri)
            except RedirectRefused as exc:
                raise InvalidRedirectURIError(str(exc)) from None
        grants = _string_list(self, "grant_types", 5)
        if grants is not None:
            unknown = sorted(set(grants) - set(GRANT_TYPES))
            if unknown or "authorization_code" not in grants:
                raise InvalidClientMetadataError(
                    "grant_types may be authorization_code and refresh_token only "
                    f"(authorization_code required); got {grants}."
                )
        responses = _string_list(self, "response_types", 5)
        if responses is not None and set(responses) != {"code"}:
            raise InvalidClientMetadataError(f"response_types must be [code]; got {responses}.")
        method = self.get("token_endpoint_auth_method", "client_secret_basic")
        if method not in AUTH_METHODS:
            raise InvalidClientMetadataError(
                f"token_endpoint_auth_method must be one of {', '.join(AUTH_METHODS)}."
            )
        if "client_name" in self:
            self["client_name"] = client_name(self["client_name"])
        super().validate(now, leeway)


# --- the endpoint -----------------------------------------------------------------------------


class RegistrationEndpoint(ClientRegistrationEndpoint):
    """`POST /register`: open registration, limited by the policy and the rate limits."""

    def __init__(
        self,
        registry: ClientRegistry,
        settings: RegistrationSettings,
        metadata: Callable[[], dict[str, Any]],
    ) -> None:
        claims = type("Claims", (_Claims,), {"policy": settings.policy})
        super().__init__(claims_classes=[claims])
        self.registry = registry
        self.settings = settings
        self.limits = RateLimit(registry.records)
        self._metadata = metadata

    # Authlib hooks
    def create_endpoint_request(self, request: Any) -> JsonRequest:
        json_request = JsonRequest(request.method, f"{request.issuer}{request.path}")
        json_request.payload = _Payload(json.loads(request.body))
        json_request.source = getattr(request, "source", "")
        return json_request

    def authenticate_token(self, request: JsonRequest) -> bool:
        return True  # open registration (RFC 7591 §3): the limits are in save_client

    def get_server_metadata(self) -> dict[str, Any]:
        return self._metadata()

    def extract_client_metadata(self, request: JsonRequest) -> dict[str, Any]:
        checked = super().extract_client_metadata(request)
        metadata: dict[str, Any] = {
            "redirect_uris": list(checked["redirect_uris"]),
            "token_endpoint_auth_method": checked["token_endpoint_auth_method"],
            # Both by default: a client that omits grant_types still gets a refresh token
            # rather than a sign-in every hour (RFC 7591 lets the server choose; we say so).
            "grant_types": list(dict.fromkeys(checked.get("grant_types") or GRANT_TYPES)),
            "response_types": ["code"],
        }
        for key in ("client_name", "scope"):
            if checked.get(key):
                metadata[key] = checked[key]
        request.client_metadata = metadata
        return metadata

    def generate_client_id(self, request: JsonRequest) -> str:
        return secrets.token_urlsafe(24)

    def generate_client_info(self, request: JsonRequest) -> dict[str, Any]:
        info = super().generate_client_info(request)
        if request.client_metadata["token_endpoint_auth_method"] == "none":
            info.pop("client_secret", None)  # a public client has no secret
            info.pop("client_secret_expires_at", None)
        return info

    def save_client(
        self, client_info: dict[str, Any], client_metadata: dict[str, Any], request: JsonRequest
    ) -> dict[str, Any]:
        source = source_key(request.source)
        settings = self.settings
        if not self.limits.take(f"src#{source}", settings.per_source_per_hour):
            raise RegistrationThrottled(
                f"Too many registrations from this address in the last hour (at most "
                f"{settings.per_source_per_hour}); reuse the client you registered, or wait."
            )
        if not self.limits.take("all", settings.total_per_hour):
            raise RegistrationThrottled(
                "This server takes no more registrations this hour; try again later."
            )
        self.registry.save(
            client_info["client_id"], client_info.get("client_secret"), client_metadata
        )
        log.info(
            "client registered client=%s name=%r auth=%s redirects=%s",
            client_info["client_id"],
            client_metadata.get("client_name", ""),
            client_metadata["token_endpoint_auth_method"],
            " ".join(client_metadata["redirect_uris"]),
            extra={
                "event": "client_registered",
                "client_id": client_info["client_id"],
                "auth_method": client_metadata["token_endpoint_auth_method"],
            },
        )
        return client_info


class _Payload:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data


def register(
    endpoint: RegistrationEndpoint, request: Any
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """(status, headers, JSON body) of one registration request; refusals are logged."""
    refused = _refuse_early(request)
    if refused is None:
        try:
            status, body, headers = endpoint.create_registration_response(
                endpoint.create_endpoint_request(request)
            )
            return status, dict(headers), body
        except OAuth2Error as error:
            status, body, headers = error()
            refused = status, dict(headers), dict(body)
    status, headers, body = refused
    log.info(
        "registration refused: %s %s",
        body.get("error"),
        body.get("error_description", ""),
        extra={
            "event": "registration_refused",
            "reason": body.get("error"),
            "source": source_key(getattr(request, "source", "")),
        },
    )
    return status, headers, body


def _refuse_early(request: Any) -> tuple[int, dict[str, str], dict[str, Any]] | None:
    """The body must be a JSON object sent as application/json (RFC 7591 §3.1)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    problem = None
    if content_type != "application/json":
        problem = "Send the client metadata as a JSON object (Content-Type: application/json)."
    else:
        try:
            data = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict) or not data:
            problem = "The body must be a non-empty JSON object of client metadata."
    if problem is None:
        return None
    return (
        400,
        {"Content-Type": "application/json"},
        {"error": "invalid_client_metadata", "error_description": problem},
    )


def redirect_matches(client: Client, requested: str) -> bool:
    return any(matches(registered, requested) for registered in client.redirect_uris)
