# SPDX-License-Identifier: Apache-2.0
"""The idempotency wrappers the call pipeline puts around a function, once, at decoration.

Events: the key is the CloudEvent's ``source`` + ``id`` (the spec's duplicate rule: "consumers
MAY assume that events with identical source and id are duplicates") or what the function's
key callable returns, namespaced by app and function (a topic's subscribers each run once).
A duplicate of a completed event is acknowledged without running; a duplicate that races an
attempt in progress fails retryably (``IdempotencyConflict``) and its redelivery settles it.
Under a key function the record keeps a fingerprint of the event's data (and content type): the
key sent again with another payload is still a duplicate (a producer that sends an order again
with a new ``sent_at`` means the same order), acknowledged without running, but with a WARNING
line naming the key, never silently. (Powertools' payload validation, which raises instead, is
opt-in there: https://docs.powertools.aws.dev/lambda/python/latest/utilities/idempotency/#payload-validation.)
The default key (``source`` + ``id``) names one event, whose redeliveries carry the same data,
so it stores and compares nothing.

The HTTP wrapper (``http_guard``) shares the helpers here: store resolution, lease, fencing.

Async handlers: the store's calls run in a thread (``asyncio.to_thread``), so a store that
waits (a network round trip, a SQLite lock held by another process) never blocks the event
loop; the memory store, which never waits, runs inline (and Workers, which have no threads,
only have that store).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from portable_fn.errors import ConfigurationError, NonRetryable
from portable_fn.idempotency._base import IdempotencyConflict
from portable_fn.idempotency.config import store_for

if TYPE_CHECKING:
    from portable_fn.context import Context
    from portable_fn.events import CloudEvent
    from portable_fn.idempotency._base import Record, Store

__all__ = ["InvalidIdempotencyKey", "guard_event"]

Call = Callable[[Any, "Context"], Any]
KeyFn = Callable[["CloudEvent"], str]
_MARGIN = 5.0  # seconds past the provider's deadline before a crashed attempt's lease ends


def digest(*parts: str) -> str:
    import hashlib

    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


class InvalidIdempotencyKey(NonRetryable, TypeError):
    """The key function returned no key (not a str, or empty) or raised (``error``, also the
    ``__cause__``: a message without the field it reads). The same event gives the same answer
    on every retry, so the message is dead-lettered at once; ``function`` names the key
    function, ``handler`` the function it guards."""

    def __init__(
        self, key_fn: KeyFn, handler: str, value: object, *, error: Exception | None = None
    ) -> None:
        name = getattr(key_fn, "__qualname__", None) or repr(key_fn)
        self.function = f"{getattr(key_fn, '__module__', None) or '?'}.{name}"
        self.handler = handler
        self.error = error
        outcome = (
            f"returned {value!r}, not a non-empty str" if error is None else f"raised {error!r}"
        )
        super().__init__(f"the idempotency key function {self.function} of {handler!r} {outcome}")


def begin(ctx: Context, raw_key: str) -> tuple[Store, str, str]:
    """Resolve the store; return it, the namespaced key and this attempt's token."""
    from portable_fn._invocation import current

    invocation = current()
    if invocation is None:
        raise ConfigurationError(
            "an idempotent function runs through dispatch, which knows its app",
            function=ctx.function_name,
        )
    app = invocation.app
    store = store_for(app)
    key = f"{app.name}/{ctx.function_name}/{digest(raw_key)}"
    return store, key, os.urandom(16).hex()


def lease(store: Store, ctx: Context) -> float:
    """How long an attempt holds its key: past its deadline (or, with none, its declared
    timeout) by a margin, and never less than the store's own lease. Not every provider stops
    the handler at its deadline (Cloud Run answers 504 and lets it run on), so a deadline
    sooner than the store's lease does not shorten it: a redelivery then would run beside the
    attempt. A lease shorter than the declared timeout would let one run beside an attempt
    still within its time."""
    remaining = ctx.remaining_time
    if remaining is None:
        from portable_fn._invocation import current

        invocation = current()
        timeout = None if invocation is None else invocation.function.limits.timeout
        remaining = None if timeout is None else float(timeout)
    return store.lease if remaining is None else max(store.lease, remaining + _MARGIN)


