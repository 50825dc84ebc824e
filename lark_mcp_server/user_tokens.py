"""A signed-in person's Lark user token: loaded from the token store, refreshed before expiry.

Lark user access tokens last about two hours; refresh tokens are single-use and rotate on
every refresh, and many runtime processes may serve the same person at once. So a refresh is
single-flight twice over:

- within a process, concurrent calls for one `open_id` share one renewal (one task) per
  token Lark rejected: a call whose token Lark just refused never joins a renewal started
  without that knowledge, which could hand the refused token straight back to it;
- across processes, the store decides: a process reads the Lark app credentials, then takes
  a lease (a `refreshing#<open_id>` record created only when none is live) and only the lease
  holder calls Lark; it re-reads the tokens first (another holder may just have renewed them),
  and writes the result with the store's conditional write (`replace(old, new)`, which fails
  if anything else wrote meanwhile, e.g. a new sign-in). A process without the lease keeps
  using the current access token while it is still valid (a refresh starts 5 minutes before
  expiry) unless Lark rejected that very token, else waits for the holder's new token; it
  never sends the same refresh token to Lark a second time, so losing a race never logs
  anyone out. The lease outlasts the worst-case refresh (`lease_seconds`), and only its
  holder releases it (a delete conditional on the holder); a holder that dies leaves a lease
  that expires on its own, and the next process then takes it.

A refresh Lark refuses (refresh token used, revoked or expired) marks the person
`needs_reauth`; every later call tells them to sign in again, and the authorization server's
own refresh grant fails, so the client asks them too. Store calls are synchronous and run in
`asyncio.to_thread`. `lark_user_store` is imported on first use only.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx2

from .caller_jwt import RECONNECT
from .lark_client import LarkError, SignInRequired

log = logging.getLogger("lark_mcp_server.user_tokens")

REFRESH_BEFORE = 300.0  # refresh when the access token has less than this many seconds left
USABLE_FOR = 30.0  # an access token with more than this left still serves a call
LEASE_PREFIX = "refreshing#"  # store key of the cross-process refresh lease, per open_id
_POLL = 0.1
_NOT_SENT = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)
_ATTEMPTS = 3  # refresh requests that never connected are sent again, this many in all
_BACKOFF = 0.2  # seconds before the 2nd attempt; 2x that before the 3rd
_STORE_CALL = 5.0  # a store call's own timeout (lark_user_store.sigv4 and SQLite's lock wait)
_STORE_CALLS_IN_LEASE = 4  # re-read, write, and on a lost write a read and a repair


def lease_seconds(http_timeout: float) -> float:
    """How long a refresh lease lasts: longer than the worst case of what its holder does
    while holding it (every attempt timing out, the back-offs between them and each store
    call taking its full timeout), so a live holder never loses it to another process."""
    backoffs = sum(_BACKOFF * (n + 1) for n in range(_ATTEMPTS - 1))
    return _ATTEMPTS * http_timeout + backoffs + _STORE_CALLS_IN_LEASE * _STORE_CALL + 1.0


CredentialGetter = Callable[[], Awaitable[tuple[str, str]]]


class UserTokenSource:
    """Hands out a valid Lark user access token per `open_id`, refreshing when due."""

    def __init__(
        self,
        store_url: str,
        http: Callable[[], httpx2.AsyncClient],
        credentials: CredentialGetter,
        *,
        http_timeout: float = 10.0,
    ) -> None:
        self._store_url = store_url
        self._http = http
        self._credentials = credentials
        self._http_timeout = http_timeout
        self._lease_seconds = lease_seconds(http_timeout)
        self._store: Any = None
        self._store_lock = asyncio.Lock()
        # Keyed by (open_id, the token Lark rejected or None): see the module docstring.
        self._inflight: dict[tuple[str, str | None], asyncio.Task[Any]] = {}

    # -- public -----------------------------------------------------------------------------

    async def require_sign_in(self, open_id: str) -> None:
        """Raise `SignInRequired` unless `open_id` has a usable stored Lark sign-in (a store
        read only: tools that run with the app's token serve only people still signed in)."""
        await self._load(open_id)

    async def access_token(self, open_id: str, *, rejected: str | None = None) -> str:
        """A token for `open_id` with at least a few minutes left; `rejected` is one Lark
        just called invalid (then a new one is fetched even if it looks unexpired)."""
        tokens = await self._load(open_id)
        if _fresh(tokens, rejected):
            return tokens.access_token
        key = (open_id, rejected)
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._renew(open_id, rejected))
            self._inflight[key] = task
            task.add_done_callback(lambda done: self._forget(key, done))
        # Shielded: a caller that gives up must not cancel the refresh others wait on.
        tokens = await asyncio.shield(task)
        return tokens.access_token

    # -- store ------------------------------------------------------------------------------

    async def store(self) -> Any:
        if self._store is None:
            async with self._store_lock:
                if self._store is None:
                    from lark_user_store import open_store

                    self._store = await _in_thread(open_store, self._store_url)
        return self._store

    async def _read(self, open_id: str) -> Any:
        store = await self.store()
        return await _in_thread(store.get, open_id)

    async def _load(self, open_id: str) -> Any:
        tokens = await self._read(open_id)
        if tokens is None:
            raise SignInRequired(
                "You are not signed in to Lark through this integration: no Lark sign-in is "
                f"stored for you. {RECONNECT}"
            )
        if tokens.needs_reauth:
            raise SignInRequired(
                "Lark no longer accepts your sign-in (it was revoked, expired or used up). "
                f"{RECONNECT}"
            )
        return tokens

    def _forget(self, key: tuple[str, str | None], done: asyncio.Task[Any]) -> None:
        if self._inflight.get(key) is done:
            del self._inflight[key]
        if not done.cancelled():
            done.exception()  # retrieved: the waiters saw it; keep asyncio from warning

    # -- refresh ----------------------------------------------------------------------------

    async def _renew(self, open_id: str, rejected: str | None) -> Any:
        store = await self.store()
        lease_key = LEASE_PREFIX + open_id
        while True:
            tokens = await self._load(open_id)
            if _fresh(tokens, rejected):
                return tokens
            # Read before the lease: a slow secret read must not eat into the lease's time.
            credentials = await self._credentials()
            lease_data = {"holder": uuid.uuid4().hex}
            until = int(time.time() + self._lease_seconds) + 1
            lease = await _in_thread(store.records.create, lease_key, lease_data, expires_at=until)
            if lease is not None:
                try:
                    # Renewed between our read and the lease? Then that is the token to use:
                    # sending the old refresh token again would be refused (and log them out).
                    tokens = await self._load(open_id)
                    if _fresh(tokens, rejected):
                        return tokens
                    return await self._refresh(store, tokens, rejected, credentials)
                finally:
                    await self._release(store, lease_key, lease_data)
            # Another process holds the lease: use the current token while it lasts, or wait
            # for the new one; if the holder vanished, its lease expires and we try again.
            give_up = time.monotonic() + self._lease_seconds + 1
            while time.monotonic() < give_up:
                current = await self._load(open_id)
                if _fresh(current, rejected) or _usable(current, rejected):
                    return current
                await asyncio.sleep(_POLL)
            log.warning(
                "user token refresh: the process holding the refresh lease did not finish",
                extra={"open_id": open_id},
            )

    async def _release(self, store: Any, lease_key: str, lease_data: dict[str, str]) -> None:
        """Drop our lease, in one conditional delete: never one another process took after
        ours expired (a read then a delete could remove theirs in between)."""
        with contextlib.suppress(LarkError):  # if the store is unreachable, it expires alone
            await _in_thread(store.records.delete_if, lease_key, lease_data)

    async def _refresh(
        self, store: Any, old: Any, rejected: str | None, credentials: tuple[str, str]
    ) -> Any:
        """Refresh `old` at Lark (we hold the lease); store and return the new tokens."""
        now = time.time()
        expired_refresh = old.refresh_expires_at is not None and old.refresh_expires_at <= now
        if not old.refresh_token or expired_refresh:
            if _usable(old, rejected):
                return old
            await _in_thread(store.mark_needs_reauth, old)
            raise SignInRequired(
                "Your Lark sign-in has expired and cannot be renewed (Lark gave no refresh "
                f"token, or it expired). {RECONNECT}"
            )
        grant = await self._call_lark(old.refresh_token, now, credentials)
        if grant is None:
            return await self._refused(store, old)
        new = grant.renewing(old)
        stored = await _in_thread(store.replace, old, new)
        if stored is not None:
            log.info("user token refreshed", extra={"open_id": old.open_id})
            return stored
        # Someone wrote since we read: a new sign-in (newer, use it), or a process that took
        # the lease after ours expired. Ours are the tokens Lark issued last: store them.
        current = await self._read(old.open_id)
        if current is not None and _fresh(current, rejected) and not current.needs_reauth:
            return current
        if current is not None:
            repaired = await _in_thread(
                store.replace, current, dataclasses.replace(new, version=current.version)
            )
            if repaired is not None:
                return repaired
        log.warning(
            "user token refresh: could not store the new token", extra={"open_id": old.open_id}
        )
        return new

    async def _refused(self, store: Any, old: Any) -> Any:
        """Lark refused the refresh token: mark the person, unless someone else renewed it."""
        marked = await _in_thread(store.mark_needs_reauth, old)
        if not marked:
            current = await self._read(old.open_id)
            if current is not None and _fresh(current, None) and not current.needs_reauth:
                return current
        log.warning(
            "user token refresh refused by Lark; sign-in needed", extra={"open_id": old.open_id}
        )
        raise SignInRequired(
            "Lark refused to renew your sign-in (its refresh token was already used, revoked "
            f"or expired). {RECONNECT}"
        )

    async def _call_lark(self, refresh_token: str, now: float, credentials: tuple[str, str]) -> Any:
        """POST the refresh (at `now`, with the app's `credentials`); Lark's `LarkGrant`, or
        None when Lark refuses the refresh token.

        The refresh token is single-use: a request that may have reached Lark is never sent
        again (its answer lost, the old token is spent), only one that never connected.
        """
        from lark_user_store import lark_oauth

        app_id, app_secret = credentials
        body = lark_oauth.refresh_grant(
            app_id=app_id, app_secret=app_secret, refresh_token=refresh_token
        )
        response = None
        for attempt in range(_ATTEMPTS):
            try:
                response = await self._http().post(
                    lark_oauth.TOKEN_PATH, json=body, timeout=self._http_timeout
                )
                break
            except _NOT_SENT:
                # Never connected, so the refresh token is unspent: safe to try again.
                if attempt == _ATTEMPTS - 1:
                    raise LarkError(
                        "Could not reach Lark to renew your sign-in. Try again in a minute."
                    ) from None
                await asyncio.sleep(_BACKOFF * (attempt + 1))
            except httpx2.TransportError as exc:
                raise LarkError(
                    f"The connection to Lark failed while renewing your sign-in "
                    f"({type(exc).__name__}). Try again in a minute."
                ) from None
        assert response is not None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        try:
            return lark_oauth.read_token_answer(response.status_code, answer, now=now)
        except lark_oauth.TokenRefused as refused:
            if refused.refresh_refused:
                return None
            if refused.bad_client:
                raise LarkError(
                    "Lark rejected the app credentials while renewing your sign-in "
                    f"({refused.detail}). The administrator must check "
                    "LARK_APP_ID/LARK_APP_SECRET (or LARK_SECRET_ARN).",
                    code=refused.code,
                    http_status=refused.status,
                ) from None
            raise LarkError(
                f"Lark could not renew your sign-in just now ({refused.detail}). Try again in "
                "a minute.",
                code=refused.code,
                http_status=refused.status,
            ) from None


async def _in_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """A blocking store call off the event loop; a store failure becomes a tool error."""
    from lark_user_store import StoreError

    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except StoreError as exc:
        raise LarkError(
            f"Your Lark sign-in could not be read or saved: {exc} Try again in a minute; if it "
            "keeps failing, tell the administrator."
        ) from None


def _fresh(tokens: Any, rejected: str | None) -> bool:
    return (
        not tokens.needs_reauth
        and tokens.access_token != rejected
        and tokens.access_expires_at - time.time() > REFRESH_BEFORE
    )


def _usable(tokens: Any, rejected: str | None) -> bool:
    return (
        not tokens.needs_reauth
        and tokens.access_token != rejected
        and tokens.access_expires_at - time.time() > USABLE_FOR
    )
