# SPDX-License-Identifier: Apache-2.0
"""The SQLite idempotency store: the local runtime's default, safe across threads and processes.

WAL journal (readers never wait for the writer) and ``BEGIN IMMEDIATE`` transactions (the
writer takes the database's write lock before it reads, so two processes cannot both see a key
absent and both insert it); ``busy_timeout`` makes a contending process wait instead of failing.
One connection per store, shared by threads under a lock, as the broker's own store does.
https://www.sqlite.org/wal.html, https://www.sqlite.org/lang_transaction.html
"""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path

from portable_fn._sqlite import write_transaction
from portable_fn.idempotency._base import DEFAULT_LEASE, DEFAULT_RETENTION, Record

__all__ = ["SQLiteStore"]

_PURGE_MIN = 1024  # records written before the first purge of expired ones
_PURGE = "DELETE FROM idempotency WHERE expires_at <= ?"

SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    status TEXT NOT NULL,        -- in_progress | completed
    token TEXT NOT NULL,         -- the attempt that wrote it (fences a late complete)
    expires_at REAL NOT NULL,    -- lease end (in_progress) or retention end (completed)
    result BLOB
)
"""


class SQLiteStore:
    """Records in one table of the SQLite database at ``path`` (created if missing)."""

    def __init__(
        self,
        path: str | Path,
        *,
        lease: float = DEFAULT_LEASE,
        retention: float = DEFAULT_RETENTION,
    ) -> None:
        self.lease, self.retention = lease, retention
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout=30000")
        self._db.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a commit survives a crash of any process (SIGKILL included); only an
        # OS crash or power loss may drop the last commits (https://www.sqlite.org/pragma.html
        # #pragma_synchronous). FULL would fsync twice per event: ~3 ms instead of ~0.1 ms.
        self._db.execute("PRAGMA synchronous=NORMAL")
        with self._write() as cur:
            cur.execute(SCHEMA)
        self.purge(time.time())  # on open: the table keeps only what can still matter
        self._written, self._purge_at = 0, _PURGE_MIN

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self) -> AbstractContextManager[sqlite3.Cursor]:
        return write_transaction(self._db, self._lock)

    def acquire(self, key: str, token: str, expires_at: float, now: float) -> Record | None:
        with self._write() as cur:
            row = cur.execute(
                "SELECT key, status, token, expires_at, result FROM idempotency WHERE key = ?",
                (key,),
            ).fetchone()
            if row is not None and float(row[3]) > now:
                return _record(row)
            cur.execute(
                "INSERT OR REPLACE INTO idempotency(key, status, token, expires_at, result)"
                " VALUES (?, 'in_progress', ?, ?, NULL)",
                (key, token, expires_at),
            )
            self._written += 1
            if self._written >= self._purge_at:
                # A long-running process (``portable-fn dev``) opens the store once: purge
                # also as it goes, each time this process has written as many records as
                # were live after the last purge, which costs O(1) per acquire, amortised
                # (the purge scans the table).
                cur.execute(_PURGE, (now,))  # purge()'s, inside this transaction
                (live,) = cur.execute("SELECT count(*) FROM idempotency").fetchone()
                self._written, self._purge_at = 0, max(_PURGE_MIN, int(live))
            return None

    def complete(
        self, key: str, token: str, result: bytes | None, expires_at: float, now: float
    ) -> bool:
        with self._write() as cur:
            row = cur.execute(
                "SELECT token, expires_at FROM idempotency WHERE key = ?", (key,)
            ).fetchone()
            if row is not None and row[0] != token and float(row[1]) > now:
                return False
            cur.execute(
                "INSERT OR REPLACE INTO idempotency(key, status, token, expires_at, result)"
                " VALUES (?, 'completed', ?, ?, ?)",
                (key, token, expires_at, result),
            )
            return True

    def release(self, key: str, token: str) -> None:
        with self._write() as cur:
            cur.execute(
                "DELETE FROM idempotency WHERE key = ? AND token = ? AND status = 'in_progress'",
                (key, token),
            )

    def get(self, key: str, now: float) -> Record | None:
        with self._lock:
            row = self._db.execute(
                "SELECT key, status, token, expires_at, result FROM idempotency"
                " WHERE key = ? AND expires_at > ?",
                (key, now),
            ).fetchone()
        return None if row is None else _record(row)

    def delete(self, key: str) -> None:
        with self._write() as cur:
            cur.execute("DELETE FROM idempotency WHERE key = ?", (key,))

    def purge(self, now: float) -> int:
        """Delete expired records (the table does not grow without bound)."""
        with self._write() as cur:
            cur.execute(_PURGE, (now,))
            return cur.rowcount


def _record(row: tuple[object, ...]) -> Record:
    result = row[4]
    return Record(
        key=str(row[0]),
        status="completed" if row[1] == "completed" else "in_progress",
        token=str(row[2]),
        expires_at=float(row[3]),  # type: ignore[arg-type]
        result=None if result is None else bytes(result),  # type: ignore[call-overload]
    )