def log(ctx: Context, message: str, **fields: Any) -> None:
    from portable_fn._invocation import invocation_logger

    invocation_logger(ctx).info(message, **fields)


def finish(store: Store, ctx: Context, key: str, token: str, result: bytes | None) -> None:
    now = time.time()
    try:
        store.complete(key, token, result, now + store.retention, now)
    except Exception as exc:
        # The handler's effect happened: failing now would redeliver and repeat it once the
        # lease ends. Acknowledge, and say that the record could not be written.
        from portable_fn._invocation import invocation_logger

        invocation_logger(ctx).exception(
            "could not record the completed idempotency key", exc=exc, key=key
        )


def abandon(store: Store, ctx: Context, key: str, token: str) -> None:
    try:
        store.release(key, token)
    except Exception as exc:  # the lease still ends on time: a retry waits, nothing is lost
        from portable_fn._invocation import invocation_logger

        invocation_logger(ctx).exception("could not release idempotency key", exc=exc)


def _event_raw_key(event: CloudEvent, ctx: Context, key_fn: KeyFn | None) -> str:
    if key_fn is None:
        return f"{event.source}\x1f{event.id}"
    try:
        key = key_fn(event)
    except Exception as exc:
        # The same message raises the same way on every redelivery (a field it lacks): fail it
        # for good, as a key function that returns no key does. The store is not reached yet,
        # so its outages stay retryable.
        raise InvalidIdempotencyKey(key_fn, ctx.function_name, None, error=exc) from exc
    if not isinstance(key, str) or not key:
        raise InvalidIdempotencyKey(key_fn, ctx.function_name, key)
    return key


def payload_print(event: CloudEvent) -> bytes:
    """A fingerprint of the event's payload: its ``data`` (JSON with sorted keys, so a producer
    that rebuilds the message sends the same payload; bytes as they are) and
    ``datacontenttype``, stored as the record's result."""
    import json

    data = event.data
    if isinstance(data, bytes | bytearray | memoryview):
        form, text = "bytes", bytes(data).decode("latin-1")
    else:
        form = "json"
        try:
            text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                              default=repr)
        except (TypeError, ValueError, RecursionError):  # keys of mixed types, a cycle
            form, text = "repr", repr(data)
    return digest(event.datacontenttype or "", form, text).encode("ascii")


Claim = tuple["Store", str, str, "bytes | None"]


def _claim_event(event: CloudEvent, ctx: Context, key_fn: KeyFn | None) -> Claim:
    """The store, key, token and payload fingerprint (under a key function) when this attempt
    runs the handler; raises when it must not."""
    raw_key = _event_raw_key(event, ctx, key_fn)
    store, key, token = begin(ctx, raw_key)
    now = time.time()
    found = store.acquire(key, token, now + lease(store, ctx), now)
    return _claimed(event, ctx, found, now, (store, key, token, _print(event, key_fn)), raw_key)


async def _claim_event_async(event: CloudEvent, ctx: Context, key_fn: KeyFn | None) -> Claim:
    raw_key = _event_raw_key(event, ctx, key_fn)
    store, key, token = begin(ctx, raw_key)
    now = time.time()
    found = await acquire_async(store, ctx, key, token, now + lease(store, ctx), now)
    return _claimed(event, ctx, found, now, (store, key, token, _print(event, key_fn)), raw_key)


def _print(event: CloudEvent, key_fn: KeyFn | None) -> bytes | None:
    # Only a key function can name two payloads with one key: the default path pays nothing.
    return None if key_fn is None else payload_print(event)


