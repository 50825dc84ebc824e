"""The user token store on both backends: SQLite on disk and DynamoDB over real HTTP.

Each test runs against each backend through the public `open_store` / `open_records` URLs, so
the DynamoDB case exercises the stdlib SigV4 client, the JSON protocol and DynamoDB's
`ConditionExpression` handling exactly as the deployed code does, with KMS (moto's server mode)
wrapping the data keys. The race tests run the DynamoDB case against dynalite, whose
conditional writes are atomic as DynamoDB's are (moto's are not: they would measure the mock).
"""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import stat
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lark_user_store import StoreError, TokenStore, UserTokens, open_records, open_store

from .dynalite import create_plain_table, dynalite_server
from .moto_aws import boto_client, create_table, moto_server


@pytest.fixture(scope="module")
def moto_env() -> Iterator[dict[str, str]]:
    with moto_server() as env:
        yield env


@pytest.fixture(scope="module")
def kms_key(moto_env: dict[str, str]) -> str:
    """A symmetric KMS key (moto) that wraps the stores' data keys."""
    return boto_client("kms", moto_env).create_key()["KeyMetadata"]["Arn"]


@pytest.fixture(scope="module")
def dynalite_env(moto_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """DynamoDB calls to dynalite, KMS calls to moto."""
    with dynalite_server() as env:
        yield {
            **moto_env,
            "AWS_ENDPOINT_URL_DYNAMODB": env["AWS_ENDPOINT_URL"],
            "AWS_ENDPOINT_URL_KMS": moto_env["AWS_ENDPOINT_URL"],
        }


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> TokenStore:
    if request.param == "sqlite":
        return open_store(f"sqlite:///{tmp_path}/tokens.db")
    env = request.getfixturevalue("moto_env")
    table = f"tokens-{uuid.uuid4().hex[:8]}"
    create_table(env, table)
    return open_store(f"dynamodb://{table}?kms_key={request.getfixturevalue('kms_key')}", env)


@pytest.fixture(params=["sqlite", "dynalite"])
def race_store(request: pytest.FixtureRequest, tmp_path: Path) -> TokenStore:
    """A store whose conditional writes are atomic: SQLite, or DynamoDB as dynalite."""
    if request.param == "sqlite":
        return open_store(f"sqlite:///{tmp_path}/tokens.db")
    env = request.getfixturevalue("dynalite_env")
    table = f"tokens-{uuid.uuid4().hex[:8]}"
    create_plain_table(env, table)
    return open_store(f"dynamodb://{table}?kms_key={request.getfixturevalue('kms_key')}", env)


def _race(n: int, action) -> list[object]:
    """`action(i)` in `n` threads released at once; their results."""
    barrier = threading.Barrier(n)
    results: list[object] = []

    def run(i: int) -> None:
        barrier.wait()
        results.append(action(i))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == n
    return results


def _tokens(open_id: str = "ou_alice", **changes: object) -> UserTokens:
    now = time.time()
    base = UserTokens(
        open_id=open_id,
        access_token="u-access-1",
        access_expires_at=now + 7200,
        refresh_token="ur-refresh-1",
        refresh_expires_at=now + 7 * 86400,
        scopes=("calendar:calendar:readonly", "offline_access"),
        name="Alice Wang",
        tenant_key="fake_tenant_1",
    )
    return dataclasses.replace(base, **changes)


def test_put_then_get_round_trips_every_field(store: TokenStore):
    stored = store.put(_tokens())
    assert stored.version == 1
    assert store.get("ou_alice") == stored
    assert store.get("ou_nobody") is None


def test_put_is_unconditional_and_bumps_the_version(store: TokenStore):
    first = store.put(_tokens())
    second = store.put(_tokens(access_token="u-access-2"))
    assert second.version == first.version + 1
    assert store.get("ou_alice").access_token == "u-access-2"


def test_replace_wins_only_on_the_version_it_read(store: TokenStore):
    read = store.put(_tokens())
    won = store.replace(read, dataclasses.replace(read, access_token="u-access-2"))
    assert won is not None and won.version == read.version + 1
    lost = store.replace(read, dataclasses.replace(read, access_token="u-access-3"))
    assert lost is None
    assert store.get("ou_alice").access_token == "u-access-2"


def test_mark_needs_reauth_is_conditional(store: TokenStore):
    read = store.put(_tokens())
    store.replace(read, dataclasses.replace(read, access_token="u-access-2"))
    assert store.mark_needs_reauth(read) is False  # someone refreshed since: not logged out
    current = store.get("ou_alice")
    assert current.needs_reauth is False
    assert store.mark_needs_reauth(current) is True
    assert store.get("ou_alice").needs_reauth is True


def test_delete_forgets_the_user(store: TokenStore):
    store.put(_tokens())
    store.delete("ou_alice")
    assert store.get("ou_alice") is None
    store.delete("ou_alice")  # deleting nothing is fine


def test_concurrent_refreshes_have_exactly_one_winner(race_store: TokenStore):
    """Eight writers read the same version and race to store their refreshed tokens."""
    store = race_store
    read = store.put(_tokens())
    results = _race(
        8,
        lambda n: store.replace(read, dataclasses.replace(read, access_token=f"u-access-{n}")),
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert store.get("ou_alice").access_token == winners[0].access_token


def test_records_create_take_and_expire(store: TokenStore):
    records = store.records
    live = int(time.time()) + 300
    assert records.create("code#1", {"client_id": "c"}, expires_at=live) is not None
    assert records.create("code#1", {"client_id": "other"}, expires_at=live) is None
    taken = records.take("code#1")
    assert taken is not None and taken.data == {"client_id": "c"}
    assert records.take("code#1") is None  # single use
    past = int(time.time()) - 1
    records.put("code#2", {"x": 1}, expires_at=past)
    assert records.get("code#2") is None
    assert records.take("code#2") is None
    assert records.create("code#2", {"x": 2}, expires_at=live) is not None  # expired = absent
    kept = records.put("code#2", {"x": 3})  # no expiry any more: kept until deleted
    assert kept.version == 2 and records.get("code#2") == kept


def test_concurrent_takes_hand_a_code_out_once(race_store: TokenStore):
    race_store.records.create("code#race", {"n": 1}, expires_at=int(time.time()) + 300)
    got = _race(6, lambda _: race_store.records.take("code#race"))
    assert sum(1 for g in got if g is not None) == 1


def test_concurrent_leases_have_one_holder_and_only_it_releases(race_store: TokenStore):
    records = race_store.records
    until = int(time.time()) + 60
    got = _race(8, lambda n: records.create("refreshing#ou_alice", {"holder": n}, expires_at=until))
    held = [g for g in got if g is not None]
    assert len(held) == 1
    holder = held[0].data
    released = _race(8, lambda n: records.delete_if("refreshing#ou_alice", {"holder": n}))
    assert released.count(True) == 1  # only the holder's own release deleted it
    assert records.get("refreshing#ou_alice") is None
    assert records.delete_if("refreshing#ou_alice", holder) is False  # already gone


def test_dynamodb_items_follow_the_table_schema(moto_env: dict[str, str], kms_key: str):
    table = f"tokens-{uuid.uuid4().hex[:8]}"
    create_table(moto_env, table)
    store = open_store(f"dynamodb://{table}?kms_key={kms_key}", moto_env)
    store.put(_tokens())
    item = boto_client("dynamodb", moto_env).get_item(
        TableName=table, Key={"pk": {"S": "user#ou_alice"}}
    )["Item"]
    assert set(item) == {"pk", "data", "version", "ttl"}
    assert item["version"] == {"N": "1"}
    assert int(item["ttl"]["N"]) > time.time() + 7 * 86400
    assert "u-access-1" not in item["data"]["S"] and "ur-refresh-1" not in item["data"]["S"]


def test_dynamodb_errors_say_what_to_check(moto_env: dict[str, str]):
    store = open_store("dynamodb://no-such-table", moto_env)
    with pytest.raises(StoreError, match=r"no-such-table.*ResourceNotFoundException"):
        store.get("ou_alice")
    with pytest.raises(StoreError, match="AWS_REGION"):
        open_store("dynamodb://t", {k: v for k, v in moto_env.items() if k != "AWS_REGION"})


def test_a_dynamodb_store_without_its_kms_key_never_stores_tokens_in_plaintext(
    moto_env: dict[str, str], kms_key: str
):
    table = f"tokens-{uuid.uuid4().hex[:8]}"
    create_table(moto_env, table)
    keyless = open_store(f"dynamodb://{table}", moto_env)
    with pytest.raises(StoreError, match="kms_key"):
        keyless.put(_tokens())
    assert keyless.records.get("user#ou_alice") is None
    open_store(f"dynamodb://{table}?kms_key={kms_key}", moto_env).put(_tokens())
    with pytest.raises(StoreError, match="kms_key"):
        keyless.get("ou_alice")
    keyless.delete("ou_alice")  # signing a person out needs no key
    assert keyless.records.get("user#ou_alice") is None
    for bad in ("?kms_key=", "?key=abc", f"?kms_key={kms_key}&kms_key=x"):
        with pytest.raises(StoreError, match="kms_key=<key ARN>"):
            open_store(f"dynamodb://{table}{bad}", moto_env)


def test_unknown_store_urls_are_refused_with_the_accepted_forms():
    with pytest.raises(StoreError, match=r"sqlite:///<path>.*dynamodb://<table-name>"):
        open_records("redis://localhost")
    with pytest.raises(StoreError, match="table name"):
        open_records("dynamodb://")


def test_the_package_imports_no_boto3():
    """It runs inside the MCP server image, which has no boto3: no import of it anywhere."""
    for path in Path("lark_user_store").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n.split(".")[0] in ("boto3", "botocore") for n in names), path


# -- encryption at rest ---------------------------------------------------------------------


def test_tokens_are_sealed_field_by_field(store: TokenStore):
    store.put(_tokens())
    raw = store.records.get("user#ou_alice")
    text = json.dumps(raw.data)
    assert "u-access-1" not in text and "ur-refresh-1" not in text
    assert "access_token" not in raw.data and "refresh_token" not in raw.data
    assert set(raw.data["sealed"]) == {"v", "key", "access_token", "refresh_token"}
    assert raw.data["name"] == "Alice Wang"  # only the tokens are secret
    # A second write reuses the cached data key, with fresh nonces.
    store.put(_tokens())
    again = store.records.get("user#ou_alice").data["sealed"]
    assert again["key"] == raw.data["sealed"]["key"]
    assert again["access_token"] != raw.data["sealed"]["access_token"]
    # No refresh token: nothing sealed for it, None read back.
    store.put(_tokens("ou_bob", refresh_token=None, refresh_expires_at=None))
    assert "refresh_token" not in store.records.get("user#ou_bob").data["sealed"]
    assert store.get("ou_bob").refresh_token is None


def test_sealed_tokens_do_not_open_for_another_person_or_field(store: TokenStore):
    store.put(_tokens())
    alice = store.records.get("user#ou_alice").data
    store.records.put("user#ou_mallory", {**alice, "open_id": "ou_mallory"})
    with pytest.raises(StoreError, match="ou_mallory"):
        store.get("ou_mallory")
    swapped = dict(alice["sealed"])
    swapped["access_token"], swapped["refresh_token"] = (
        swapped["refresh_token"],
        swapped["access_token"],
    )
    store.records.put("user#ou_alice", {**alice, "sealed": swapped})
    with pytest.raises(StoreError, match="sign in again"):
        store.get("ou_alice")


def test_a_plaintext_row_is_read_once_and_rewritten_sealed(store: TokenStore):
    """Rows written before encryption keep working: the first read seals them."""
    tokens = _tokens()
    legacy = {**dataclasses.asdict(tokens), "scopes": list(tokens.scopes)}
    legacy.pop("version")
    written = store.records.put("user#ou_alice", legacy)
    read = store.get("ou_alice")
    assert read == dataclasses.replace(tokens, version=written.version + 1)
    raw = store.records.get("user#ou_alice")
    assert "sealed" in raw.data and "u-access-1" not in json.dumps(raw.data)
    assert store.get("ou_alice") == read  # now an ordinary sealed row, not rewritten again


def test_the_sqlite_file_and_its_key_file_are_private(tmp_path: Path):
    old = os.umask(0o022)
    try:
        store = open_store(f"sqlite:///{tmp_path}/db/tokens.db")
        store.put(_tokens())
    finally:
        os.umask(old)
    for name in ("tokens.db", "tokens.db.key", "tokens.db-wal", "tokens.db-shm"):
        path = tmp_path / "db" / name
        if path.exists() or name in ("tokens.db", "tokens.db.key"):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
    # A file made world-readable by hand is narrowed when the store opens it.
    os.chmod(tmp_path / "db" / "tokens.db", 0o644)
    reopened = open_store(f"sqlite:///{tmp_path}/db/tokens.db")
    assert stat.S_IMODE((tmp_path / "db" / "tokens.db").stat().st_mode) == 0o600
    assert reopened.get("ou_alice").access_token == "u-access-1"  # same key file


def test_stores_opened_at_the_same_moment_agree_on_one_key(tmp_path: Path):
    """The auth server and the MCP server may open a new local store (and create its key
    file) at the same moment; six threads stand in for them."""
    url = f"sqlite:///{tmp_path}/tokens.db"
    stores = _race(6, lambda _: open_store(url))
    _race(6, lambda n: stores[n].put(_tokens(f"ou_{n}", access_token=f"u-{n}")))
    fresh = open_store(url)
    assert [fresh.get(f"ou_{n}").access_token for n in range(6)] == [f"u-{n}" for n in range(6)]


def test_records_delete_if_only_the_data_written(store: TokenStore):
    records = store.records
    records.create("refreshing#ou_alice", {"holder": "a"}, expires_at=int(time.time()) + 60)
    assert records.delete_if("refreshing#ou_alice", {"holder": "b"}) is False
    assert records.get("refreshing#ou_alice").data == {"holder": "a"}
    assert records.delete_if("refreshing#ou_alice", {"holder": "a"}) is True
    assert records.get("refreshing#ou_alice") is None
