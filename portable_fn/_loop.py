# SPDX-License-Identifier: Apache-2.0
"""The event loop the sync adapters run ``async def`` handlers on, and the tasks a handler
leaves running when it returns.

One loop for the process, in a daemon thread of its own (``run``): Lambda, functions-framework's
gunicorn threads and the Azure worker's pool call the sync dispatch from several threads, and
an asyncio object a module keeps (an ``asyncio.Lock``, a ``Semaphore``, an async HTTP client's
pool) belongs to the loop that first waits on it: with a loop per calling thread, handlers in
two threads sharing one failed with "is bound to a different event loop", or waited for ever
on a wake-up that came on the other loop.

Tasks a handler starts and does not await (``asyncio.create_task``) are tracked per invocation
by a task factory (``Tracker``): the invocation waits for them before it answers, up to its
deadline, then cancels what is left with a WARNING. Left on the loop they ran during some later
invocation (under its ids), or never: Lambda freezes the sandbox once the handler has returned
(https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html). The local
runtime tracks its async handlers' tasks the same way (``tracking``).

Imported on the first async handler only: asyncio costs a cold start that runs none.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import threading
from collections.abc import Awaitable, Coroutine
from contextvars import ContextVar, Token
from typing import Any, TypeVar

from portable_fn._invocation import Invocation, _current, invocation_logger
from portable_fn.log import Logger

__all__ = ["CancelledError", "Tracker", "run", "tracking"]

_T = TypeVar("_T")
CancelledError = asyncio.CancelledError

# Seconds kept between the end of the wait for a handler's tasks and the invocation's deadline:
# the adapter still has to answer (Lambda counts an invocation that reaches its timeout as
# failed, "Task timed out", and a batch's messages are all delivered again).
_MARGIN = 0.5
# Seconds the tasks may run on when the invocation has no deadline and its function declares
# no timeout: the Lambda Timeout of the SAM template ``package --provider aws`` writes.
_NO_DEADLINE = 30.0
# Seconds given to the tasks cancelled at the deadline to run their ``except``/``finally``.
_GRACE = 0.1
# Seconds between two looks, while waiting for an invocation, at whether the loop still runs.
_POLL = 1.0


# -- tracking the tasks a handler starts ------------------------------------------------------


class Tracker:
    """The tasks started while one invocation runs: by its handler, and by those tasks (each
    task copies the context it is created in, this tracker with it)."""

    __slots__ = ("closed", "invocation", "tasks")

    def __init__(self, invocation: Invocation | None) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()
        # The invocation the tasks belong to: given (``run``), or read from the context of the
        # first task started in one (``tracking``: the dispatch enters it after the tracker).
        self.invocation = invocation
        self.closed = False  # settled: a task that outlived it and starts more is not kept

    def done(self, task: asyncio.Task[Any]) -> None:
        """A task's done callback: one that ended well is forgotten at once (a handler that
        gathers thousands keeps none); one that failed is kept until the invocation ends,
        when it is reported unless someone read its exception by then."""
        if not _unretrieved(task):  # (``exception()`` would count as reading it)
            self.tasks.discard(task)

    def pending(self) -> list[asyncio.Task[Any]]:
        return [task for task in self.tasks if not task.done()]

    def outstanding(self) -> bool:
        """Whether anything is left to wait for or to report."""
        return any(not task.done() or _unretrieved(task) for task in self.tasks)


_tracker: ContextVar[Tracker | None] = ContextVar("portable_fn_tasks", default=None)


def _unretrieved(task: asyncio.Task[Any]) -> bool:
    """Whether ``task`` failed and nobody read its exception: asyncio's own flag, the one its
    "Task exception was never retrieved" message is written on. A task the handler awaited
    (or gathered) handed its exception to the handler, which dealt with it."""
    return task.done() and bool(task._log_traceback)


class _Factory:
    """A loop's task factory (``loop.set_task_factory``) that adds each task started in a
    tracked context to its tracker, over the loop's own factory if it had one.
    https://docs.python.org/3/library/asyncio-eventloop.html#asyncio.loop.set_task_factory"""

    __slots__ = ("previous",)

    def __init__(self, previous: Any = None) -> None:
        self.previous = previous

    def __call__(
        self, loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any
    ) -> asyncio.Task[Any]:
        if self.previous is not None:
            task: asyncio.Task[Any] = self.previous(loop, coro, **kwargs)
        else:
            task = asyncio.Task(coro, loop=loop, **kwargs)
        # The context the task is created in: ``create_task(context=...)``'s (3.11+), else the
        # caller's, which the new task has copied.
        context: contextvars.Context | None = kwargs.get("context")
        tracker = _tracker.get() if context is None else context.get(_tracker)
        if tracker is not None and not tracker.closed:
            tracker.tasks.add(task)  # also the strong reference asyncio's docs ask for
            task.add_done_callback(tracker.done)
            if tracker.invocation is None:
                tracker.invocation = _current.get() if context is None else context.get(_current)
        return task