def _claimed(
    event: CloudEvent, ctx: Context, found: Record | None, now: float, claim: Claim, raw_key: str
) -> Claim:
    if found is None:
        return claim
    if found.status == "completed":
        # A record of the previous version (no fingerprint) stays a duplicate.
        print_ = claim[3]
        if print_ is not None and found.result is not None and found.result != print_:
            ctx.logger.warning(
                "idempotency key already used by an event with another payload: acknowledged "
                "as a duplicate, not run",
                key=raw_key, event_id=event.id,
            )
        raise _Duplicate
    raise IdempotencyConflict(
        f"event {event.id} from {event.source} is being processed",
        retry_after=max(0.0, found.expires_at - now),
    )


# -- off the event loop -----------------------------------------------------------------------


def _inline(store: Store) -> bool:
    # The memory store never waits (a dict under a lock): a thread would cost more than the
    # call, and the one runtime without threads (Pyodide on Workers) has only this store.
    from portable_fn.idempotency.memory import MemoryStore

    return isinstance(store, MemoryStore)


async def off_loop(store: Store, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``, a call on ``store``, in a thread unless the store never waits."""
    if _inline(store):
        return fn(*args)
    import asyncio

    return await asyncio.to_thread(fn, *args)


async def acquire_async(
    store: Store, ctx: Context, key: str, token: str, expires_at: float, now: float
) -> Record | None:
    """``store.acquire`` off the event loop. Cancelled while it runs, the thread carries on: if
    it takes the key, the key is given back (the handler will not run), or the redelivery
    would wait out the lease."""
    if _inline(store):
        return store.acquire(key, token, expires_at, now)
    import asyncio
    import threading

    lock, state = threading.Lock(), {"held": False, "gone": False}

    def claim() -> Record | None:
        found = store.acquire(key, token, expires_at, now)
        if found is None:
            with lock:
                state["held"] = True
                gone = state["gone"]
            if gone:
                abandon(store, ctx, key, token)
        return found

    try:
        return await asyncio.to_thread(claim)
    except asyncio.CancelledError:
        with lock:  # exactly one side (this one or the thread) sees both flags and gives back
            state["gone"] = True
            held = state["held"]
        if held:  # the thread took the key before the cancel reached here
            asyncio.get_running_loop().run_in_executor(None, abandon, store, ctx, key, token)
        raise


class _Duplicate(Exception):
    """Internal: a completed duplicate, acknowledged without running the handler."""


def guard_event(call: Call, *, key_fn: KeyFn | None, is_async: bool) -> Call:
    """Run ``call`` at most once per key (events)."""
    if is_async:

        async def guarded_async(event: CloudEvent, ctx: Context) -> Any:
            try:
                store, key, token, print_ = await _claim_event_async(event, ctx, key_fn)
            except _Duplicate:
                log(ctx, "duplicate event acknowledged without running", event_id=event.id)
                return None
            try:
                result = await call(event, ctx)
            except BaseException:
                await off_loop(store, abandon, store, ctx, key, token)
                raise
            await off_loop(store, finish, store, ctx, key, token, print_)
            return result

        return guarded_async

    def guarded(event: CloudEvent, ctx: Context) -> Any:
        try:
            store, key, token, print_ = _claim_event(event, ctx, key_fn)
        except _Duplicate:
            log(ctx, "duplicate event acknowledged without running", event_id=event.id)
            return None
        try:
            result = call(event, ctx)
        except BaseException:
            abandon(store, ctx, key, token)
            raise
        if result is not None and hasattr(type(result), "__await__"):
            # A plain function that returned a coroutine (dispatch awaits it): the handler's
            # work is that coroutine, so the key is settled once it has run.
            return _settle_later(result, store, ctx, key, token, print_)
        finish(store, ctx, key, token, print_)
        return result

    return guarded


async def _settle_later(
    awaitable: Any, store: Store, ctx: Context, key: str, token: str, print_: bytes | None
) -> Any:
    try:
        result = await awaitable
    except BaseException:
        await off_loop(store, abandon, store, ctx, key, token)
        raise
    await off_loop(store, finish, store, ctx, key, token, print_)
    return result
