"""`python -m lark_auth_server`: the authorization server on HOST:PORT (default 127.0.0.1:8001).

Configuration: see `config.from_env` and docs/user-auth.md ("Running it locally").
"""

from __future__ import annotations

import logging
import os
import sys

from .config import ConfigError, from_env
from .logs import configure


def main() -> None:
    configure()  # JSON lines, as the deployed server writes them (logs.py)
    from lark_user_store import StoreError

    from .asgi import build_app
    from .core import AuthServer
    from .keys import SigningKeyError

    try:
        settings = from_env()
        server = AuthServer.from_settings(settings)
    except (ConfigError, StoreError, SigningKeyError) as exc:  # one readable line, no traceback
        print(f"lark_auth_server: {exc}", file=sys.stderr)
        sys.exit(2)
    import uvicorn

    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8001"))
    logging.getLogger("lark_auth_server").info(
        "authorization server for issuer %s on http://%s:%s", settings.issuer, host, port
    )
    uvicorn.run(
        build_app(server, settings.issuer or f"http://{host}:{port}"),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,  # access logs would carry /callback?code=... query strings
    )


if __name__ == "__main__":
    main()
