# SPDX-License-Identifier: Apache-2.0
"""An in-process idempotency store: for tests and single-process use only.

It deduplicates nothing across processes or instances (two Lambda instances each have their
own), which is why the call pipeline says so in the log when it falls back to it.
"""

from __future__ import annotations

import threading

from portable_fn.idempotency._base import DEFAULT_LEASE, DEFAULT_RETENTION, Record

__all__ = ["MemoryStore"]

_SWEEP_MIN = 1024  # records held before the first sweep for expired ones


class MemoryStore:
    """A dict under a lock."""

    def __init__(
        self, *, lease: float = DEFAULT_LEASE, retention: float = DEFAULT_RETENTION
    ) -> None:
        self.lease, self.retention = lease, retention
        self._records: dict[str, Record] = {}
        self._lock = threading.Lock()
        self._sweep_at = _SWEEP_MIN

    def acquire(self, key: str, token: str, expires_at: float, now: float) -> Record | None:
        with self._lock:
            found = self._records.get(key)
            if found is not None and found.live(now):
                return found
            self._records[key] = Record(
                key=key, status="in_progress", token=token, expires_at=expires_at
            )
            if len(self._records) >= self._sweep_at:
                # An expired record is never read again unless its key comes back: without a
                # sweep a warm instance keeps every key it ever saw. Sweeping when the dict
                # has doubled since the last one costs O(1) per acquire, amortised.
                self._records = {k: r for k, r in self._records.items() if r.live(now)}
                self._sweep_at = max(_SWEEP_MIN, 2 * len(self._records))
            return None

    def complete(
        self, key: str, token: str, result: bytes | None, expires_at: float, now: float
    ) -> bool:
        with self._lock:
            found = self._records.get(key)
            if found is not None and found.token != token and found.live(now):
                return False
            self._records[key] = Record(
                key=key, status="completed", token=token, expires_at=expires_at, result=result
            )
            return True

    def release(self, key: str, token: str) -> None:
        with self._lock:
            found = self._records.get(key)
            if found is not None and found.token == token and found.status == "in_progress":
                del self._records[key]

    def get(self, key: str, now: float) -> Record | None:
        with self._lock:
            found = self._records.get(key)
        return found if found is not None and found.live(now) else None

    def delete(self, key: str) -> None:
        with self._lock:
            self._records.pop(key, None)
