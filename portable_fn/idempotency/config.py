# SPDX-License-Identifier: Apache-2.0
"""Which store an app's idempotent functions use: ``App.use_idempotency_store(store)``, else
the ``PORTABLE_FN_IDEMPOTENCY`` URL, else a per-process memory store (with a warning).

URLs (``lease`` and ``retention`` seconds may be added to any as query parameters)::

    memory://
    sqlite:///abs/path/idempotency.sqlite3     (sqlite://relative/path too: the path is what
                                                follows sqlite://, so three slashes make it
                                                absolute, where SQLAlchemy takes four)
    dynamodb://TABLE?region=eu-west-1&endpoint_url=http://127.0.0.1:5000
        (&connect_timeout=&read_timeout= seconds, 2 each by default)
    redis://HOST:PORT/DB                        (rediss:// for TLS)
        (?socket_timeout=&socket_connect_timeout= seconds, 2 each by default)

Read on the first idempotent call, never at import (importing has no side effects).
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from portable_fn.errors import ConfigurationError

if TYPE_CHECKING:
    from portable_fn.app import App
    from portable_fn.idempotency._base import Store

__all__ = ["ENV", "store_for", "store_from_url"]

ENV = "PORTABLE_FN_IDEMPOTENCY"
_resolving = threading.Lock()  # two first calls on two threads must install one store


def store_from_url(url: str) -> Store:
    """Build the store a URL names (importing its client library now)."""
    from urllib.parse import parse_qs, urlencode, urlsplit

    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    options: dict[str, Any] = {
        name: _seconds(url, name, query.pop(name))
        for name in ("lease", "retention")
        if name in query
    }
    scheme = parts.scheme.lower()
    if scheme == "memory":
        from portable_fn.idempotency.memory import MemoryStore

        return MemoryStore(**options)
    if scheme == "sqlite":
        from portable_fn.idempotency.sqlite import SQLiteStore

        path = (parts.netloc + parts.path) if parts.netloc else parts.path
        if not path:
            raise ConfigurationError(f"{ENV}: {_shown(url)!r} names no database file")
        return SQLiteStore(path, **options)
    if scheme == "dynamodb":
        from portable_fn.idempotency.dynamodb import DynamoDBStore

        if not parts.netloc:
            raise ConfigurationError(f"{ENV}: {_shown(url)!r} names no table")
        for name in ("connect_timeout", "read_timeout"):
            if name in query:
                options[name] = _seconds(url, name, query[name])
        return DynamoDBStore(
            parts.netloc,
            region=query.get("region"),
            endpoint_url=query.get("endpoint_url"),
            **options,
        )
    if scheme in ("redis", "rediss"):
        from portable_fn.idempotency.redis import RedisStore

        # Encoded again: parse_qs decoded the values, and an "&" or "%" inside one (a
        # password, a client name) must stay part of it when redis-py parses the URL.
        plain = parts._replace(query=urlencode(query)).geturl()
        return RedisStore.from_url(plain, **options)
    raise ConfigurationError(
        f"{ENV}: unknown store {_shown(url)!r}; use memory://, sqlite://PATH, dynamodb://TABLE or "
        "redis://HOST:PORT/DB"
    )


def _seconds(url: str, name: str, text: str) -> float:
    # Positive and finite: a lease of 0 lets every racing delivery take the key (no exclusion),
    # an infinite one never frees a crashed attempt's key, and NaN compares as neither.
    import math

    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ConfigurationError(
            f"{ENV}: {_shown(url)!r}: {name} must be a positive number of seconds"
        )
    return value


def store_for(app: App) -> Store:
    """The app's store, resolved and installed on its first idempotent call."""
    store = app.idempotency_store
    if store is not None:
        return store
    with _resolving:
        store = app.idempotency_store
        if store is None:
            url = os.environ.get(ENV, "").strip()
            if url:
                store = store_from_url(url)
            else:
                from portable_fn.idempotency.memory import MemoryStore
                from portable_fn.log import logger

                logger.warning(
                    f"no idempotency store configured for app {app.name!r}: using a "
                    f"per-process memory store, which does not deduplicate across processes "
                    f"or instances; set {ENV} or call app.use_idempotency_store(...)"
                )
                store = MemoryStore()
            app.use_idempotency_store(store)
    return store


# Query parameters whose values say nothing secret; any other's value is hidden in an error.
_PLAIN_OPTIONS = frozenset((
    "lease", "retention", "region", "endpoint_url", "connect_timeout", "read_timeout",
    "socket_timeout", "socket_connect_timeout",
))


def _shown(url: str) -> str:
    """``url`` as an error may quote it: every ERROR line of an idempotent call that cannot
    get its store repeats it, and a Redis URL carries its password (``redis://:PASS@host``)."""
    from urllib.parse import parse_qsl, urlencode, urlsplit

    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            user, _, host = netloc.rpartition("@")
            name, has_password, _ = user.partition(":")
            netloc = f"{name}{':***' if has_password else ''}@{host}"
        query = [(k, v if k in _PLAIN_OPTIONS else "***")
                 for k, v in parse_qsl(parts.query, keep_blank_values=True)]
        return parts._replace(netloc=netloc, query=urlencode(query, safe="*:/")).geturl()
    except ValueError:  # not even a URL's shape: nothing of it is shown
        return "<unreadable URL>"
