"""Serve an ASGI app over loopback HTTP with uvicorn in a background thread.

One piece for the fake Lark (tests/lark_fake), the local issuers and the gateway stand-ins.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

START_SECONDS = 10


@contextmanager
def serve_in_thread(app: Any, *, port: int = 0, what: str = "uvicorn") -> Iterator[str]:
    """Serve `app` on 127.0.0.1:`port` (0: a free port, bound before uvicorn starts, so no
    other process can take it); yield the base URL. The server stops, and the port is
    released, on exit. `what` names the server in the error raised if it does not start."""
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted sockets only for those, and
    # without it every keep-alive request waits ~40 ms on delayed ACKs.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=what, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + START_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(
                    f"{what} did not start within {START_SECONDS} s; see the uvicorn log above"
                )
            time.sleep(0.01)
        host, bound_port = sock.getsockname()[:2]
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
