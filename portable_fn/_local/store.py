"""Durable SQLite state of the local broker: messages, their deliveries, dead letters.

Every accepted event is one ``messages`` row plus one ``deliveries`` row per subscriber
(fan-out happens at accept time, in the same transaction), committed before ``publish``
returns or the ingress answers 202. WAL with ``synchronous=FULL``: a SIGKILL (or power
loss) after the commit loses nothing, and the next start runs what is pending.

Delivery states: ``pending`` (due at ``due``), ``inflight`` (claimed, attempt counted),
``done``, ``dead`` (in the dead-letter queue named by ``dlq``). A delivery that was
``inflight`` when the process died goes back to ``pending`` on start: at-least-once, with
the attempt that died counted, as SQS counts a receive whose visibility timeout expired (so
one killed on its last attempt is dead-lettered without running again); one still running
when a graceful shutdown's grace ends goes back uncounted (``release``). A claim that finds
the event's idempotency key held by another attempt is put back uncounted (``hold``): it ran
no handler.

The connection is shared by the event loop's worker threads and by handler threads that
call ``pf.publish``, so every call takes one lock; each call is one short transaction.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from portable_fn._sqlite import write_transaction
from portable_fn.errors import ConfigurationError

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,          -- topic | queue | event | ingress | schedule | storage
    name TEXT NOT NULL,          -- topic/queue name, event type, function for direct sends
    event BLOB NOT NULL,         -- structured-mode CloudEvent JSON (portable_fn.events.to_json)
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES messages(id),
    function TEXT NOT NULL,
    state TEXT NOT NULL,         -- pending | inflight | done | dead
    attempt INTEGER NOT NULL DEFAULT 0,   -- attempts started so far
    due REAL NOT NULL,
    dlq TEXT,
    error TEXT,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(state, due);
CREATE TABLE IF NOT EXISTS sequences (
    stream TEXT PRIMARY KEY,     -- a stream's last record number: never reused, purged or not
    last INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    etag TEXT NOT NULL,
    PRIMARY KEY (bucket, key)
);
"""


STATES = ("pending", "inflight", "done", "dead")


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """One claimed (or listed) delivery of a message to one function."""

    id: int
    message_id: int
    function: str
    kind: str
    name: str
    event: bytes
    attempt: int
    state: str
    due: float
    dlq: str | None = None
    error: str | None = None


_SELECT = (
    "SELECT d.id, d.message_id, d.function, m.kind, m.name, m.event, d.attempt, d.state,"
    " d.due, d.dlq, d.error FROM deliveries d JOIN messages m ON m.id = d.message_id"
)


def _row(r: tuple[object, ...]) -> Delivery:
    return Delivery(
        id=int(r[0]),  # type: ignore[call-overload]
        message_id=int(r[1]),  # type: ignore[call-overload]
        function=str(r[2]),
        kind=str(r[3]),
        name=str(r[4]),
        event=bytes(r[5]),  # type: ignore[call-overload]
        attempt=int(r[6]),  # type: ignore[call-overload]
        state=str(r[7]),
        due=float(r[8]),  # type: ignore[arg-type]
        dlq=None if r[9] is None else str(r[9]),
        error=None if r[10] is None else str(r[10]),
    )


def _group(table: str) -> str:
    """SQL for the FIFO group of a ``messages`` row: its event's ``partitionkey`` ('' if none).
    The text cast keeps SQLite 3.45+ from reading the BLOB as binary JSONB."""
    return f"COALESCE(json_extract(CAST({table}.event AS TEXT), '$.partitionkey'), '')"


