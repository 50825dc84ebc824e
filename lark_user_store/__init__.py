"""The user token store shared by the authorization server and the MCP server.

`open_store("sqlite:///path/to/file.db")` locally, `open_store("dynamodb://<table>")` in AWS
(region from `AWS_REGION`). Standard library only, so it runs in the MCP server image, which
has no boto3. Writes are versioned: `replace` and `mark_needs_reauth` succeed only when the
stored version is the one the caller read, so concurrent refreshes of one user's single-use
Lark refresh token have exactly one winner; the losers re-read and use the winner's tokens.
"""

from __future__ import annotations

from collections.abc import Mapping

from .records import Record, Records, StoreError
from .tokens import TokenStore, UserTokens, UserTokenStore

__all__ = [
    "Record",
    "Records",
    "StoreError",
    "TokenStore",
    "UserTokenStore",
    "UserTokens",
    "open_records",
    "open_store",
]


def open_records(url: str, env: Mapping[str, str] | None = None) -> Records:
    """The record backend named by a `USER_TOKEN_STORE` URL."""
    if url.startswith("sqlite:///"):
        from .sqlite import SqliteRecords

        return SqliteRecords(url.removeprefix("sqlite:///"))
    if url.startswith("dynamodb://"):
        from .dynamodb import DynamoRecords

        table = url.removeprefix("dynamodb://").strip("/")
        if not table:
            raise StoreError("USER_TOKEN_STORE=dynamodb://<table-name> needs a table name.")
        return DynamoRecords(table, env)
    raise StoreError(
        f"USER_TOKEN_STORE={url!r} is not understood: use sqlite:///<path> (local) or "
        "dynamodb://<table-name> (AWS)."
    )


def open_store(url: str, env: Mapping[str, str] | None = None) -> TokenStore:
    """The user token store named by a `USER_TOKEN_STORE` URL (see `open_records`)."""
    return TokenStore(open_records(url, env))