def install(loop: asyncio.AbstractEventLoop) -> None:
    """Track the tasks started on ``loop`` (once per loop)."""
    factory = loop.get_task_factory()
    if not isinstance(factory, _Factory):
        loop.set_task_factory(_Factory(factory))


def wait_budget(invocation: Invocation | None) -> float:
    """Seconds the invocation's tasks may still run: up to its deadline less ``_MARGIN`` (a
    tenth of what is left, when that is less), else its function's timeout, else 30 s."""
    remaining = None if invocation is None else invocation.ctx.remaining_time
    if remaining is None:
        timeout = None if invocation is None else invocation.function.limits.timeout
        return float(timeout) if timeout is not None else _NO_DEADLINE
    return max(0.0, remaining - min(_MARGIN, remaining / 10))


async def settle(tracker: Tracker) -> None:
    """Wait for the tracker's tasks still running (and those they start meanwhile) for as long
    as the invocation has (``wait_budget``), cancel what is left, and log."""
    loop = asyncio.get_running_loop()
    end = loop.time() + wait_budget(tracker.invocation)
    pending = tracker.pending()
    while pending:
        left = end - loop.time()
        if left <= 0:
            break
        await asyncio.wait(pending, timeout=left)
        pending = tracker.pending()
    tracker.closed = True
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=_GRACE)
    report(tracker, len(pending))


def report(tracker: Tracker, cancelled: int) -> None:
    """Log, under the invocation's fields, each task that failed unseen (ERROR: nothing else
    would say so) and how many were cancelled at the deadline (WARNING). The handler's own
    outcome stands: the message was handled, its answer given."""
    tracker.closed = True
    failed = [task for task in tracker.tasks if _unretrieved(task)]
    if not failed and not cancelled:
        return
    invocation = tracker.invocation
    token = _current.set(invocation) if invocation is not None else None
    try:
        log = invocation_logger(invocation.ctx) if invocation is not None else Logger({})
        for task in failed:
            error = task.exception()  # read: asyncio no longer reports it when it is collected
            log.exception(
                "a task the handler started and did not await failed",
                exc=error,
                task=task.get_name(),
            )
        if cancelled:
            log.warning(
                f"{cancelled} task(s) the handler started and did not await were still running "
                "at the end of the invocation's time and were cancelled",
                cancelled_tasks=cancelled,
            )
    finally:
        if token is not None:
            _current.reset(token)


class tracking:
    """``async with tracking():`` around an async dispatch on a running loop (the local
    runtime's): the tasks its handler starts are waited for when it ends, as ``run`` does."""

    __slots__ = ("token", "tracker")

    def __init__(self) -> None:
        self.tracker = Tracker(None)
        self.token: Token[Tracker | None] | None = None

    async def __aenter__(self) -> Tracker:
        install(asyncio.get_running_loop())
        self.token = _tracker.set(self.tracker)
        return self.tracker

    async def __aexit__(self, kind: object, *_: object) -> None:
        if self.token is not None:
            _tracker.reset(self.token)
        tracker = self.tracker
        if kind is not None:  # the dispatch itself was cancelled (a shutdown): stop them too
            tracker.closed = True
            for task in tracker.pending():
                task.cancel()
        elif tracker.outstanding():
            await settle(tracker)
        else:
            tracker.closed = True


# -- the shared loop --------------------------------------------------------------------------


