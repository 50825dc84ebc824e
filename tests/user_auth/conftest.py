"""One authorization server process per module, in front of the session's fake Lark."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.lark_fake import FakeLark

from .harness import AuthServerProcess, start_auth_server


@pytest.fixture(scope="module")
def auth_server(
    lark_fake: FakeLark, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AuthServerProcess]:
    workdir = tmp_path_factory.mktemp("auth")
    with start_auth_server(
        lark_fake.base_url, lark_fake.app_id, lark_fake.app_secret, workdir
    ) as server:
        yield server


@pytest.fixture
def lark(fresh_lark: FakeLark) -> FakeLark:
    """The fake reset to "Alice is signed in to Feishu and consents"."""
    return fresh_lark
