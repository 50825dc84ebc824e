"""pytest fixtures shared by the suites that run the real server (tests/server, tests/more_tools).

Each suite's conftest imports these and defines its own session `server`, which `lark` uses.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.lark_fake import FakeLark

from .harness import ServerProcess


@pytest.fixture
def lark(fresh_lark: FakeLark, server: ServerProcess) -> Iterator[FakeLark]:
    """The fake, reset to its seed, with the server up; checks afterwards that it survived."""
    yield fresh_lark
    assert server.alive(), f"the server died:\n{server.output()[-3000:]}"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
