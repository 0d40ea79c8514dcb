"""Async handlers on the sync adapters (``run_sync``, ``portable_fn._loop``): one event loop
for the process, whatever thread dispatches, and the tasks a handler starts waited for within
its invocation. Every test that could wait runs its dispatches with a limit: none can hang."""

from __future__ import annotations

import asyncio
import contextvars
import json
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import pytest

import portable_fn as pf
from portable_fn.adapter import Outcome, dispatch_batch, dispatch_event, dispatch_http
from portable_fn.errors import HandlerCancelled
from portable_fn.testing import http_request, recording

LIMIT = 10.0  # seconds any dispatch here may take before the test fails instead of hanging


def event(data: Any = None) -> pf.CloudEvent:
    return pf.CloudEvent.create(type="com.example.order", source="/shop/orders", data=data)


def context(name: str, *, invocation: str = "inv-1", within: float | None = None) -> pf.Context:
    return pf.Context(
        provider="test", function_name=name, invocation_id=invocation,
        deadline=None if within is None else time.time() + within,
    )


def in_threads(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run each call in a thread of its own, all at once; their results, in order. Fails
    (never hangs) when one has not finished within ``LIMIT``."""
    results: list[Any] = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def one(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except BaseException as exc:  # reported by the assertion below, not lost in a thread
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(LIMIT)
    assert not any(thread.is_alive() for thread in threads), "a dispatch hung"
    return results


def lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


# -- one loop for the process -----------------------------------------------------------------

_lock = asyncio.Lock()  # module-level, as an app keeps a client pool or a token cache's lock
user: contextvars.ContextVar[str] = contextvars.ContextVar("user", default="nobody")


def test_handlers_in_several_threads_share_a_module_level_lock_each_in_its_own_context(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """functions-framework's gunicorn threads and the Azure worker's pool dispatch from several
    threads at once. With a loop per thread, the second waiter on a shared ``asyncio.Lock``
    was never woken (the first thread's release woke its own loop only) and the third raised
    "bound to a different event loop". Each handler still runs in its caller's context: its
    own invocation (log fields, ``ctx``) and what the caller set in a context variable."""
    app = pf.App("shop")
    seen: dict[str, tuple[str, str | None]] = {}

    @app.queue("orders")
    async def take(event: pf.CloudEvent, ctx: pf.Context) -> None:
        async with _lock:
            await asyncio.sleep(0.05)
        seen[ctx.invocation_id] = (user.get(), ctx.event.id if ctx.event else None)
        pf.logger.info("took the lock")

    events = [event(i) for i in range(4)]

    def caller(i: int) -> Callable[[], Outcome]:
        def call() -> Outcome:
            user.set(f"user-{i}")
            return dispatch_event(app, "take", events[i], context("take", invocation=f"inv-{i}"))

        return call

    outcomes = in_threads([caller(i) for i in range(4)])
    assert [getattr(o, "ok", o) for o in outcomes] == [True] * 4
    assert seen == {f"inv-{i}": (f"user-{i}", events[i].id) for i in range(4)}
    logged = {line["invocation_id"]: line["event_id"] for line in lines(capsys.readouterr().out)}
    assert logged == {f"inv-{i}": events[i].id for i in range(4)}


def test_an_http_handler_and_an_event_handler_share_a_semaphore_across_threads() -> None:
    app = pf.App("shop")
    gate = asyncio.Semaphore(1)

    @app.http("/stock")
    async def stock(req: pf.Request) -> dict[str, int]:
        async with gate:
            await asyncio.sleep(0.05)
        return {"left": 3}

    @app.queue("orders")
    async def take(event: pf.CloudEvent) -> None:
        async with gate:
            await asyncio.sleep(0.05)

    results = in_threads([
        lambda: dispatch_http(app, http_request("GET", "/stock"), context("stock")).status,
        lambda: dispatch_http(app, http_request("GET", "/stock"), context("stock")).status,
        lambda: dispatch_event(app, "take", event(), context("take")).ok,
    ])
    assert results == [200, 200, True]


def test_a_handler_that_dispatches_an_async_handler_synchronously_gets_a_clear_error() -> None:
    """Sync code an async handler calls that runs another async handler through the sync
    dispatch: the loop running the first would wait for itself. It fails with an error that
    says what to do instead, rather than hanging."""
    app = pf.App("shop")

    @app.queue("inner")
    async def inner(event: pf.CloudEvent) -> None:
        await asyncio.sleep(0)

    @app.queue("outer")
    async def outer(event: pf.CloudEvent) -> None:
        outcome = dispatch_event(app, "inner", event, context("inner"))  # sync, inside a loop
        assert outcome.error is not None
        raise outcome.error

    [outcome] = in_threads([lambda: dispatch_event(app, "outer", event(), context("outer"))])
    assert isinstance(outcome.error, RuntimeError)
    assert "dispatch_event_async" in str(outcome.error)


# -- what the handler raises ------------------------------------------------------------------


async def _later(note: str, delay: float = 0.05) -> None:
    await asyncio.sleep(delay)
    pf.send("notes", {"note": note})


def _background_app() -> tuple[pf.App, dict[str, BaseException]]:
    app = pf.App("shop")
    raised: dict[str, BaseException] = {}

    @app.queue("notes")
    def notes(event: pf.CloudEvent) -> None:
        """Declares the queue the tasks send to."""

    @app.queue("orders")
    async def take(event: pf.CloudEvent) -> None:
        asyncio.create_task(_later(f"after {event.data}"))  # noqa: RUF006 (fire and forget)
        pf.send("notes", {"note": f"inline {event.data}"})
        if event.data == "raise":
            error = ValueError("no such order")
            raised["error"] = error
            raise error
        if event.data == "cancel":
            raise asyncio.CancelledError("the lookup it awaited was cancelled")

    @app.http("/orders", methods=["POST"])
    async def create(req: pf.Request) -> dict[str, bool]:
        asyncio.create_task(_later("after http"))  # noqa: RUF006
        return {"accepted": True}

    return app, raised


def test_a_task_the_handler_did_not_await_finishes_within_its_invocation() -> None:
    """``asyncio.create_task`` without awaiting the task: it ran during the NEXT invocation
    (with that one's ids), or never, as Lambda freezes the sandbox once the handler returns.
    Now the invocation waits for it: its send is recorded before the dispatch returns, caused
    by the event that started it."""
    app, _ = _background_app()
    orders = [event(1), event(2)]
    with recording(app) as recorder:
        [first] = in_threads([lambda: dispatch_event(app, "take", orders[0], context("take"))])
        assert first.ok
        sent = recorder.to("notes")
        assert [e.data for e in sent] == [{"note": "inline 1"}, {"note": "after 1"}]
        assert {e.extensions["causationid"] for e in sent} == {orders[0].id}
        [response] = in_threads([
            lambda: dispatch_http(app, http_request("POST", "/orders"), context("create"))
        ])
        assert response.status == 200
        assert recorder.to("notes")[-1].data == {"note": "after http"}
        outcomes = in_threads([lambda: dispatch_batch(
            app, "take", [lambda: orders[1]], lambda i: context("take")
        )])[0]
        assert [o.ok for o in outcomes] == [True]
        assert [e.data for e in recorder.to("notes")[-2:]] == [
            {"note": "inline 2"}, {"note": "after 2"}
        ]


def test_a_failing_handler_fails_with_its_own_exception_after_its_tasks_ran() -> None:
    app, raised = _background_app()
    with recording(app) as recorder:
        [outcome] = in_threads([lambda: dispatch_event(app, "take", event("raise"), context("t"))])
        assert not outcome.ok and outcome.retryable
        assert outcome.error is raised["error"]
        frames = traceback.extract_tb(outcome.error.__traceback__)
        assert any(frame.name == "take" for frame in frames)  # where the handler raised it
        assert recorder.to("notes")[-1].data == {"note": "after raise"}


def test_a_handler_that_cancels_itself_fails_with_handler_cancelled_after_its_tasks_ran() -> None:
    app, _ = _background_app()
    with recording(app) as recorder:
        [outcome] = in_threads([lambda: dispatch_event(app, "take", event("cancel"), context("t"))])
        assert not outcome.ok and outcome.retryable
        assert isinstance(outcome.error, HandlerCancelled)
        assert recorder.to("notes")[-1].data == {"note": "after cancel"}


# -- tasks that do not end --------------------------------------------------------------------


def test_a_task_still_running_at_the_deadline_is_cancelled_with_one_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = pf.App("shop")
    stopped: list[str] = []

    async def forever(name: str) -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            stopped.append(name)
            raise

    @app.queue("orders")
    async def take(event: pf.CloudEvent) -> None:
        asyncio.create_task(forever("a"))  # noqa: RUF006
        asyncio.create_task(forever("b"))  # noqa: RUF006

    order = event(1)
    started = time.monotonic()
    ctx = context("take", within=0.6)
    [outcome] = in_threads([lambda: dispatch_event(app, "take", order, ctx)])
    took = time.monotonic() - started
    assert outcome.ok  # the handler itself did its work
    assert 0.3 < took < 0.6  # waited for the tasks, and stopped before the deadline
    assert sorted(stopped) == ["a", "b"]
    warnings = [line for line in lines(capsys.readouterr().out) if line["level"] == "WARNING"]
    assert len(warnings) == 1
    assert warnings[0]["cancelled_tasks"] == 2
    assert warnings[0]["event_id"] == order.id and warnings[0]["invocation_id"] == "inv-1"


def test_a_task_that_failed_unawaited_is_logged_and_the_message_still_succeeds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = pf.App("shop")

    async def audit() -> None:
        await asyncio.sleep(0.01)
        raise ConnectionError("audit service unreachable")

    async def checked() -> None:
        raise KeyError("handled by the handler")

    @app.queue("orders")
    async def take(event: pf.CloudEvent) -> None:
        asyncio.create_task(audit())  # noqa: RUF006
        awaited = asyncio.create_task(checked())
        with pytest.raises(KeyError):
            await awaited  # seen by the handler: not reported again

    order = event(1)
    [outcome] = in_threads([lambda: dispatch_event(app, "take", order, context("take"))])
    assert outcome.ok
    errors = [line for line in lines(capsys.readouterr().out) if line["level"] == "ERROR"]
    assert len(errors) == 1
    assert "ConnectionError" in json.dumps(errors[0]) and errors[0]["event_id"] == order.id


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs SIGALRM")
def test_an_interrupt_while_waiting_cancels_the_handler() -> None:
    """Ctrl-C (or a signal handler's exception) in the thread waiting for the handler: the
    handler's task is cancelled, not left running with no one waiting for it."""
    assert threading.current_thread() is threading.main_thread()  # where signals arrive
    app = pf.App("shop")
    cancelled = threading.Event()

    class Interrupted(BaseException):
        pass

    @app.queue("orders")
    async def take(event: pf.CloudEvent) -> None:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    def interrupt(signum: int, frame: Any) -> None:
        raise Interrupted

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with pytest.raises(Interrupted):
            dispatch_event(app, "take", event(), context("take"))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert cancelled.wait(LIMIT)


def test_no_loop_or_thread_is_started_before_an_async_handler_runs() -> None:
    """Cold start: a process that only runs sync handlers imports no asyncio and starts no
    thread for it."""
    import subprocess

    probe = (
        "import sys, threading, portable_fn as pf\n"
        "from portable_fn.adapter import dispatch_event\n"
        "app = pf.App('probe')\n"
        "@app.queue('jobs')\n"
        "def job(event): pass\n"
        "e = pf.CloudEvent.create(type='t', source='/s')\n"
        "c = pf.Context(provider='t', function_name='job', invocation_id='1')\n"
        "assert dispatch_event(app, 'job', e, c).ok\n"
        "assert 'asyncio' not in sys.modules, 'asyncio'\n"
        "assert threading.active_count() == 1\n"
        "@app.queue('jobs', name='ajob')\n"
        "async def ajob(event): pass\n"
        "assert dispatch_event(app, 'ajob', e, c).ok\n"
        "print([t.name for t in threading.enumerate()])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    assert "portable-fn-event-loop" in out


def test_a_package_without_the_loop_module_still_runs_a_coroutine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The AWS zip leaves ``_loop`` out of an app with no async handler; a plain def returning
    a coroutine (no ``functools.wraps`` to show it) still reaches ``run_sync`` there: it runs
    on a loop of its own rather than failing with ModuleNotFoundError."""
    from portable_fn._dispatch import run_sync

    monkeypatch.setitem(sys.modules, "portable_fn._loop", None)  # as if not shipped

    async def work() -> int:
        await asyncio.sleep(0)
        return 7

    async def cancelled() -> None:
        raise asyncio.CancelledError()

    assert run_sync(work()) == 7
    with pytest.raises(HandlerCancelled):
        run_sync(cancelled())