class _Shared:
    __slots__ = ("loop", "pid", "thread")

    def __init__(self, loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
        self.loop = loop
        self.thread = thread
        self.pid = os.getpid()


_shared: _Shared | None = None
_lock = threading.Lock()
# Loops given up (their thread died, or a fork's child inherited them), kept so they are never
# collected: closing a loop a fork inherited would unregister its parent's descriptors from the
# epoll instance the two share.
_retired: list[_Shared] = []


def _after_fork() -> None:
    """In a fork's child: no loop thread came along, and the lock may have been held."""
    global _shared, _lock
    if _shared is not None:
        _retired.append(_shared)
    _shared = None
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # not on Windows, which does not fork
    os.register_at_fork(after_in_child=_after_fork)


def shared() -> _Shared:
    """The process's loop and its thread, started on first use, again after a fork (in the
    child: ``os.getpid()`` changed) or when its thread has died."""
    global _shared
    current = _shared
    if current is not None and current.pid == os.getpid() and current.thread.is_alive():
        return current
    with _lock:
        current = _shared
        if current is not None and current.pid == os.getpid() and current.thread.is_alive():
            return current
        if current is not None:
            _retired.append(current)
        loop = asyncio.new_event_loop()
        loop.set_task_factory(_Factory())
        thread = threading.Thread(
            target=_serve, args=(loop,), name="portable-fn-event-loop", daemon=True
        )
        current = _Shared(loop, thread)
        thread.start()
        _shared = current
        return current


def _serve(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    while not loop.is_closed():
        try:
            loop.run_forever()
        except BaseException:
            # A handler's SystemExit or KeyboardInterrupt: asyncio sets it on the handler's task
            # (where ``run`` raises it to the adapter, as before) and also raises it out of the
            # loop; the loop goes on for every other invocation.
            continue
        # Returned: a handler called ``loop.stop()``. The loop is the process's: it goes on.


class _Job:
    """One ``run``: the handler's task on the shared loop, and the caller waiting for it."""

    __slots__ = ("aborted", "awaitable", "drain", "error", "finished", "main", "tracker")

    def __init__(self, awaitable: Awaitable[Any], tracker: Tracker) -> None:
        self.awaitable: Awaitable[Any] | None = awaitable
        self.tracker = tracker
        self.main: asyncio.Future[Any] | None = None
        self.drain: asyncio.Task[None] | None = None
        self.error: BaseException | None = None
        self.aborted = False
        self.finished = threading.Lock()  # held until the job ends: the caller waits on it
        self.finished.acquire()

    def start(self) -> None:
        """On the loop, in the caller's context: start the handler's task."""
        awaitable, self.awaitable = self.awaitable, None
        try:
            main = asyncio.ensure_future(awaitable)  # type: ignore[arg-type]
        except BaseException as exc:  # not an awaitable: the caller raises it
            self.error = exc
            self.finished.release()
            return
        self.tracker.tasks.discard(main)  # the handler's own task is not one it started
        self.main = main
        # In a context of its own: a task started there is none of the invocation's.
        main.add_done_callback(self._ended, context=contextvars.Context())

    def _ended(self, _main: asyncio.Future[Any]) -> None:
        if self.aborted:
            return
        tracker = self.tracker
        if tracker.pending():
            self.drain = asyncio.get_running_loop().create_task(self._settle())
            return
        try:
            report(tracker, 0)
        finally:
            self.finished.release()

    async def _settle(self) -> None:
        try:
            await settle(self.tracker)
        finally:
            if not self.aborted:
                self.finished.release()

    def abort(self) -> None:
        """On the loop: the caller stopped waiting (KeyboardInterrupt, SystemExit)."""
        self.aborted = True
        self.tracker.closed = True
        for task in (self.main, self.drain, *self.tracker.tasks):
            if task is not None:
                task.cancel()


def run(awaitable: Awaitable[_T]) -> _T:
    """Run ``awaitable`` on the shared loop from a thread without one, in a copy of the
    caller's context (the invocation, for log fields and ``pf.publish``), wait for the tasks
    it starts (``settle``) and return its result or raise its exception, the same object.
    A ``CancelledError`` is the handler cancelling itself (``run_sync`` names it)."""
    running = asyncio._get_running_loop()
    if running is not None:
        _close(awaitable)
        current = _shared
        here = current is not None and running is current.loop
        raise RuntimeError(
            "an async handler was dispatched synchronously from "
            + (
                "an async handler (the event loop running it would wait for itself)"
                if here
                else "a thread whose event loop is running"
            )
            + ": await dispatch_event_async / dispatch_http_async there instead"
        )
    loop = shared()
    invocation = _current.get()
    job = _Job(awaitable, Tracker(invocation))
    context = contextvars.copy_context()
    context.run(_tracker.set, job.tracker)
    loop.loop.call_soon_threadsafe(job.start, context=context)
    try:
        while not job.finished.acquire(timeout=_POLL):
            if not loop.thread.is_alive():
                raise RuntimeError("the event loop running async handlers stopped")
    except BaseException:
        # KeyboardInterrupt or SystemExit while waiting: the handler's task, and the tasks it
        # started, are cancelled rather than left running with no one waiting.
        with contextlib.suppress(RuntimeError):  # RuntimeError: the loop is closed
            loop.loop.call_soon_threadsafe(job.abort, context=contextvars.Context())
        raise
    main, error = job.main, job.error
    del job  # the exception raised below would hold it (and its task) in a cycle
    if main is None:
        assert error is not None
        try:
            raise error
        finally:
            del error
    try:
        return main.result()  # type: ignore[no-any-return]
    finally:
        del main


def _close(awaitable: Awaitable[Any]) -> None:
    """Close a coroutine that will never run, and the coroutines it was given (the handler's,
    in ``_settled``'s): no "was never awaited" warning on top of the error."""
    if not isinstance(awaitable, Coroutine):
        return
    frame = getattr(awaitable, "cr_frame", None)
    given = [] if frame is None else list(frame.f_locals.values())
    awaitable.close()
    for value in given:
        if isinstance(value, Coroutine):
            value.close()
