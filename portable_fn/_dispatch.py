# SPDX-License-Identifier: Apache-2.0
"""The dispatch kernel every adapter calls: a portable value in, an outcome out, never a raise.

Events: an exception fails that one message; ``NonRetryable`` and validation errors fail it for
good. HTTP is ``_dispatch_http``, on the helpers here (running awaitables, the invocation).
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any

from portable_fn import _observe
from portable_fn._invocation import (
    Invocation,
    _cold,
    _current,
    current_log_fields,
    invocation_logger,
)
from portable_fn.context import Context
from portable_fn.errors import (
    EventDecodeError,
    HandlerCancelled,
    InvalidCloudEventError,
    NonRetryable,
    PortableFnError,
    UnprocessableEntity,
)
from portable_fn.events import CloudEvent
from portable_fn.log import LEVELS, Logger, threshold
from portable_fn.triggers import Event, Storage

if TYPE_CHECKING:
    from portable_fn.app import App, Function

__all__ = ["Outcome", "dispatch_event", "dispatch_event_async", "run_event"]


class Outcome:
    """What became of one message: ``ok``, or failed with ``error`` (``retryable`` = redeliver)."""

    __slots__ = ("error", "ok", "retryable")

    def __init__(
        self, ok: bool, error: BaseException | None = None, retryable: bool = True
    ) -> None:
        self.ok = ok
        self.error = error
        self.retryable = retryable

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Outcome):
            return NotImplemented
        return (self.ok, self.error, self.retryable) == (other.ok, other.error, other.retryable)

    def __hash__(self) -> int:
        return hash((self.ok, id(self.error), self.retryable))

    def __repr__(self) -> str:
        return f"Outcome(ok={self.ok!r}, error={self.error!r}, retryable={self.retryable!r})"

    @property
    def reason(self) -> str | None:
        if self.error is None:
            return None
        return f"{type(self.error).__name__}: {self.error}"


OK = Outcome(True)


# -- running coroutines from sync adapters ----------------------------------------------------

def run_sync(awaitable: Awaitable[Any]) -> Any:
    """Run an async handler's coroutine from a synchronous adapter (Lambda, functions-framework,
    the Azure worker's pool) and return what it returns, or raise what it raises.

    Every call runs on one event loop for the process, in a thread of its own (``_loop``), not
    on a loop per calling thread: a module-level ``asyncio.Lock`` or client pool that handlers
    in two threads share belongs to one loop. The coroutine runs in a copy of the caller's
    context (the invocation: log fields, ``pf.publish``). Tasks it starts and does not await
    are waited for before this returns, up to the invocation's deadline, then cancelled with a
    WARNING. A ``CancelledError`` of its own is ``HandlerCancelled``. Called where an event
    loop is running (inside an async handler), it raises ``RuntimeError``: await the async
    dispatch there. asyncio is imported on first use only.
    """
    try:
        from portable_fn import _loop
    except ImportError:
        # Left out of a package whose app has no async handler (the AWS zip's ``left_out``),
        # and reached anyway (a plain def returning a coroutine, unmarked): a loop of its own.
        return _run_alone(awaitable)
    try:
        return _loop.run(awaitable)
    except _loop.CancelledError as exc:
        # Nothing outside cancels the handler's task while the caller waits: it cancelled itself.
        raise _cancelled(exc) from exc


def _run_alone(awaitable: Awaitable[Any]) -> Any:
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(awaitable)
    except asyncio.CancelledError as exc:
        raise _cancelled(exc) from exc
    finally:
        loop.close()


def _cancelled(exc: BaseException) -> HandlerCancelled:
    return HandlerCancelled(f"the handler was cancelled (CancelledError: {exc})")


def _own_cancel(exc: BaseException) -> HandlerCancelled:
    """For a ``BaseException`` out of an awaited handler: a ``HandlerCancelled`` when it is a
    ``CancelledError`` of the handler's own; anything else (the dispatch being cancelled, or no
    cancellation at all) is raised again here, as it must propagate. Python 3.10 cannot tell
    them apart here (``Task.cancelling`` is 3.11): there it propagates, and the async paths
    tell them apart in ``_awaited`` instead."""
    asyncio = sys.modules.get("asyncio")
    if asyncio is None or not isinstance(exc, asyncio.CancelledError):
        raise exc
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running loop: a sync handler raised it
        task = None
    cancelling = getattr(task, "cancelling", None)
    if task is not None and (cancelling is None or cancelling()):
        raise exc
    return _cancelled(exc)


# Python 3.11+ counts a task's pending cancellations (Task.cancelling), which tells a
# handler's own CancelledError from the dispatch being cancelled.
_CANCELLING = sys.version_info >= (3, 11)
# The async runtime's pool for sync code (``offload``), while an awaited call runs: where an
# async middleware wraps a def handler, it runs the handler there (``_middleware``), counted
# with the runtime's other handlers rather than in asyncio's default executor.
OFFLOAD: ContextVar[Callable[[Callable[[], Any]], Awaitable[Any]] | None] = ContextVar(
    "portable_fn_offload", default=None
)


async def awaited_call(
    fn: Function,
    value: Any,
    ctx: Context,
    offload: Callable[[Callable[[], Any]], Awaitable[Any]] | None,
) -> Any:
    """``await fn.call(value, ctx)`` with the runtime's ``offload`` at hand (``OFFLOAD``)."""
    if offload is None:
        return await _awaited(fn.call(value, ctx))
    held = OFFLOAD.set(offload)
    try:
        return await _awaited(fn.call(value, ctx))
    finally:
        OFFLOAD.reset(held)


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    """``await awaitable`` from the async dispatch paths. On Python 3.10 it runs in a task of
    its own, awaited with ``asyncio.wait``: cancelling the dispatch then raises in ``wait``
    (and cancels the handler's task), while the handler cancelling itself only ends its own
    task cancelled, which is the handler's failure (``HandlerCancelled``)."""
    if _CANCELLING:
        return await awaitable
    import asyncio

    inner = asyncio.ensure_future(_carried(awaitable))
    try:
        await asyncio.wait((inner,))
    except asyncio.CancelledError:
        inner.cancel()
        raise
    if inner.cancelled():
        raise _cancelled(asyncio.CancelledError())
    result = inner.result()
    if type(result) is _Exit:
        raise result.exit  # here, where it reaches the caller as on 3.11+
    return result


