"""SQLite backend: one file, safe across threads and processes (SQLite's own locking).

Each call opens a short-lived connection, so an instance can be shared by threads and the
file by several processes (the authorization server and the MCP server on one machine). The
file is created readable by its owner only (0600; SQLite gives its -wal and -shm files the
same mode), and an existing one with wider permissions is narrowed.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from .records import Record, StoreError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    pk TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    version INTEGER NOT NULL,
    ttl INTEGER
)
"""
_LIVE = "(ttl IS NULL OR ttl > :now)"
_PREPARE_ATTEMPTS = 100  # 50 ms apart: up to 5 s while another process sets up a new file


class SqliteRecords:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                # Never open (and close) an fd on a database this process may have open:
                # closing any fd drops the process's POSIX locks on the file (SQLite's too).
                with contextlib.suppress(FileExistsError):
                    os.close(os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
            if self.path.stat().st_mode & 0o077:
                os.chmod(self.path, 0o600)
            self._prepare()
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"Cannot open the token store at {self.path} ({exc}); "
                "check that USER_TOKEN_STORE names a writable file."
            ) from None

    def _prepare(self) -> None:
        """WAL mode and the table. Switching to WAL takes the file's exclusive lock without
        waiting for it, so processes opening a new file together retry the switch briefly."""
        for attempt in range(_PREPARE_ATTEMPTS):
            try:
                with contextlib.closing(self._connect()) as db:
                    if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                        db.execute("PRAGMA journal_mode=WAL")
                    db.execute(_SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == _PREPARE_ATTEMPTS - 1:
                    raise
                time.sleep(0.05)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30, isolation_level=None)

    def _run(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        db = self._connect()
        try:
            return db.execute(sql, {"now": int(time.time()), **params}).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"The token store at {self.path} failed: {exc}") from None
        finally:
            db.close()

    @staticmethod
    def _record(key: str, row: tuple[Any, ...]) -> Record:
        return Record(key, json.loads(row[0]), int(row[1]), row[2])

    def get(self, key: str) -> Record | None:
        rows = self._run(
            f"SELECT data, version, ttl FROM records WHERE pk = :pk AND {_LIVE}", {"pk": key}
        )
        return self._record(key, rows[0]) if rows else None

    def put(self, key: str, data: dict[str, Any], *, expires_at: int | None = None) -> Record:
        rows = self._run(
            "INSERT INTO records (pk, data, version, ttl) VALUES (:pk, :data, 1, :ttl) "
            "ON CONFLICT (pk) DO UPDATE SET data = excluded.data, "
            "version = records.version + 1, ttl = excluded.ttl RETURNING version",
            {"pk": key, "data": json.dumps(data), "ttl": expires_at},
        )
        return Record(key, data, int(rows[0][0]), expires_at)

    def create(
        self, key: str, data: dict[str, Any], *, expires_at: int | None = None
    ) -> Record | None:
        rows = self._run(
            "INSERT INTO records (pk, data, version, ttl) VALUES (:pk, :data, 1, :ttl) "
            "ON CONFLICT (pk) DO UPDATE SET data = excluded.data, version = 1, "
            "ttl = excluded.ttl WHERE records.ttl IS NOT NULL AND records.ttl <= :now "
            "RETURNING version",
            {"pk": key, "data": json.dumps(data), "ttl": expires_at},
        )
        return Record(key, data, 1, expires_at) if rows else None

    def replace(
        self, key: str, data: dict[str, Any], *, version: int, expires_at: int | None = None
    ) -> Record | None:
        rows = self._run(
            "UPDATE records SET data = :data, version = version + 1, ttl = :ttl "
            f"WHERE pk = :pk AND version = :version AND {_LIVE} RETURNING version",
            {"pk": key, "data": json.dumps(data), "ttl": expires_at, "version": version},
        )
        return Record(key, data, int(rows[0][0]), expires_at) if rows else None

    def take(self, key: str) -> Record | None:
        rows = self._run(
            f"DELETE FROM records WHERE pk = :pk AND {_LIVE} RETURNING data, version, ttl",
            {"pk": key},
        )
        return self._record(key, rows[0]) if rows else None

    def delete(self, key: str) -> None:
        self._run("DELETE FROM records WHERE pk = :pk", {"pk": key})

    def delete_if(self, key: str, data: dict[str, Any]) -> bool:
        rows = self._run(
            "DELETE FROM records WHERE pk = :pk AND data = :data RETURNING version",
            {"pk": key, "data": json.dumps(data)},
        )
        return bool(rows)
