"""What the bucket watcher last saw of each bucket folder, kept in the broker's database.

The snapshot row and the storage event it causes are written in one transaction, so a crash
can neither fire an event twice for the same change nor forget a change it already recorded,
and changes made while the runtime was down fire at the next start.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from portable_fn._local.store import Message, Store, insert_message


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredObject:
    """What the bucket watcher last saw of one file, to diff the folder across restarts."""

    key: str
    size: int
    mtime_ns: int
    etag: str


class Snapshot:
    """The ``objects`` table of a ``Store``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def objects(self, bucket: str) -> dict[str, StoredObject]:
        rows = self.store.read(
            "SELECT key, size, mtime_ns, etag FROM objects WHERE bucket = ?", (bucket,)
        )
        return {
            str(k): StoredObject(key=str(k), size=int(s), mtime_ns=int(m), etag=str(e))
            for k, s, m, e in rows
        }

    def record_object(
        self, bucket: str, key: str, obj: StoredObject | None, event: Message | None
    ) -> None:
        """Update the folder snapshot and enqueue its storage event in one transaction."""
        with self.store.write() as cur:
            if obj is None:
                cur.execute("DELETE FROM objects WHERE bucket = ? AND key = ?", (bucket, key))
            else:
                cur.execute(
                    "INSERT OR REPLACE INTO objects(bucket, key, size, mtime_ns, etag)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (bucket, key, obj.size, obj.mtime_ns, obj.etag),
                )
            if event is not None:
                insert_message(
                    cur,
                    kind=event.kind,
                    name=event.name,
                    event=event.event,
                    functions=event.functions,
                    due=time.time(),
                )
