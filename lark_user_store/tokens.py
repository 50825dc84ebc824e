"""The user token store: one `user#<open_id>` record per Lark user, on any `Records` backend."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Protocol

from .records import Record, Records

USER_PREFIX = "user#"
_GRACE = 86400  # keep a record a day past its last useful token (then the backend purges it)


@dataclass(frozen=True)
class UserTokens:
    """What we hold for one Lark user. Never log an instance: it carries live tokens."""

    open_id: str
    access_token: str = dataclasses.field(repr=False)
    access_expires_at: float  # unix seconds
    refresh_token: str | None = dataclasses.field(repr=False)
    refresh_expires_at: float | None  # unix seconds, None if unknown
    scopes: tuple[str, ...] = ()  # Lark scopes granted
    name: str | None = None
    tenant_key: str | None = None
    needs_reauth: bool = False  # set when Lark refused the refresh token
    version: int = 0  # bumped by every write; conditional writes compare it


class UserTokenStore(Protocol):
    def get(self, open_id: str) -> UserTokens | None: ...
    def put(self, tokens: UserTokens) -> UserTokens: ...
    def replace(self, old: UserTokens, new: UserTokens) -> UserTokens | None: ...
    def mark_needs_reauth(self, old: UserTokens) -> bool: ...
    def delete(self, open_id: str) -> None: ...


def _to_data(tokens: UserTokens) -> dict[str, Any]:
    data = dataclasses.asdict(tokens)
    data.pop("version")
    data["scopes"] = list(tokens.scopes)
    return data


def _from_record(record: Record) -> UserTokens:
    data = dict(record.data)
    data["scopes"] = tuple(data.get("scopes") or ())
    known = {f.name for f in dataclasses.fields(UserTokens)} - {"version"}
    return UserTokens(**{k: v for k, v in data.items() if k in known}, version=record.version)


def _expiry(tokens: UserTokens) -> int | None:
    """A user's record lives until its last token can no longer be used, plus a day."""
    if tokens.refresh_token and tokens.refresh_expires_at is None:
        return None  # refresh lifetime unknown: keep until replaced or deleted
    last = max(tokens.access_expires_at, tokens.refresh_expires_at or 0)
    return int(last) + _GRACE


class TokenStore:
    """`UserTokenStore` on a `Records` backend; `records` is open to the authorization server."""

    def __init__(self, records: Records) -> None:
        self.records = records

    def get(self, open_id: str) -> UserTokens | None:
        record = self.records.get(USER_PREFIX + open_id)
        return _from_record(record) if record else None

    def put(self, tokens: UserTokens) -> UserTokens:
        record = self.records.put(
            USER_PREFIX + tokens.open_id, _to_data(tokens), expires_at=_expiry(tokens)
        )
        return dataclasses.replace(tokens, version=record.version)

    def replace(self, old: UserTokens, new: UserTokens) -> UserTokens | None:
        if old.open_id != new.open_id:
            raise ValueError("replace() must keep the open_id")
        record = self.records.replace(
            USER_PREFIX + new.open_id, _to_data(new), version=old.version, expires_at=_expiry(new)
        )
        return dataclasses.replace(new, version=record.version) if record else None

    def mark_needs_reauth(self, old: UserTokens) -> bool:
        return self.replace(old, dataclasses.replace(old, needs_reauth=True)) is not None

    def delete(self, open_id: str) -> None:
        self.records.delete(USER_PREFIX + open_id)
