# SPDX-License-Identifier: Apache-2.0
"""Idempotency for at-least-once delivery: run a handler once per key, replay HTTP results.

Declared per function (``@app.queue(..., idempotent=True)``, a key function, or
``@app.http(..., idempotent=True)`` for the ``Idempotency-Key`` header); records live in a
``Store``: ``SQLiteStore`` (local), ``DynamoDBStore``, ``RedisStore`` or ``MemoryStore``, chosen
with ``app.use_idempotency_store(store)`` or the ``PORTABLE_FN_IDEMPOTENCY`` URL
(``store_from_url``). Importing this package loads no store backend: each loads when named.

When the store fails, the guard fails closed: a key that cannot be claimed (the store is down
or refuses) runs no handler; the event fails retryably (redelivered, then dead-lettered once
its retries are spent) and the HTTP request gets a 500. A result that cannot be recorded after
the handler ran (the store went down meanwhile, or a replayed response over DynamoDB's 400 KB
item limit) leaves the outcome as it was and is logged; the key then stays in progress until
its lease ends, and a delivery after that runs the handler again.

Clocks: leases and retention are epoch times from the caller's clock, except Redis, which
expires keys by its own. Hosts that share a SQLite or DynamoDB store need synchronised clocks
(NTP): a host whose clock runs ahead sees a lease end that much early, and may take over a
key still held.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from portable_fn.idempotency._base import (
    DEFAULT_LEASE as DEFAULT_LEASE,
)
from portable_fn.idempotency._base import (
    DEFAULT_RETENTION as DEFAULT_RETENTION,
)
from portable_fn.idempotency._base import IdempotencyConflict as IdempotencyConflict
from portable_fn.idempotency._base import Record as Record
from portable_fn.idempotency._base import Store as Store
from portable_fn.idempotency.config import ENV as ENV
from portable_fn.idempotency.config import store_from_url as store_from_url

if TYPE_CHECKING:
    from portable_fn.idempotency.dynamodb import DynamoDBStore as DynamoDBStore
    from portable_fn.idempotency.memory import MemoryStore as MemoryStore
    from portable_fn.idempotency.redis import RedisStore as RedisStore
    from portable_fn.idempotency.sqlite import SQLiteStore as SQLiteStore

_LAZY = {
    "DynamoDBStore": "portable_fn.idempotency.dynamodb",
    "MemoryStore": "portable_fn.idempotency.memory",
    "RedisStore": "portable_fn.idempotency.redis",
    "SQLiteStore": "portable_fn.idempotency.sqlite",
}


def __getattr__(name: str) -> Any:
    # PEP 562: ``from portable_fn.idempotency import SQLiteStore`` imports sqlite3 only then.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(module), name)
