"""Serve a FakeLark over loopback HTTP with uvicorn in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from .fake import FakeLark


@contextmanager
def run_fake_lark(fake: FakeLark | None = None, *, port: int = 0) -> Iterator[FakeLark]:
    """Serve `fake` (a new FakeLark by default) on 127.0.0.1, set `fake.base_url`, yield it.

    `port=0` picks a free port. The server stops, and the port is released, on exit.
    """
    fake = fake or FakeLark()
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted sockets only for those, and
    # without it every keep-alive request waits ~40 ms on delayed ACKs.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    config = uvicorn.Config(fake.app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="fake-lark", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the fake Lark server did not start; see the uvicorn log above")
        time.sleep(0.01)
    host, bound_port = sock.getsockname()[:2]
    fake.base_url = f"http://{host}:{bound_port}"
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        fake.base_url = ""