class _Exit:
    """A handler's ``SystemExit``, carried out of the task ``_awaited`` runs it in (3.10)."""

    __slots__ = ("exit",)

    def __init__(self, exit: SystemExit) -> None:
        self.exit = exit


async def _carried(awaitable: Awaitable[Any]) -> Any:
    """``await awaitable``, a ``SystemExit`` returned as an ``_Exit``: raised in a task, asyncio
    hands it to the event loop, which stops (the whole local runtime), never to the awaiting
    dispatch, which lets it through to its caller on 3.11+."""
    try:
        return await awaitable
    except SystemExit as exc:
        return _Exit(exc)


def _awaitable(value: Any) -> bool:
    return hasattr(type(value), "__await__")


async def _settled(awaitable: Awaitable[Any]) -> Any:
    """What an awaitable a handler returned comes to: awaited, and what it returns awaited
    too while that is awaitable (a plain function that returns a coroutine, as a decorator
    that is not async-aware makes one; an async handler that returns a coroutine unawaited)."""
    result = await awaitable
    while _awaitable(result):
        result = await result
    return result


# -- shared by events and HTTP -----------------------------------------------------------------


def _enter(invocation: Invocation) -> tuple[Token[Invocation | None], _observe.Observation | None]:
    """Make ``invocation`` the current one (for pf.publish and loggers) and start observing."""
    return _current.set(invocation), _observe.begin(invocation)


def _log_error(ctx: Context, message: str, exc: BaseException, **fields: Any) -> None:
    """An ERROR line with the invocation's fields, worked out only when ERROR lines are written
    (a new trace id among them), and ``fields`` of its own (what names a message that has no
    event)."""
    if LEVELS["ERROR"] >= threshold():
        invocation_logger(ctx).exception(message, exc=exc, **fields)


def _bound(fn: Function, value: Any, ctx: Context) -> Callable[[], Any]:
    import contextvars

    # Run in a copy of this context so pf.publish inside a thread sees the invocation.
    context = contextvars.copy_context()
    return lambda: context.run(fn.call, value, ctx)


# -- events -----------------------------------------------------------------------------------


def _skips(fn: Function, event: CloudEvent, ctx: Context) -> bool:
    """Whether the trigger's filter rejects this event: it is acknowledged, not run, and an
    INFO line says so (else a declined delivery leaves no trace at all). Called for filtered
    triggers only, so the unfiltered path pays nothing."""
    reason = declined(fn, event)
    if reason is None:
        return False
    if LEVELS["INFO"] >= threshold():
        _log_skip(fn, event, ctx, reason)
    return True


def declined(fn: Function, event: CloudEvent) -> str | None:
    """Why the function's own filter declines ``event`` (None: it accepts it), in the words
    every provider logs it with (an adapter that filters before dispatching reads it too)."""
    trigger = fn.trigger
    if isinstance(trigger, Storage):
        data = event.data if isinstance(event.data, Mapping) else {}
        action = str(data.get("action", ""))
        if action not in trigger.on:
            if not action:  # not a storage event's data at all
                return f"no action in the event's data (on={trigger.on})"
            return f"action {action} not in on={trigger.on}"
        if not trigger.accepts(str(data.get("key", "")), action):
            return f"key outside prefix {trigger.prefix!r} / suffix {trigger.suffix!r}"
        return None
    if isinstance(trigger, Event) and not trigger.matches(event.type, event.source):
        if trigger.source is not None and event.source != trigger.source:
            return f"source {event.source} is not {trigger.source}"
        return f"type {event.type} is not {trigger.type}"
    return None


