"""The refresh lease, seen from one server's token source while "another process" acts on the
same SQLite store directly (taking the lease, writing the renewed tokens), with the fake Lark on
loopback. Each test drives the public `access_token` and reads the store as another process
would; none depends on timing to pass, only to give the old defects their chance to show."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import httpx2

from lark_mcp_server.user_tokens import LEASE_PREFIX, UserTokenSource, lease_seconds
from lark_user_store import UserTokens, open_store
from tests.lark_fake import FakeLark
from tests.lark_fake.oauth import issue_user_tokens

from .conftest import refreshes

HTTP_TIMEOUT = 10.0


def _stored(lark: FakeLark, store_url: str, open_id: str, *, left: int) -> UserTokens:
    """`open_id`'s tokens issued by the fake and stored, the access token good for `left` s."""
    issued = issue_user_tokens(lark, open_id, access_ttl=left)
    now = time.time()
    return open_store(store_url).put(
        UserTokens(
            open_id=open_id,
            access_token=issued["access_token"],
            access_expires_at=now + left,
            refresh_token=issued["refresh_token"],
            refresh_expires_at=now + issued["refresh_token_expires_in"],
        )
    )


def _source(lark: FakeLark, store_url: str, credentials=None) -> UserTokenSource:
    client = httpx2.AsyncClient(base_url=lark.base_url)

    async def app_credentials() -> tuple[str, str]:
        return lark.app_id, lark.app_secret

    return UserTokenSource(
        store_url, lambda: client, credentials or app_credentials, http_timeout=HTTP_TIMEOUT
    )


def test_a_call_naming_a_rejected_token_never_gets_it_back(fresh_lark: FakeLark, tmp_store: str):
    """Another process holds the lease; this one has a call whose token is merely due for a
    refresh (it keeps using it) and a call whose token Lark just rejected (it must wait for the
    renewal). Ten rounds: the second call always ends with the renewed token."""
    store = open_store(tmp_store)
    source = _source(fresh_lark, tmp_store)

    async def other_process_renews(old: UserTokens, new_token: str) -> None:
        await asyncio.sleep(0.2)
        await asyncio.to_thread(
            store.replace,
            old,
            dataclasses.replace(old, access_token=new_token, access_expires_at=time.time() + 7200),
        )
        await asyncio.to_thread(store.records.delete, LEASE_PREFIX + old.open_id)

    async def round_(n: int) -> tuple[str, str, str]:
        old = _stored(fresh_lark, tmp_store, "ou_erin", left=120)
        store.records.create(
            LEASE_PREFIX + "ou_erin", {"holder": "elsewhere"}, expires_at=int(time.time()) + 60
        )
        due, after_reject, _ = await asyncio.gather(
            source.access_token("ou_erin"),
            source.access_token("ou_erin", rejected=old.access_token),
            other_process_renews(old, f"u-renewed-{n}"),
        )
        return old.access_token, due, after_reject

    async def main() -> list[tuple[str, str, str]]:
        return [await round_(n) for n in range(10)]

    for n, (old, due, after_reject) in enumerate(asyncio.run(main())):
        assert due in (old, f"u-renewed-{n}")  # still usable for a call Lark did not refuse
        assert after_reject == f"u-renewed-{n}"
    assert refreshes(fresh_lark) == []  # the other process renewed; this one never asked Lark


def test_the_lease_outlasts_the_worst_refresh_and_follows_the_credential_read(
    fresh_lark: FakeLark, tmp_store: str
):
    """The app credentials are read before the lease is taken (a slow secret read does not eat
    into it); the lease lasts longer than three refresh attempts at the full HTTP timeout; the
    holder releases it when done."""
    store = open_store(tmp_store)
    old = _stored(fresh_lark, tmp_store, "ou_fay", left=0)
    seen: list[object] = []

    async def credentials() -> tuple[str, str]:
        seen.append(await asyncio.to_thread(store.records.get, LEASE_PREFIX + "ou_fay"))
        return fresh_lark.app_id, fresh_lark.app_secret

    source = _source(fresh_lark, tmp_store, credentials)
    leases: list[object] = []

    async def watch_lease() -> None:
        while not leases:
            lease = await asyncio.to_thread(store.records.get, LEASE_PREFIX + "ou_fay")
            if lease is not None:
                leases.append((lease, time.time()))
            await asyncio.sleep(0.01)

    async def main() -> str:
        fresh_lark.inject(path="/open-apis/authen/v2/oauth/token", latency=0.5)
        watcher = asyncio.ensure_future(watch_lease())
        token = await source.access_token("ou_fay")
        await asyncio.wait_for(watcher, 5)
        return token

    token = asyncio.run(main())
    assert seen == [None]  # read once, before any lease existed
    (lease, at) = leases[0]
    assert lease.expires_at - at >= 3 * HTTP_TIMEOUT + 1
    assert lease_seconds(HTTP_TIMEOUT) > 3 * HTTP_TIMEOUT
    assert token != old.access_token and refreshes(fresh_lark) == [old.refresh_token]
    assert store.records.get(LEASE_PREFIX + "ou_fay") is None  # released by its holder


def test_a_holder_whose_lease_expired_leaves_the_next_holders_lease_alone(
    fresh_lark: FakeLark, tmp_store: str
):
    """A holder slower than its lease (the lease expired, another process took a new one)
    must not delete the new holder's lease when it finishes."""
    store = open_store(tmp_store)
    old = _stored(fresh_lark, tmp_store, "ou_gus", left=0)
    key = LEASE_PREFIX + "ou_gus"
    taken: list[object] = []

    async def credentials() -> tuple[str, str]:
        return fresh_lark.app_id, fresh_lark.app_secret

    source = _source(fresh_lark, tmp_store, credentials)

    async def another_process_takes_over() -> None:
        while (lease := await asyncio.to_thread(store.records.get, key)) is None:
            await asyncio.sleep(0.01)
        # Our holder's lease "expires" while its Lark request runs: another process takes it.
        await asyncio.to_thread(store.records.put, key, lease.data, expires_at=int(time.time()))
        taken.append(
            await asyncio.to_thread(
                store.records.create,
                key,
                {"holder": "the-next-process"},
                expires_at=int(time.time()) + 60,
            )
        )

    async def main() -> str:
        fresh_lark.inject(path="/open-apis/authen/v2/oauth/token", latency=0.5)
        token, _ = await asyncio.gather(source.access_token("ou_gus"), another_process_takes_over())
        return token

    token = asyncio.run(main())
    assert token != old.access_token and taken[0] is not None
    lease = store.records.get(key)
    assert lease is not None and lease.data == {"holder": "the-next-process"}
