"""`python -m lark_mcp_server`: serve on HOST:PORT (defaults 0.0.0.0:8000)."""

from __future__ import annotations

import gc
import logging
import os
import sys

from . import logs
from .config import ConfigError, Settings


def main() -> int:
    # Argument errors go back to the model verbatim: leave out pydantic's docs link (noise
    # for an agent). Read by pydantic-core when the first error is formatted.
    os.environ.setdefault("PYDANTIC_ERRORS_INCLUDE_URL", "0")
    # Start-up builds only what lives as long as the process (modules, tools): nothing for the
    # cycle collector to find, yet each of its full passes over the growing heap costs
    # 10-50 ms. The server's lifespan freezes what start-up built and turns it back on.
    gc.disable()
    try:
        settings = Settings.from_env()
        logs.configure(settings.log_level)
        from .server import build_app

        app = build_app(settings, freeze_heap=True)
    except ConfigError as exc:
        logs.configure("INFO")
        logging.getLogger("lark_mcp_server").error("configuration error: %s", exc)
        print(f"lark_mcp_server: configuration error: {exc}", file=sys.stderr)
        return 2

    import uvicorn

    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