def _log_skip(fn: Function, event: CloudEvent, ctx: Context, reason: str) -> None:
    """The INFO line for a declined event, worded as the GCP adapter's for a declined delivery.
    Its own event fields: a batch's current invocation may still name the previous message."""
    fields = current_log_fields(ctx)
    fields.update(function=fn.name, event_id=event.id, event_type=event.type)
    Logger(fields).info("delivery not for this function: acknowledged, not run", reason=reason)


# Failures a retry cannot fix (a tuple: isinstance with a `|` union builds the union per call).
_FINAL = (NonRetryable, UnprocessableEntity, EventDecodeError, InvalidCloudEventError)


def _failure(ctx: Context, exc: Exception) -> Outcome:
    retryable = not isinstance(exc, _FINAL)
    _log_error(ctx, "event handler failed" + ("" if retryable else " (not retryable)"), exc)
    return Outcome(False, exc, retryable)


def dispatch_event(app: App, function: str, event: CloudEvent, ctx: Context) -> Outcome:
    """Run an event function on one event; always returns an ``Outcome``."""
    try:
        fn = app.function(function)
    except PortableFnError as exc:
        return Outcome(False, exc, False)
    return run_event(app, fn, event, ctx)


_FILTERED = (Storage, Event)


def run_event(app: App, fn: Function, event: CloudEvent, ctx: Context) -> Outcome:
    """``dispatch_event`` with the function already looked up: what a batch adapter runs per
    message, having resolved ``app.function(name)`` once for the whole batch."""
    if isinstance(fn.trigger, _FILTERED) and _skips(fn, event, ctx):
        return OK
    return _run(app, fn, event, ctx, _cold())


def _run(app: App, fn: Function, event: CloudEvent, ctx: Context, cold: bool) -> Outcome:
    """``run_event`` past the filter, its cold start known (a ``Batch`` took it already)."""
    invocation = Invocation(app, fn, ctx, event, cold)
    token = _current.set(invocation)
    try:
        return _call(invocation, fn, event, ctx)
    finally:
        _current.reset(token)


def _observed_failure(
    ctx: Context, exc: Exception, observation: _observe.Observation | None
) -> Outcome:
    """A handler's exception as its ``Outcome`` (``_failure``), its observation ended with it."""
    if observation is not None:
        observation.end(exc)
    return _failure(ctx, exc)


def _call(invocation: Invocation, fn: Function, event: CloudEvent, ctx: Context) -> Outcome:
    """Call the handler under ``invocation`` (the current one), observed; never raises."""
    observation = _observe.begin(invocation)
    try:
        result = fn.call(event, ctx)
        if result is not None and (fn.is_async or _awaitable(result)):
            run_sync(_settled(result))
    except Exception as exc:
        # Returned from here, never kept in a local: the exception's traceback holds this frame,
        # and a local holding the outcome (so the exception) would make a cycle that only the
        # garbage collector frees, a collection every few failed messages.
        return _observed_failure(ctx, exc, observation)
    except BaseException as exc:  # the handler's own CancelledError, or raised again
        return _observed_failure(ctx, _own_cancel(exc), observation)
    if observation is not None:
        observation.end(None)
    return OK


async def dispatch_event_async(
    app: App,
    function: str,
    event: CloudEvent,
    ctx: Context,
    *,
    offload: Callable[[Callable[[], Any]], Awaitable[Any]] | None = None,
) -> Outcome:
    """The async twin of ``dispatch_event``."""
    try:
        fn = app.function(function)
    except PortableFnError as exc:
        return Outcome(False, exc, False)
    if isinstance(fn.trigger, _FILTERED) and _skips(fn, event, ctx):
        return OK
    token, observation = _enter(Invocation(app, fn, ctx, event, _cold()))
    try:
        if fn.is_async:
            result = await awaited_call(fn, event, ctx, offload)
        elif offload is not None:
            result = await offload(_bound(fn, event, ctx))
        else:
            result = fn.call(event, ctx)
        if result is not None and _awaitable(result):
            await _awaited(_settled(result))
    except Exception as exc:
        return _observed_failure(ctx, exc, observation)  # not kept in a local: see _call
    except BaseException as exc:  # the handler's own CancelledError, or raised again
        return _observed_failure(ctx, _own_cancel(exc), observation)
    finally:
        _current.reset(token)
    if observation is not None:
        observation.end(None)
    return OK
