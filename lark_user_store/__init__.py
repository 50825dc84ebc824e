"""The user token store shared by the authorization server and the MCP server.

`open_store("sqlite:///path/to/file.db")` locally (the file and the key file beside it,
`file.db.key`, are created private: mode 0600), `open_store("dynamodb://<table>?kms_key=<key
ARN>")` in AWS (region from `AWS_REGION`). The Lark tokens in each record are encrypted with a
per-person data key (`envelope`): wrapped by the key file locally, by the KMS key in AWS.
Standard library plus `cryptography` (imported when a token is first sealed or opened), so it
runs in the MCP server image, which has no boto3. Writes are versioned: `replace` and
`mark_needs_reauth` succeed only when the stored version is the one the caller read, so
concurrent refreshes of one user's single-use Lark refresh token have exactly one winner; the
losers re-read and use the winner's tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from .envelope import Envelope, FileDataKeys, KmsDataKeys
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


def _dynamodb_parts(url: str) -> tuple[str, str | None]:
    """(table, KMS key or None) of `dynamodb://<table>[?kms_key=<key ARN or id>]`."""
    parts = urlsplit(url)
    table = (parts.netloc + parts.path).strip("/")
    if not table:
        raise StoreError("USER_TOKEN_STORE=dynamodb://<table-name> needs a table name.")
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - {"kms_key"})
    if unknown or any(len(v) != 1 or not v[0] for v in query.values()):
        raise StoreError(
            f"USER_TOKEN_STORE=dynamodb://{table}?... takes one setting, kms_key=<key ARN>; "
            f"got {parts.query!r}."
        )
    return table, query["kms_key"][0] if "kms_key" in query else None


def open_records(url: str, env: Mapping[str, str] | None = None) -> Records:
    """The record backend named by a `USER_TOKEN_STORE` URL."""
    if url.startswith("sqlite:///"):
        from .sqlite import SqliteRecords

        return SqliteRecords(url.removeprefix("sqlite:///"))
    if url.startswith("dynamodb://"):
        from .dynamodb import DynamoRecords

        table, _ = _dynamodb_parts(url)
        return DynamoRecords(table, env)
    raise StoreError(
        f"USER_TOKEN_STORE={url!r} is not understood: use sqlite:///<path> (local) or "
        "dynamodb://<table-name>?kms_key=<key ARN> (AWS)."
    )


def open_store(url: str, env: Mapping[str, str] | None = None) -> TokenStore:
    """The user token store named by a `USER_TOKEN_STORE` URL (see `open_records`). Without a
    `kms_key`, a DynamoDB store can still delete people and hold other records, but refuses to
    read or write Lark tokens (it never stores them unencrypted)."""
    records = open_records(url, env)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        return TokenStore(records, Envelope(FileDataKeys(path.with_name(path.name + ".key"))))
    _, kms_key = _dynamodb_parts(url)
    return TokenStore(records, Envelope(KmsDataKeys(kms_key, env)) if kms_key else None)
