"""One real server process per test session, pointed at the session's fake Lark."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.lark_fake import FakeLark

from .fixtures import anyio_backend as anyio_backend
from .fixtures import lark as lark
from .harness import ServerProcess, run_server, server_env


@pytest.fixture(scope="session")
def server(lark_fake: FakeLark) -> Iterator[ServerProcess]:
    # DEBUG, so the log-hygiene test sees everything the server can print.
    with run_server(server_env(lark_fake.base_url, LOG_LEVEL="DEBUG")) as process:
        yield process


@pytest.fixture(scope="session")
def container_server(lark_fake: FakeLark) -> Iterator[ServerProcess]:
    """Bound to 0.0.0.0 as in the container: the runtime's Host is accepted, whatever it is."""
    with run_server(server_env(lark_fake.base_url), host="0.0.0.0") as process:
        yield process
