"""The user token store: one `user#<open_id>` record per Lark user, on any `Records` backend.

The Lark tokens themselves are sealed field by field (`envelope.Envelope`): a record holds
`sealed: {"v", "key", "access_token", "refresh_token"}` instead of the two plaintext fields.
A record written before that (plaintext tokens) is still read, once: the read rewrites it
sealed (a conditional write, so a concurrent refresh is never undone).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Protocol

from .envelope import Envelope
from .records import Record, Records, StoreError

USER_PREFIX = "user#"
SECRET_FIELDS = ("access_token", "refresh_token")
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


def _to_data(tokens: UserTokens, envelope: Envelope | None) -> dict[str, Any]:
    data = dataclasses.asdict(tokens)
    data.pop("version")
    data["scopes"] = list(tokens.scopes)
    if envelope is None:
        raise StoreError(
            "This token store has no key to encrypt Lark tokens with: give the DynamoDB store "
            "its KMS key (USER_TOKEN_STORE=dynamodb://<table>?kms_key=<key ARN>)."
        )
    data["sealed"] = envelope.seal(tokens.open_id, {f: data.pop(f) for f in SECRET_FIELDS})
    return data


def _from_record(record: Record, envelope: Envelope | None) -> UserTokens:
    data = dict(record.data)
    open_id = data.get("open_id") or record.key.removeprefix(USER_PREFIX)
    sealed = data.pop("sealed", None)
    if sealed is not None:
        if envelope is None:
            raise StoreError(
                "The stored Lark tokens are encrypted and this token store has no key: give "
                "the DynamoDB store its KMS key (dynamodb://<table>?kms_key=<key ARN>)."
            )
        data.update(envelope.open(open_id, sealed, SECRET_FIELDS))
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

    def __init__(self, records: Records, envelope: Envelope | None = None) -> None:
        self.records = records
        self.envelope = envelope

    def get(self, open_id: str) -> UserTokens | None:
        for _ in range(3):
            record = self.records.get(USER_PREFIX + open_id)
            if record is None:
                return None
            tokens = _from_record(record, self.envelope)
            if "sealed" in record.data or self.envelope is None:
                return tokens
            # Written before tokens were sealed: seal it now, unless someone wrote since.
            if (sealed := self.replace(tokens, tokens)) is not None:
                return sealed
        raise StoreError(f"The stored Lark sign-in of {open_id} kept changing while read.")

    def put(self, tokens: UserTokens) -> UserTokens:
        record = self.records.put(
            USER_PREFIX + tokens.open_id,
            _to_data(tokens, self.envelope),
            expires_at=_expiry(tokens),
        )
        return dataclasses.replace(tokens, version=record.version)

    def replace(self, old: UserTokens, new: UserTokens) -> UserTokens | None:
        if old.open_id != new.open_id:
            raise ValueError("replace() must keep the open_id")
        record = self.records.replace(
            USER_PREFIX + new.open_id,
            _to_data(new, self.envelope),
            version=old.version,
            expires_at=_expiry(new),
        )
        return dataclasses.replace(new, version=record.version) if record else None

    def mark_needs_reauth(self, old: UserTokens) -> bool:
        return self.replace(old, dataclasses.replace(old, needs_reauth=True)) is not None

    def delete(self, open_id: str) -> None:
        self.records.delete(USER_PREFIX + open_id)
