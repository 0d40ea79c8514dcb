# SPDX-License-Identifier: Apache-2.0
"""One write transaction on a shared SQLite connection: the local broker and the SQLite
idempotency store both keep one connection per process, guarded by a lock."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def write_transaction(db: sqlite3.Connection, lock: threading.Lock) -> Iterator[sqlite3.Cursor]:
    """``BEGIN IMMEDIATE`` under ``lock`` (the write lock taken up front, so two processes
    never both read then fail to upgrade); committed on success, rolled back if the body
    raises."""
    with lock:
        cur = db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")
