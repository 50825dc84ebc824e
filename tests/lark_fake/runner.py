"""Serve a FakeLark over loopback HTTP with uvicorn in a background thread."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tests.loopback import serve_in_thread

from .fake import FakeLark


@contextmanager
def run_fake_lark(fake: FakeLark | None = None, *, port: int = 0) -> Iterator[FakeLark]:
    """Serve `fake` (a new FakeLark by default) on 127.0.0.1, set `fake.base_url`, yield it.

    `port=0` picks a free port. The server stops, and the port is released, on exit.
    """
    fake = fake or FakeLark()
    with serve_in_thread(fake.app, port=port, what="the fake Lark server") as url:
        fake.base_url = url
        try:
            yield fake
        finally:
            fake.base_url = ""