class Store:
    """The broker's SQLite database at ``<state-dir>/broker.sqlite3``."""

    def __init__(self, path: Path) -> None:
        # Owner only: it holds every event's payload (and, beside it, stored responses).
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so a writer takes the
        # write lock up front instead of failing half-way when a CLI process also writes.
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=10000")
            with self._lock:
                self._db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:  # not SQLite at all, or a truncated copy
            self._db.close()
            # dev and dlq say so in one line (exit 2) rather than with sqlite3's traceback.
            raise ConfigurationError(
                f"{path} is not a portable-fn broker database: {exc}"
            ) from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def write(self) -> AbstractContextManager[sqlite3.Cursor]:
        """One write transaction under the lock; rolled back if the body raises (the bucket
        snapshot writes its rows and their events in one of these)."""
        return write_transaction(self._db, self._lock)

    def read(self, sql: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def enqueue(
        self, *, kind: str, name: str, event: bytes, functions: Sequence[str], due: float
    ) -> int:
        """Store one message and its deliveries atomically; returns the message id."""
        with self.write() as cur:
            return insert_message(
                cur, kind=kind, name=name, event=event, functions=functions, due=due
            )

    def enqueue_record(
        self, *, stream: str, event: Callable[[int], bytes], functions: Sequence[str], due: float
    ) -> int:
        """``enqueue`` a stream record whose event ``event`` makes from its number in the
        stream (1, 2, ...): numbered in the transaction that stores it, so the numbers follow
        the order its consumers get the records in."""
        with self.write() as cur:
            cur.execute(
                "INSERT INTO sequences(stream, last) VALUES (?, 1)"
                " ON CONFLICT(stream) DO UPDATE SET last = last + 1",
                (stream,),
            )
            (number,) = cur.execute(
                "SELECT last FROM sequences WHERE stream = ?", (stream,)
            ).fetchone()
            return insert_message(
                cur, kind="stream", name=stream, event=event(int(number)), functions=functions,
                due=due,
            )

    def recover(self) -> int:
        """Put deliveries that were in flight when the last process died back to pending."""
        now = time.time()
        with self.write() as cur:
            cur.execute(
                "UPDATE deliveries SET state = 'pending', due = ?, updated = ?"
                " WHERE state = 'inflight'",
                (now, now),
            )
            return cur.rowcount

    def purge_done(self, older_than: float) -> int:
        """Forget delivered messages finished before ``older_than`` (epoch secs): the database
        keeps what may still run or be re-driven, not a history."""
        with self.write() as cur:
            cur.execute(
                "DELETE FROM deliveries WHERE state = 'done' AND updated < ?", (older_than,)
            )
            purged = cur.rowcount
            cur.execute(
                "DELETE FROM messages WHERE id NOT IN (SELECT message_id FROM deliveries)"
                " AND created < ?",
                (older_than,),
            )
            return purged

    def claim_due(self, now: float, limit: int, serial: Collection[str] = ()) -> list[Delivery]:
        """Mark up to ``limit`` due deliveries in flight, counting the attempt.

        Functions in ``serial`` (FIFO queues, streams) get one delivery at a time per
        partition key (the event's ``partitionkey``; events without one are one group),
        oldest first: a later message waits while an earlier one of its group is in flight
        or waiting to retry, as an SQS FIFO message group or a Kinesis partition key does,
        and the other groups go on.
        """
        marks, group = ",".join("?" * len(serial)), _group("m")
        gate = (
            f" AND (d.function NOT IN ({marks}) OR (NOT EXISTS (SELECT 1 FROM deliveries x"
            f" JOIN messages xm ON xm.id = x.message_id WHERE x.function = d.function AND"
            f" x.state = 'inflight' AND {_group('xm')} = {group}) AND NOT EXISTS (SELECT 1"
            f" FROM deliveries y JOIN messages ym ON ym.id = y.message_id WHERE y.id < d.id"
            f" AND y.function = d.function AND y.state = 'pending' AND {_group('ym')} = {group})))"
            if serial
            else ""
        )
        with self.write() as cur:
            rows = cur.execute(
                _SELECT
                + " WHERE d.state = 'pending' AND d.due <= ?"
                + gate
                + " ORDER BY d.due, d.id LIMIT ?",
                (now, *serial, limit),
            ).fetchall()
            cur.executemany(
                "UPDATE deliveries SET state = 'inflight', attempt = attempt + 1, updated = ?"
                " WHERE id = ?",
                [(now, r[0]) for r in rows],
            )
        # The rows were read before the UPDATE: report the attempt now in progress.
        return [replace(_row(r), attempt=int(r[6]) + 1, state="inflight") for r in rows]

    def next_due(self) -> float | None:
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(due) FROM deliveries WHERE state = 'pending'"
            ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def _update(self, sql: str, args: Sequence[object]) -> None:
        with self.write() as cur:
            cur.execute(sql, args)

    def complete(self, delivery_id: int) -> None:
        self._update(
            "UPDATE deliveries SET state = 'done', error = NULL, updated = ? WHERE id = ?",
            (time.time(), delivery_id),
        )

    def retry_later(self, delivery_id: int, due: float, error: str) -> None:
        self._update(
            "UPDATE deliveries SET state = 'pending', due = ?, error = ?, updated = ? WHERE id = ?",
            (due, error, time.time(), delivery_id),
        )

    def hold(self, delivery_id: int, due: float, error: str) -> None:
        """Put a claimed delivery back, due at ``due``, without counting the claim: it ran no
        handler (another attempt holds the event's idempotency key), so it spent no retry."""
        self._update(
            "UPDATE deliveries SET state = 'pending', attempt = attempt - 1, due = ?, error = ?,"
            " updated = ? WHERE id = ?",
            (due, error, time.time(), delivery_id),
        )

    def release(self, delivery_ids: Sequence[int], error: str) -> int:
        """Put deliveries still in flight at a graceful shutdown back, due now and uncounted:
        the runtime stopped those attempts, not their handlers, so they spent no retry (a
        SIGKILL leaves them in flight instead, and ``recover`` counts the attempt that died)."""
        now = time.time()
        with self.write() as cur:
            cur.executemany(
                "UPDATE deliveries SET state = 'pending', attempt = MAX(attempt - 1, 0),"
                " due = ?, error = ?, updated = ? WHERE id = ? AND state = 'inflight'",
                [(now, error, now, i) for i in delivery_ids],
            )
            return cur.rowcount

    def dead_letter(
        self,
        delivery_id: int,
        dlq: str,
        error: str,
        forward: Message | None = None,
        *,
        attempt: int | None = None,
    ) -> None:
        """Mark a delivery dead in ``dlq`` (after ``attempt`` attempts, if given); ``forward``
        (to the DLQ's consumers) in the same transaction, so a crash cannot leave one without
        the other."""
        with self.write() as cur:
            cur.execute(
                "UPDATE deliveries SET state = 'dead', dlq = ?, error = ?,"
                " attempt = COALESCE(?, attempt), updated = ? WHERE id = ?",
                (dlq, error, attempt, time.time(), delivery_id),
            )
            if forward is not None:
                insert_message(
                    cur,
                    kind=forward.kind,
                    name=forward.name,
                    event=forward.event,
                    functions=forward.functions,
                    due=time.time(),
                )

    def dead(self) -> list[Delivery]:
        with self._lock:
            rows = self._db.execute(_SELECT + " WHERE d.state = 'dead' ORDER BY d.id").fetchall()
        return [_row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        """Deliveries per state (pending, inflight, done, dead), each present even at 0: a
        script or probe reads ``deliveries["dead"]`` from ``/_pf/health`` as documented."""
        rows = self.read("SELECT state, COUNT(*) FROM deliveries GROUP BY state")
        return {**dict.fromkeys(STATES, 0), **{str(state): int(n) for state, n in rows}}

    def deliveries(self, message_id: int | None = None) -> list[Delivery]:
        """Every delivery (of one message), for tests and ``dlq list --all``."""
        where, args = ("", ()) if message_id is None else (" WHERE d.message_id = ?", (message_id,))
        with self._lock:
            rows = self._db.execute(_SELECT + where + " ORDER BY d.id", args).fetchall()
        return [_row(r) for r in rows]

    def redrive(self, ids: Sequence[int] | None) -> list[int]:
        """Send dead deliveries (all, or those ids) back with a fresh attempt budget."""
        now = time.time()
        with self.write() as cur:
            if ids is None:
                rows = cur.execute("SELECT id FROM deliveries WHERE state = 'dead'").fetchall()
            else:
                marks = ",".join("?" * len(ids))
                rows = cur.execute(
                    f"SELECT id FROM deliveries WHERE state = 'dead' AND id IN ({marks})",
                    list(ids),
                ).fetchall()
            found = [int(r[0]) for r in rows]
            cur.executemany(
                "UPDATE deliveries SET state = 'pending', attempt = 0, due = ?, dlq = NULL,"
                " updated = ? WHERE id = ?",
                [(now, now, i) for i in found],
            )
        return found


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """A message to enqueue: what it is, where it goes, and the event itself."""

    kind: str
    name: str
    event: bytes
    functions: Sequence[str]


def insert_message(
    cur: sqlite3.Cursor,
    *,
    kind: str,
    name: str,
    event: bytes,
    functions: Sequence[str],
    due: float,
) -> int:
    now = time.time()
    cur.execute(
        "INSERT INTO messages(kind, name, event, created) VALUES (?, ?, ?, ?)",
        (kind, name, event, now),
    )
    message_id = cur.lastrowid or 0
    cur.executemany(
        "INSERT INTO deliveries(message_id, function, state, due, updated)"
        " VALUES (?, ?, 'pending', ?, ?)",
        [(message_id, f, due, now) for f in functions],
    )
    return message_id
