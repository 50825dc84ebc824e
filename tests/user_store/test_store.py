"""The user token store on both backends: SQLite on disk and DynamoDB over real HTTP (moto).

Each test runs against each backend through the public `open_store` / `open_records` URLs, so
the DynamoDB case exercises the stdlib SigV4 client, the JSON protocol and DynamoDB's
`ConditionExpression` handling exactly as the deployed code does.
"""

from __future__ import annotations

import ast
import dataclasses
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lark_user_store import StoreError, TokenStore, UserTokens, open_records, open_store

from .moto_aws import boto_client, create_table, moto_server


@pytest.fixture(scope="module")
def moto_env() -> Iterator[dict[str, str]]:
    with moto_server() as env:
        yield env


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> TokenStore:
    if request.param == "sqlite":
        return open_store(f"sqlite:///{tmp_path}/tokens.db")
    env = request.getfixturevalue("moto_env")
    table = f"tokens-{uuid.uuid4().hex[:8]}"
    create_table(env, table)
    return open_store(f"dynamodb://{table}", env)


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


def test_concurrent_refreshes_have_exactly_one_winner(store: TokenStore):
    """Eight writers read the same version and race to store their refreshed tokens."""
    read = store.put(_tokens())
    barrier = threading.Barrier(8)
    results: list[UserTokens | None] = []

    def refresh(n: int) -> None:
        barrier.wait()
        results.append(
            store.replace(read, dataclasses.replace(read, access_token=f"u-access-from-{n}"))
        )

    threads = [threading.Thread(target=refresh, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [r for r in results if r is not None]
    assert len(results) == 8 and len(winners) == 1
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


def test_concurrent_takes_hand_a_code_out_once(store: TokenStore):
    store.records.create("code#race", {"n": 1}, expires_at=int(time.time()) + 300)
    barrier = threading.Barrier(6)
    got: list[object] = []

    def take() -> None:
        barrier.wait()
        got.append(store.records.take("code#race"))

    threads = [threading.Thread(target=take) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(1 for g in got if g is not None) == 1


def test_dynamodb_items_follow_the_table_schema(moto_env: dict[str, str]):
    table = f"tokens-{uuid.uuid4().hex[:8]}"
    create_table(moto_env, table)
    store = open_store(f"dynamodb://{table}", moto_env)
    store.put(_tokens())
    item = boto_client("dynamodb", moto_env).get_item(
        TableName=table, Key={"pk": {"S": "user#ou_alice"}}
    )["Item"]
    assert set(item) == {"pk", "data", "version", "ttl"}
    assert item["version"] == {"N": "1"}
    assert int(item["ttl"]["N"]) > time.time() + 7 * 86400


def test_dynamodb_errors_say_what_to_check(moto_env: dict[str, str]):
    store = open_store("dynamodb://no-such-table", moto_env)
    with pytest.raises(StoreError, match=r"no-such-table.*ResourceNotFoundException"):
        store.get("ou_alice")
    with pytest.raises(StoreError, match="AWS_REGION"):
        open_store("dynamodb://t", {k: v for k, v in moto_env.items() if k != "AWS_REGION"})


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
