"""Configuration from the environment, validated once at startup."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_DOMAIN = "https://open.feishu.cn"
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(Exception):
    """A configuration mistake that must stop the server at startup, with what to fix."""


def _origins(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma list of browser origins (`scheme://host[:port]`, `:*` for any port)."""
    values = tuple(v.strip().rstrip("/") for v in env.get(name, "").split(",") if v.strip())
    for value in values:
        scheme, sep, rest = value.partition("://")
        if scheme not in ("http", "https") or not sep or not rest or "/" in rest:
            raise ConfigError(
                f"{name} entry {value!r} is not an origin such as https://app.example.com "
                "or http://localhost:6274 (scheme://host[:port], no path)"
            )
    return values


def _hosts(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma list of Host header values (`host[:port]`, `:*` for any port)."""
    values = tuple(v.strip() for v in env.get(name, "").split(",") if v.strip())
    for value in values:
        if "/" in value or " " in value:
            raise ConfigError(f"{name} entry {value!r} is not a host[:port] such as localhost:8000")
    return values


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if value < 0:
        raise ConfigError(f"{name}={raw!r} must not be negative")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything the server reads from its environment."""

    host: str = "0.0.0.0"
    port: int = 8000
    lark_domain: str = DEFAULT_DOMAIN
    app_id: str | None = None
    app_secret: str | None = None
    secret_arn: str | None = None
    tools: tuple[str, ...] | None = None
    """`LARK_TOOLS` allowlist, checked against the registered tools in `build_server`."""
    read_only: bool = False
    log_level: str = "INFO"
    call_deadline: float = 45.0
    """Seconds a whole tool call may take, retries included (Quick Suite allows 60)."""
    http_timeout: float = 10.0
    """Seconds for one HTTP request to Lark."""
    retry_base: float = 0.5
    """First backoff step in seconds for 5xx/connection errors; tests set it near zero."""
    rate_limit_cap: float = 10.0
    """Longest single wait a rate-limit answer can impose, in seconds."""
    user_auth_issuer: str | None = None
    """`LARK_USER_AUTH_ISSUER`: the authorization server whose JWTs name a signed-in person."""
    user_auth_clients: tuple[str, ...] = ()
    """`LARK_USER_AUTH_CLIENTS`: OAuth client ids whose JWTs are accepted (comma list)."""
    user_auth_audience: str | None = None
    """`LARK_USER_AUTH_AUDIENCE`: the `aud` a caller JWT must carry (the user gateway's MCP URL)."""
    user_token_store: str | None = None
    """`USER_TOKEN_STORE`: where the people's Lark tokens live (`sqlite:///...`, `dynamodb://...`)."""
    allowed_origins: tuple[str, ...] = ()
    """`ALLOWED_ORIGINS`: browser origins allowed to call /mcp besides the server's own."""
    allowed_hosts: tuple[str, ...] = ()
    """`ALLOWED_HOSTS`: extra Host values accepted on a loopback bind (e.g. a local proxy)."""

    @property
    def user_auth(self) -> bool:
        """True when the server can act as a signed-in person (all three settings given)."""
        return bool(
            self.user_auth_issuer
            and self.user_auth_clients
            and self.user_auth_audience
            and self.user_token_store
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        port_raw = env.get("PORT", "8000").strip() or "8000"
        try:
            port = int(port_raw)
        except ValueError:
            raise ConfigError(f"PORT={port_raw!r} is not a port number") from None
        domain = (env.get("LARK_DOMAIN") or DEFAULT_DOMAIN).strip().rstrip("/")
        if not domain.startswith(("https://", "http://")):
            raise ConfigError(
                f"LARK_DOMAIN={domain!r} must be an origin such as {DEFAULT_DOMAIN} "
                "or https://open.larksuite.com"
            )
        tools_raw = env.get("LARK_TOOLS", "").strip()
        tools = tuple(t.strip() for t in tools_raw.split(",") if t.strip()) or None
        level = (env.get("LOG_LEVEL") or "INFO").strip().upper()
        if level not in _LOG_LEVELS:
            raise ConfigError(f"LOG_LEVEL={level!r} is not one of {', '.join(_LOG_LEVELS)}")
        issuer, clients, audience, store = _user_auth(env)
        return cls(
            host=(env.get("HOST") or "0.0.0.0").strip(),
            port=port,
            lark_domain=domain,
            app_id=(env.get("LARK_APP_ID") or "").strip() or None,
            app_secret=(env.get("LARK_APP_SECRET") or "").strip() or None,
            secret_arn=(env.get("LARK_SECRET_ARN") or "").strip() or None,
            tools=tools,
            read_only=_flag(env.get("LARK_READ_ONLY")),
            log_level=level,
            call_deadline=_number(env, "LARK_CALL_DEADLINE_SECONDS", 45.0),
            http_timeout=_number(env, "LARK_HTTP_TIMEOUT_SECONDS", 10.0),
            retry_base=_number(env, "LARK_RETRY_BASE_SECONDS", 0.5),
            rate_limit_cap=_number(env, "LARK_RATE_LIMIT_CAP_SECONDS", 10.0),
            user_auth_issuer=issuer,
            user_auth_clients=clients,
            user_auth_audience=audience,
            user_token_store=store,
            allowed_origins=_origins(env, "ALLOWED_ORIGINS"),
            allowed_hosts=_hosts(env, "ALLOWED_HOSTS"),
        )


def _user_auth(
    env: Mapping[str, str],
) -> tuple[str | None, tuple[str, ...], str | None, str | None]:
    """The four user-auth settings: all given, or none (then only the bot is served)."""
    issuer = (env.get("LARK_USER_AUTH_ISSUER") or "").strip().rstrip("/") or None
    raw_clients = env.get("LARK_USER_AUTH_CLIENTS") or ""
    clients = tuple(dict.fromkeys(c.strip() for c in raw_clients.split(",") if c.strip()))
    audience = (env.get("LARK_USER_AUTH_AUDIENCE") or "").strip() or None
    store = (env.get("USER_TOKEN_STORE") or "").strip() or None
    given = {
        "LARK_USER_AUTH_ISSUER": issuer,
        "LARK_USER_AUTH_CLIENTS": clients,
        "LARK_USER_AUTH_AUDIENCE": audience,
        "USER_TOKEN_STORE": store,
    }
    missing = [name for name, value in given.items() if not value]
    if len(missing) == len(given):
        return None, (), None, None
    if missing:
        raise ConfigError(
            f"user sign-in is half configured: set {', '.join(missing)} as well "
            f"(or unset all of {', '.join(given)})"
        )
    assert issuer is not None and store is not None and audience is not None
    if not issuer.startswith(("https://", "http://")):
        raise ConfigError(
            f"LARK_USER_AUTH_ISSUER={issuer!r} must be the authorization server's issuer URL, "
            "e.g. https://auth.example.com"
        )
    if not store.startswith(("sqlite:///", "dynamodb://")):
        raise ConfigError(
            f"USER_TOKEN_STORE={store!r} must be sqlite:///<path> or dynamodb://<table-name>"
        )
    if not audience.startswith(("https://", "http://", "ssm:/")):
        raise ConfigError(
            f"LARK_USER_AUTH_AUDIENCE={audience!r} must be the user gateway's MCP URL (the "
            "authorization server's AUTH_AUDIENCE), e.g. https://<gateway>/mcp, or "
            "ssm:<parameter name> holding it"
        )
    return issuer, clients, audience, store
