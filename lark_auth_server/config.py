"""Settings of the authorization server, from the environment (identity-contract.md).

Locally every value is a variable. In AWS the three secrets are read from Secrets Manager at
cold start: `LARK_SECRET_ARN` ({"app_id", "app_secret"}, the runtime's own Lark secret),
`AUTH_CLIENTS_SECRET_ARN` (the `AUTH_CLIENTS` JSON list) and `AUTH_COOKIE_SECRET_ARN` (a
generated string the sign-in cookie key is derived from), so none sits in the template.
`AUTH_AUDIENCE` (the user gateway's MCP URL) is required in both: it is every token's `aud`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lark_user_store.sigv4 import (
    AwsApiError,
    CredentialsError,
    find_credentials,
    get_parameter,
    get_secret_string,
)

from .lark import accounts_origin
from .registration_settings import RegistrationSettings, registration_settings
from .signin_cookie import CookieKeyError, derive_key, load_key_file


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it and says what it should be."""


@dataclass(frozen=True)
class Client:
    """An OAuth client: pre-registered by an administrator (`AUTH_CLIENTS`: Quick Suite, a
    test client) or registered by itself at `/register` (`registration.py`)."""

    client_id: str
    client_secret: str = field(repr=False)
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...] = ()  # scopes of ours it may be granted (none by default)
    # Self-registered clients: the secret is kept as its SHA-256 only, a public client has
    # none (auth method "none"), and a person confirms the client on our consent page.
    secret_sha256: str = field(default="", repr=False)
    auth_method: str = field(default="client_secret_basic", repr=False)
    grant_types: tuple[str, ...] = ("authorization_code", "refresh_token")
    name: str = ""
    registered: bool = False


@dataclass(frozen=True)
class Settings:
    lark_domain: str
    app_id: str
    app_secret: str = field(repr=False)
    clients: dict[str, Client]
    store_url: str
    signing_key: str  # a PEM path or kms:<arn>
    lark_scopes: tuple[str, ...] = ("offline_access",)
    accounts_domain: str = ""
    previous_keys: str = ""
    issuer: str | None = None  # None: https://<the request's domainName> (Lambda)
    audience: str | None = None  # `AUTH_AUDIENCE`: every token's `aud`, the only `resource`
    cookie_key: bytes = field(default=b"", repr=False)  # b"": a random key for this process
    registration: RegistrationSettings = field(default_factory=RegistrationSettings)

    @property
    def accounts(self) -> str:
        return self.accounts_domain or accounts_origin(self.lark_domain)


def parse_clients(text: str, source: str = "AUTH_CLIENTS") -> dict[str, Client]:
    try:
        items = json.loads(text)
        if isinstance(items, dict):
            # One client as an object: what Secrets Manager generates in AWS (a generated
            # secret is always a JSON object; the CDK stack makes the quicksuite client so).
            items = [items]
        if not isinstance(items, list):
            raise ValueError("not a list")
        clients = {}
        for item in items:
            uris = item["redirect_uris"]
            if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
                raise ValueError("redirect_uris must be a list of URLs")
            client = Client(
                str(item["client_id"]),
                str(item["client_secret"]),
                tuple(uris),
                tuple(str(item.get("scope", "")).split()),
            )
            clients[client.client_id] = client
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{source} must be a JSON list of "
            '{"client_id", "client_secret", "redirect_uris": [...]} objects '
            f"({type(exc).__name__}: {exc})."
        ) from None
    if not clients:
        raise ConfigError(f"{source} lists no client: no one could sign in.")
    return clients


def _scopes(text: str) -> tuple[str, ...]:
    scopes = [s for s in text.split() if s]
    if "offline_access" not in scopes:
        scopes.append("offline_access")  # without it Lark sends no refresh token
    return tuple(scopes)


def _issuer(url: str) -> str:
    """OAuth needs TLS, except on the loopback interface (local runs, RFC 8252 7.3)."""
    parts = urlsplit(url.rstrip("/"))
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ConfigError(
            f"AUTH_ISSUER={url} must be an https:// URL (http:// only on 127.0.0.1 or localhost)."
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"AUTH_ISSUER={url} must not have a query or fragment.")
    return url.rstrip("/")


def _audience(url: str) -> str:
    """The resource our tokens are for: an absolute http(s) URL without a fragment."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.fragment:
        raise ConfigError(
            f"AUTH_AUDIENCE={url} must be the user gateway's MCP URL, e.g. "
            "https://<gateway-id>.gateway.bedrock-agentcore.<region>.amazonaws.com/mcp."
        )
    return url


def _need(env: Mapping[str, str], name: str, what: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set: {what}.")
    return value


def resolve_audience(value: str, env: Mapping[str, str]) -> str:
    """`AUTH_AUDIENCE` as given, or, for `ssm:<parameter name>` (what the stacks set: the user
    gateway's URL exists only after this server's stack, so its stack publishes it in SSM),
    that parameter's value, read once per cold start."""
    if not value.startswith("ssm:"):
        return value
    name = value.removeprefix("ssm:")
    try:
        found = get_parameter(name, find_credentials(env), env)
    except AwsApiError as exc:
        if exc.kind == "ParameterNotFound":
            raise ConfigError(
                f"AUTH_AUDIENCE reads the SSM parameter {name}, which does not exist yet: deploy "
                "the user gateway's stack (it publishes its MCP URL there)."
            ) from None
        raise ConfigError(
            f"Cannot read the SSM parameter {name} ({exc}); the role needs ssm:GetParameter."
        ) from None
    except (CredentialsError, OSError, ValueError) as exc:
        raise ConfigError(f"Cannot read the SSM parameter {name} ({exc}).") from None
    return found or ""


