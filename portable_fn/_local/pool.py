"""The threads sync handlers run on, a pool per kind of work (deliveries, HTTP requests).

Unlike ``concurrent.futures.ThreadPoolExecutor``, the pool says when a call starts (its
``Clock`` begins then: a call's wait for a thread is not its handler's run time), drops a call
whose caller gave up before it started (it never runs), and keeps its capacity when a handler
outlives its caller: Python cannot stop a thread, so a sync handler past its timeout runs on,
and a thread is added in its place until it ends (``MAX_EXTRA`` at most), where a fixed pool
lost a thread to each one until every sync route answered 504.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from portable_fn._local.clock import Clock

# Threads added in place of handlers still running for nobody (past their timeout, or their
# request cut off at shutdown), per pool. Each costs a thread's stack; past this many, handlers
# that hang for good shrink the pool, and calls wait for the others (one that finds no thread
# within its timeout does not run).
MAX_EXTRA = 64
# Seconds an idle thread waits for work before it ends (a runtime in a test is never stopped).
IDLE = 60.0

_QUEUED, _RUNNING, _DONE, _DROPPED = range(4)


class _Call:
    __slots__ = ("abandoned", "clock", "future", "loop", "state", "thunk")

    def __init__(
        self,
        thunk: Callable[[], Any],
        future: asyncio.Future[Any],
        loop: asyncio.AbstractEventLoop,
        clock: Clock | None,
    ) -> None:
        self.thunk, self.future, self.loop, self.clock = thunk, future, loop, clock
        self.state = _QUEUED
        self.abandoned = False  # running for nobody: a thread was added in its place


class Pool:
    """``size`` threads for sync handlers, started as calls come, plus one for each call
    running for nobody (at most ``MAX_EXTRA``)."""

    def __init__(self, size: int, name: str) -> None:
        self.size, self.name = size, name
        self.busy = 0  # calls running (read at shutdown, from any thread)
        self._limit = size  # threads allowed now
        self._threads = 0
        self._idle = 0
        self._queue: deque[_Call] = deque()
        self._lock = threading.Condition()
        self._closed = False
        self._ids = itertools.count(1)

    def offload(self, clock: Clock | None) -> Callable[[Callable[[], Any]], Awaitable[Any]]:
        """The dispatcher's ``offload`` for one invocation: its calls start ``clock``."""
        return lambda thunk: self.run(thunk, clock)

    async def run(self, thunk: Callable[[], Any], clock: Clock | None = None) -> Any:
        """``thunk()`` on a pool thread (the dispatcher bound its contextvars already)."""
        loop = asyncio.get_running_loop()
        call = _Call(thunk, loop.create_future(), loop, clock)
        with self._lock:
            self._queue.append(call)
            self._grow()
            self._lock.notify()
        try:
            return await call.future
        except asyncio.CancelledError:
            self._abandon(call)
            raise

    def close(self) -> None:
        """Idle threads end now; calls queued or running still do (a shutdown cancels them)."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()

    def _grow(self) -> None:
        """(Locked) A thread more, if calls wait that the idle ones will not take."""
        if len(self._queue) > self._idle and self._threads < self._limit:
            self._threads += 1
            threading.Thread(
                target=self._work, name=f"{self.name}-{next(self._ids)}", daemon=True
            ).start()

    def _abandon(self, call: _Call) -> None:
        """Its caller gave up (timeout or shutdown): a queued call never runs; for one running
        on, a thread is added until it ends."""
        with self._lock:
            if call.state == _QUEUED:
                call.state = _DROPPED
            elif call.state == _RUNNING and self._limit < self.size + MAX_EXTRA:
                call.abandoned = True
                self._limit += 1
                self._grow()

    def _next(self) -> _Call | None:
        """(Locked) The next call to run, or None when this thread should end."""
        while True:
            if self._threads > self._limit:
                return None  # a handler left running for nobody ended: its stand-in goes
            while self._queue:
                call = self._queue.popleft()
                if call.state != _QUEUED:
                    continue
                if call.clock is not None and _overdue(call.clock):
                    call.state = _DROPPED  # its caller is giving up this very moment
                    continue
                call.state = _RUNNING
                self.busy += 1
                return call
            if self._closed:
                return None
            self._idle += 1
            woken = self._lock.wait(IDLE)
            self._idle -= 1
            if not woken and not self._queue:
                return None

    def _work(self) -> None:
        while True:
            with self._lock:
                call = self._next()
                if call is None:
                    self._threads -= 1
                    return
            if call.clock is not None:
                call.clock.begin()
            try:
                result = call.thunk()
            except BaseException as exc:  # the caller's to handle (SystemExit included)
                _settle(call, None, exc)
            else:
                _settle(call, result, None)
                result = None
            with self._lock:
                call.state = _DONE
                self.busy -= 1
                if call.abandoned:
                    self._limit -= 1
            del call


def _overdue(clock: Clock) -> bool:
    """A call whose time to wait for a thread is up: not started now, its caller gives up."""
    return not clock.started and clock.deadline is not None and time.time() >= clock.deadline


def _settle(call: _Call, result: Any, error: BaseException | None) -> None:
    """Hand the outcome to the caller's loop (from the pool thread)."""
    with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits any more
        call.loop.call_soon_threadsafe(_resolve, call.future, result, error)


def _resolve(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the caller gave up
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
