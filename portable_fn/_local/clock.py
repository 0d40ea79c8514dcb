"""An invocation's time limit, counted from when its handler starts.

Lambda counts an invocation's timeout from when its handler is called, never the time an event
waited for a free instance (https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html).
Here a sync handler waits for a thread of the runtime's pool: its ``Clock`` starts when a thread
picks the call up (``Pool``), an async handler's at once. Until it starts, the same time again is
what the call may wait for a thread; a call that found none runs nothing (``started`` stays
False): an event's attempt goes back uncounted, an HTTP request is answered 503, where counting
the wait failed an attempt (or blamed a 504 on a handler) that never ran.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Awaitable
from typing import Any, Protocol, TypeVar

from portable_fn._dispatch import _carried, _Exit
from portable_fn._value import setters
from portable_fn.context import Context

_T = TypeVar("_T")


class _Scope(Protocol):
    """What a ``Clock`` moves: ``asyncio.Timeout`` (3.11+), or ``_Timer`` on 3.10."""

    def reschedule(self, when: float | None) -> None: ...

    def expired(self) -> bool: ...


class Clock:
    """One invocation's ``timeout`` (None: no limit), counted from ``begin``."""

    __slots__ = ("_loop", "_scope", "deadline", "started", "timeout")

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        self.started = False
        # The epoch second the handler is stopped at (``ctx.deadline``): until it starts, as if
        # it started now, which is also when a call still waiting for a thread gives up.
        self.deadline = None if timeout is None else time.time() + timeout
        self._scope: _Scope | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def begin(self) -> None:
        """The handler starts now: on the loop (async), or in the pool thread running it."""
        if self.started:
            return  # an async middleware's def handler: the invocation started with it
        self.started = True
        if self.timeout is None:
            return
        self.deadline = time.time() + self.timeout
        if self._loop is not None:  # ``within`` waits: move its timeout (from a thread, too)
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
                self._loop.call_soon_threadsafe(self._move)

    def _move(self) -> None:
        scope, loop = self._scope, self._loop
        if scope is not None and loop is not None and not scope.expired():
            scope.reschedule(self._when(loop))

    def _when(self, loop: asyncio.AbstractEventLoop) -> float | None:
        """``deadline`` on the loop's clock."""
        if self.deadline is None:
            return None
        return loop.time() + max(0.0, self.deadline - time.time())

    def _bind(self, scope: _Scope, loop: asyncio.AbstractEventLoop) -> None:
        self._scope, self._loop = scope, loop
        scope.reschedule(self._when(loop))


class Timed(Context, view=True):
    """The ``Context`` of a local invocation: its ``deadline`` is its clock's, so a handler that
    waited for a thread still sees the time it really has (``ctx.remaining_time``)."""

    __slots__ = ("_clock",)
    _clock: Clock

    @property  # type: ignore[misc]
    def deadline(self) -> float | None:
        return self._clock.deadline


(_set_clock,) = setters(Timed, "_clock")


def timed(
    clock: Clock, *, function_name: str, invocation_id: str, attempt: int = 1
) -> Context:
    """A local invocation's context, its deadline ``clock``'s."""
    ctx: Timed = object.__new__(Timed)
    Context.__init__(
        ctx, provider="local", function_name=function_name, invocation_id=invocation_id,
        attempt=attempt,
    )
    _set_clock(ctx, clock)
    return ctx


class RanOn(asyncio.TimeoutError):
    """``within``: the call was cancelled at its timeout, caught the cancellation (a broad
    ``except``) and returned after it. Its result is ignored, as a cloud's is once the
    invocation is stopped at its timeout."""


async def within(call: Awaitable[_T], limit: Clock | float) -> _T:
    """``await call``, cancelled with ``asyncio.TimeoutError`` at the deadline of ``limit`` (a
    ``Clock``, or seconds from now), which moves when the handler starts (then
    ``clock.started``: a timeout before it is a call that never ran). On Python 3.11+ through
    ``asyncio.timeout``, which cancels the running task itself: ``wait_for`` wraps the call in
    a task of its own, which doubled the time a hello-world route spends in the runtime.

    A call that swallows the cancellation and returns late is past its timeout all the same
    (``RanOn``): ``asyncio.timeout`` raises only when the cancellation comes out of the block
    (its ``expired()`` still says so).
    https://docs.python.org/3/library/asyncio-task.html#asyncio.Timeout.expired"""
    loop = asyncio.get_running_loop()
    clock = limit if isinstance(limit, Clock) else Clock(limit)
    if sys.version_info < (3, 11):
        return await _within_task(call, clock, loop)
    async with asyncio.timeout(None) as scope:
        clock._bind(scope, loop)
        result = await call
    if scope.expired():
        raise RanOn()
    return result


class _Timer:
    """Python 3.10 has no ``asyncio.timeout``: its ``reschedule`` and ``expired``, cancelling
    ``task`` (``wait_for`` could not move its timeout)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, task: asyncio.Future[Any]) -> None:
        self._loop, self._task = loop, task
        self._expired = False
        self._handle: asyncio.TimerHandle | None = None

    def reschedule(self, when: float | None) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = None if when is None else self._loop.call_at(when, self._fire)

    def expired(self) -> bool:
        return self._expired

    def _fire(self) -> None:
        self._expired = True
        self._task.cancel()


async def _within_task(
    call: Awaitable[_T], clock: Clock, loop: asyncio.AbstractEventLoop
) -> _T:
    """``within`` on Python 3.10: the call runs in a task of its own, carried out of it."""
    inner = asyncio.ensure_future(_carried(call))
    timer = _Timer(loop, inner)
    clock._bind(timer, loop)
    try:
        await asyncio.wait((inner,))
    except asyncio.CancelledError:
        inner.cancel()
        raise
    finally:
        timer.reschedule(None)
    if timer.expired():
        if inner.cancelled():
            raise asyncio.TimeoutError()
        inner.exception()  # read: a late failure is past its timeout all the same
        raise RanOn()
    result = inner.result()
    if type(result) is _Exit:
        raise result.exit  # a handler's sys.exit(), here as on 3.11+ (see _carried)
    return result  # type: ignore[no-any-return]
