"""A server process with user sign-in on, the fake Lark, a local issuer and a SQLite store.

`person(open_id, ...)` stores a person's Lark tokens the way sign-in does (issued by the fake,
so Lark accepts them) and returns a caller JWT for them; calls then go through `call_as`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lark_user_store import UserTokens, open_store
from tests.lark_fake import FakeLark
from tests.lark_fake.oauth import TOKEN_PATH as OAUTH_TOKEN_PATH
from tests.lark_fake.oauth import issue_user_tokens
from tests.server.fixtures import anyio_backend as anyio_backend
from tests.server.harness import ServerProcess, run_server, server_env

from .issuer import AUDIENCE, CLIENT_ID, LocalIssuer, serve_issuer


@pytest.fixture(scope="session")
def issuer() -> Iterator[LocalIssuer]:
    with serve_issuer(LocalIssuer()) as running:
        yield running


@pytest.fixture(scope="session")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('user-store') / 'tokens.db'}"


def user_env(lark: FakeLark, issuer: LocalIssuer, store_url: str, **extra: str) -> dict[str, str]:
    return server_env(
        lark.base_url,
        LARK_USER_AUTH_ISSUER=issuer.url,
        LARK_USER_AUTH_CLIENTS=f"other-client,{CLIENT_ID}",
        LARK_USER_AUTH_AUDIENCE=AUDIENCE,
        USER_TOKEN_STORE=store_url,
        LOG_LEVEL="DEBUG",
        **extra,
    )


@pytest.fixture(scope="session")
def server(lark_fake: FakeLark, issuer: LocalIssuer, store_url: str) -> Iterator[ServerProcess]:
    with run_server(user_env(lark_fake, issuer, store_url)) as process:
        yield process


@pytest.fixture
def lark(fresh_lark: FakeLark, server: ServerProcess) -> Iterator[FakeLark]:
    yield fresh_lark
    assert server.alive(), f"the server died:\n{server.output()[-3000:]}"


Person = Callable[..., tuple[str, UserTokens]]


def store_person(
    lark: FakeLark,
    issuer: LocalIssuer,
    store_url: str,
    open_id: str,
    *,
    access_ttl: int = 7200,
    **overrides: Any,
) -> tuple[str, UserTokens]:
    """Store `open_id`'s Lark tokens as sign-in does (issued by the fake, so Lark accepts
    them; access token valid for `access_ttl` s); return (caller JWT, stored tokens)."""
    issued = issue_user_tokens(lark, open_id, access_ttl=max(access_ttl, 1))
    now = time.time()
    tokens = UserTokens(
        open_id=open_id,
        access_token=issued["access_token"],
        access_expires_at=now + access_ttl,
        refresh_token=issued["refresh_token"],
        refresh_expires_at=now + issued["refresh_token_expires_in"],
        scopes=(),
        name=lark.user(open_id)["name"],
        tenant_key=lark.tenant_key,
    )
    if overrides:
        tokens = dataclasses.replace(tokens, **overrides)
    return issuer.token(open_id), open_store(store_url).put(tokens)


@pytest.fixture
def person(lark: FakeLark, issuer: LocalIssuer, store_url: str) -> Person:
    """Store `open_id`'s Lark tokens (access token valid for `access_ttl` s) and return
    (caller JWT, stored tokens)."""

    def make(open_id: str, *, access_ttl: int = 7200, **overrides: Any) -> tuple[str, UserTokens]:
        return store_person(lark, issuer, store_url, open_id, access_ttl=access_ttl, **overrides)

    return make


def bot_calls(lark: FakeLark) -> list[Any]:
    """Requests the fake saw with a tenant token, or fetching one: none may follow a
    signed-in request."""
    return [
        r
        for r in lark.requests
        if r.path == FakeLark.TOKEN_PATH
        or r.headers.get("authorization", "").startswith("Bearer t-")
    ]


def refreshes(lark: FakeLark) -> list[str]:
    """The refresh tokens presented to Lark's token endpoint, in order."""
    return [
        r.json.get("refresh_token")
        for r in lark.requests
        if r.path == OAUTH_TOKEN_PATH
        and isinstance(r.json, dict)
        and r.json.get("grant_type") == "refresh_token"
    ]


def store_of(url: str) -> Any:
    return open_store(url)


@pytest.fixture
def tmp_store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tokens.db'}"
