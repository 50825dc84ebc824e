"""The record layer under the token store: versioned JSON items with an optional expiry.

Both backends (SQLite locally, DynamoDB in AWS) implement `Records`. Every write bumps the
item's `version`; `replace` writes only when the stored version is the one the caller read
(compare-and-set), which is what makes a Lark token refresh single-flight across processes.
`take` deletes and returns an item in one step, for single-use things (authorization codes);
`delete_if` deletes only an item still holding what the caller wrote (a lease's holder).
An item past its `expires_at` reads as absent, whether or not the backend has purged it yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Record:
    key: str
    data: dict[str, Any]
    version: int
    expires_at: int | None = None  # unix seconds; None: kept until deleted


class StoreError(Exception):
    """The store could not be reached or refused a call; the message says what to check."""


class Records(Protocol):
    def get(self, key: str) -> Record | None: ...

    def put(self, key: str, data: dict[str, Any], *, expires_at: int | None = None) -> Record:
        """Unconditional write; the new version is the old one + 1 (1 for a new item)."""
        ...

    def create(
        self, key: str, data: dict[str, Any], *, expires_at: int | None = None
    ) -> Record | None:
        """Write only when no live item has this key; None when one does."""
        ...

    def replace(
        self, key: str, data: dict[str, Any], *, version: int, expires_at: int | None = None
    ) -> Record | None:
        """Write only when the stored item's version is `version`; None when another won."""
        ...

    def take(self, key: str) -> Record | None:
        """Delete the live item and return it; None when there was none (or another took it)."""
        ...

    def delete(self, key: str) -> None: ...

    def delete_if(self, key: str, data: dict[str, Any]) -> bool:
        """Delete the item only while its data is still `data` (a lease released by its holder
        alone); False when it is gone or another wrote it."""
        ...
