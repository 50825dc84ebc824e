"""pytest fixtures: one running fake per session, reset to the seed on demand.

Registered from tests/conftest.py with `pytest_plugins = ["tests.lark_fake.fixtures"]`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .fake import FakeLark
from .runner import run_fake_lark


@pytest.fixture(scope="session")
def lark_fake() -> Iterator[FakeLark]:
    """A FakeLark served on loopback for the whole session (`.base_url` set)."""
    with run_fake_lark(FakeLark()) as fake:
        yield fake


@pytest.fixture
def fresh_lark(lark_fake: FakeLark) -> FakeLark:
    """The session's fake, reset to the seeded state with no faults, denials or request log."""
    lark_fake.reset()
    return lark_fake
