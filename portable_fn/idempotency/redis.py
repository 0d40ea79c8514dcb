# SPDX-License-Identifier: Apache-2.0
"""The Redis idempotency store (redis-py, imported when the store is built, never before).

``SET key value NX PX lease`` is the put-if-absent: Redis expires the key itself when the lease
or the retention ends, so an expired record is simply absent. Completing and releasing are
fenced by the attempt's token in a Lua script, which Redis runs atomically.
https://redis.io/docs/latest/commands/set/, https://redis.io/docs/latest/commands/eval/

``from_url`` sets short socket timeouts (``TIMEOUT`` seconds to connect and to read, unless the
URL's own ``socket_timeout`` / ``socket_connect_timeout`` say otherwise): a Redis that does not
answer fails the delivery (retried later) instead of holding it until the provider's deadline.
Every command here is O(1); none blocks on the server.
"""

from __future__ import annotations

import json
from typing import Any

from portable_fn.idempotency._base import DEFAULT_LEASE, DEFAULT_RETENTION, Record

__all__ = ["TIMEOUT", "RedisStore"]

TIMEOUT = 2.0
"""Seconds to connect to Redis, and to wait for an answer, when the URL does not say."""

# KEYS[1] key; ARGV[1] token, ARGV[2] new value, ARGV[3] px. Writes when the key is absent
# (lease ran out and nobody took over) or still held by this token.
_COMPLETE = """
local v = redis.call('GET', KEYS[1])
if v and cjson.decode(v)['token'] ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""
_RELEASE = """
local v = redis.call('GET', KEYS[1])
if v then
  local r = cjson.decode(v)
  if r['token'] == ARGV[1] and r['status'] == 'in_progress' then redis.call('DEL', KEYS[1]) end
end
return 0
"""


class RedisStore:
    """Records as JSON strings under ``prefix + key``."""

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = "portable-fn:idem:",
        lease: float = DEFAULT_LEASE,
        retention: float = DEFAULT_RETENTION,
    ) -> None:
        self.lease, self.retention = lease, retention
        self.client, self.prefix = client, prefix
        self._complete = client.register_script(_COMPLETE)
        self._release = client.register_script(_RELEASE)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        socket_timeout: float = TIMEOUT,
        socket_connect_timeout: float = TIMEOUT,
        **options: Any,
    ) -> RedisStore:
        """``redis://host:port/db`` (or ``rediss://``), as redis-py's ``from_url`` reads it.

        The timeouts apply unless the URL sets its own (redis-py: the query string wins)."""
        try:
            import redis
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                'the Redis idempotency store needs redis-py: pip install "redis>=5"'
            ) from exc
        client = redis.Redis.from_url(
            url, socket_timeout=socket_timeout, socket_connect_timeout=socket_connect_timeout
        )
        return cls(client, **options)

    def acquire(self, key: str, token: str, expires_at: float, now: float) -> Record | None:
        value = _dump("in_progress", token, expires_at, None)
        px = _px(expires_at - now)
        while True:
            if self.client.set(self.prefix + key, value, nx=True, px=px):
                return None
            # Redis's own TTL decides what has expired here, not this host's clock: a record
            # our clock thinks expired but Redis still holds is still held.
            found = self._read(key)
            if found is not None:
                return found
            # Expired between SET and GET: try again.

    def complete(
        self, key: str, token: str, result: bytes | None, expires_at: float, now: float
    ) -> bool:
        value = _dump("completed", token, expires_at, result)
        done = self._complete(keys=[self.prefix + key], args=[token, value, _px(expires_at - now)])
        return bool(done)

    def release(self, key: str, token: str) -> None:
        self._release(keys=[self.prefix + key], args=[token])

    def get(self, key: str, now: float) -> Record | None:
        record = self._read(key)
        return record if record is not None and record.live(now) else None

    def _read(self, key: str) -> Record | None:
        raw = self.client.get(self.prefix + key)
        if raw is None:
            return None
        found = json.loads(raw)
        return Record(
            key=key,
            status=found["status"],
            token=found["token"],
            expires_at=float(found["expires_at"]),
            result=None if found["result"] is None else found["result"].encode("latin-1"),
        )

    def delete(self, key: str) -> None:
        self.client.delete(self.prefix + key)


def _px(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def _dump(status: str, token: str, expires_at: float, result: bytes | None) -> str:
    # latin-1 maps bytes 0-255 to code points one to one: any bytes survive the JSON string.
    text = None if result is None else result.decode("latin-1")
    return json.dumps({"status": status, "token": token, "expires_at": expires_at, "result": text})