def _settings(env: Mapping[str, str], **where: Any) -> Settings:
    """`Settings` from `where` (what the two environments read differently: the Lark app, the
    clients, the store, the key and the issuer) plus the variables both read alike."""
    return Settings(
        lark_domain=env.get("LARK_DOMAIN", "").strip() or "https://open.feishu.cn",
        accounts_domain=env.get("LARK_ACCOUNTS_DOMAIN", "").strip(),
        lark_scopes=_scopes(env.get("LARK_USER_SCOPES", "")),
        previous_keys=env.get("AUTH_PREVIOUS_SIGNING_KEYS", ""),
        audience=_audience(
            resolve_audience(
                _need(env, "AUTH_AUDIENCE", "the MCP URL of the user gateway, every token's `aud`"),
                env,
            )
        ),
        registration=registration_settings(env),
        **where,
    )


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Local settings: everything from variables (see docs/user-auth.md)."""
    env = os.environ if env is None else env
    store_url = env.get("USER_TOKEN_STORE", "").strip() or "sqlite:///.lark-auth/tokens.db"
    beside = Path(".")
    if store_url.startswith("sqlite:///"):
        beside = Path(store_url.removeprefix("sqlite:///")).parent
    default_key = str(beside / "signing-key.pem") if beside != Path(".") else "signing-key.pem"
    cookie_key_path = env.get("AUTH_COOKIE_KEY", "").strip() or str(beside / "cookie-key")
    return _settings(
        env,
        app_id=_need(env, "LARK_APP_ID", "the Lark app's App ID (developer console)"),
        app_secret=_need(env, "LARK_APP_SECRET", "the Lark app's App Secret"),
        clients=parse_clients(
            _need(env, "AUTH_CLIENTS", "a JSON list of the OAuth clients allowed to sign in")
        ),
        store_url=store_url,
        signing_key=env.get("AUTH_SIGNING_KEY", "").strip() or default_key,
        cookie_key=_local_cookie_key(cookie_key_path),
        issuer=_issuer(
            _need(
                env,
                "AUTH_ISSUER",
                "the URL clients reach this server at, e.g. http://127.0.0.1:8001",
            )
        ),
    )


def _local_cookie_key(path: str) -> bytes:
    try:
        return load_key_file(path)
    except CookieKeyError as exc:
        raise ConfigError(str(exc)) from None


def read_secret(arn: str, env: Mapping[str, str]) -> str:
    """`GetSecretValue(SecretId=arn)['SecretString']` through the stdlib SigV4 client."""
    parts = arn.split(":")
    if len(parts) < 7 or parts[2] != "secretsmanager":
        raise ConfigError(f"{arn!r} is not a Secrets Manager secret ARN.")
    try:
        secret = get_secret_string(arn, find_credentials(env), env)
    except (AwsApiError, CredentialsError, OSError) as exc:
        raise ConfigError(
            f"Cannot read the secret {arn} ({exc}); the role needs secretsmanager:GetSecretValue."
        ) from None
    return str(secret or "")


def from_aws_env(env: Mapping[str, str] | None = None) -> Settings:
    """Lambda settings: the two secrets come from Secrets Manager (see the module docstring)."""
    env = os.environ if env is None else env
    lark: dict[str, Any] = {}
    try:
        lark = json.loads(read_secret(_need(env, "LARK_SECRET_ARN", "the Lark app secret"), env))
        app_id, app_secret = str(lark["app_id"]), str(lark["app_secret"])
    except (ValueError, KeyError, TypeError):
        raise ConfigError(
            'The Lark secret must be JSON {"app_id": "...", "app_secret": "..."}.'
        ) from None
    clients_arn = _need(env, "AUTH_CLIENTS_SECRET_ARN", "the secret holding the OAuth clients")
    return _settings(
        env,
        app_id=app_id,
        app_secret=app_secret,
        clients=parse_clients(read_secret(clients_arn, env), "The AUTH_CLIENTS secret"),
        store_url=_need(env, "USER_TOKEN_STORE", "dynamodb://<table-name>"),
        signing_key=_need(env, "AUTH_SIGNING_KEY", "kms:<key arn>"),
        cookie_key=derive_key(
            read_secret(
                _need(env, "AUTH_COOKIE_SECRET_ARN", "the secret that seals sign-in cookies"), env
            )
        ),
        issuer=_issuer(env["AUTH_ISSUER"].strip()) if env.get("AUTH_ISSUER", "").strip() else None,
    )
