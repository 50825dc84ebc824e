"""`python -m local_gateway`: the user-gateway stand-in on HOST:PORT (default 127.0.0.1:8002).

Environment:
- `UPSTREAM_URL` (required): the MCP server's `/mcp` URL, e.g. `http://127.0.0.1:8000/mcp`.
- `AUTH_ISSUER` (required): the authorization server's issuer; its discovery document is
  `<AUTH_ISSUER>/.well-known/openid-configuration`.
- `AUTH_AUDIENCE`: the `aud` a token must carry; default this stand-in's own `/mcp` URL.
- `AUTH_ALLOWED_CLIENTS`: comma-separated client ids the authorizer allows; default any client
  (the deployed user gateway authorizes by audience).
- `PUBLIC_URL`: the origin clients reach it at; default `http://HOST:PORT`.
"""

from __future__ import annotations

import logging
import os
import sys
from urllib.parse import urlsplit

from .app import LocalGateway


class ConfigError(ValueError):
    pass


def _url(name: str, value: str | None) -> str:
    if not value:
        raise ConfigError(f"{name} is required (see `python -m local_gateway --help`)")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name}={value!r} is not an http(s) URL")
    return value


def from_env(env: dict[str, str]) -> tuple[LocalGateway, str, int]:
    host = env.get("HOST", "127.0.0.1")
    try:
        port = int(env.get("PORT", "8002"))
    except ValueError:
        raise ConfigError(f"PORT={env.get('PORT')!r} is not a number") from None
    if not 0 < port < 65536:
        raise ConfigError(f"PORT={port} is not a TCP port")
    public = _url("PUBLIC_URL", env.get("PUBLIC_URL") or f"http://{host}:{port}")
    audience = env.get("AUTH_AUDIENCE") or None
    if audience is not None:
        _url("AUTH_AUDIENCE", audience)
    clients = tuple(c.strip() for c in env.get("AUTH_ALLOWED_CLIENTS", "").split(",") if c.strip())
    gateway = LocalGateway(
        issuer=_url("AUTH_ISSUER", env.get("AUTH_ISSUER")),
        upstream_url=_url("UPSTREAM_URL", env.get("UPSTREAM_URL")),
        public_url=public,
        audience=audience,
        allowed_clients=clients,
    )
    return gateway, host, port


def main() -> None:
    if "--help" in sys.argv[1:] or "-h" in sys.argv[1:]:
        print(__doc__)
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        gateway, host, port = from_env(dict(os.environ))
    except ConfigError as exc:
        print(f"local_gateway: {exc}", file=sys.stderr)
        sys.exit(2)
    import uvicorn

    logging.getLogger("local_gateway").info(
        "user gateway stand-in on %s -> %s (issuer %s)",
        gateway.mcp_url,
        gateway.upstream_url,
        gateway.issuer,
    )
    uvicorn.run(gateway.app, host=host, port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
