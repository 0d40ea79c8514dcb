"""The delivery loop's decisions, one claimed delivery at a time, on a real SQLite store: what
is retried, held, dead-lettered, and how often the handler runs."""

from __future__ import annotations

import asyncio
import io
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import portable_fn as pf
from portable_fn._local.broker import Routes
from portable_fn._local.delivery import Deliverer
from portable_fn._local.pool import Pool
from portable_fn._local.report import Reporter
from portable_fn._local.store import Store
from portable_fn.errors import HTTPError
from portable_fn.events import CloudEvent, to_json


@pytest.fixture
def pool() -> Iterator[Pool]:
    threads = Pool(2, "test-handler")
    yield threads
    threads.close()


def deliverer(
    app: pf.App, store: Store, pool: Pool, **options: Any
) -> tuple[Deliverer, io.StringIO]:
    """A deliverer whose records go to the string it returns; ``options`` as ``Deliverer``'s
    (``timeout``, ``poll``)."""
    out = io.StringIO()
    reporter = Reporter(json_lines=True, stream=out)
    return Deliverer(
        app, store, Routes.of(app), reporter, pool=pool, time_scale=0.0, **options
    ), out


def run_due(d: Deliverer, store: Store) -> int:
    """Claim what is due now and deliver it; how many deliveries were claimed."""
    claimed = store.claim_due(time.time(), 10)

    async def go() -> None:
        for delivery in claimed:
            await d._attempt(delivery)

    asyncio.run(go())
    return len(claimed)


def records(out: io.StringIO, event: str = "invocation") -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    return [r for r in lines if r.get("event") == event]


def enqueue(store: Store, function: str) -> CloudEvent:
    event = CloudEvent.create(type="t", source="/tests/delivery", data={})
    store.enqueue(kind="queue", name="jobs", event=to_json(event), functions=[function], due=0)
    return event


def test_a_delivery_that_falls_due_while_the_loop_looks_runs_without_a_poll_wait(
    tmp_path: Path, pool: Pool
) -> None:
    """A retry whose backoff ends between the loop's claim and its next-due query was left
    for a whole poll interval (a 0.04 s backoff ran 0.29 s late under `dev --time-scale`)."""
    import threading

    class SlowLook(Store):
        """The next-due query outlasts the gap to the next due time (a busy machine)."""

        slow = True

        def next_due(self) -> float | None:
            due = super().next_due()
            if self.slow:
                SlowLook.slow = False
                time.sleep(0.3)
            return due

    app = pf.App("timely")
    ran = threading.Event()

    @app.queue("jobs")
    def job(event: pf.CloudEvent) -> None:
        ran.set()

    store = SlowLook(tmp_path / "broker.sqlite3")
    event = CloudEvent.create(type="t", source="/tests/delivery", data={})
    due = time.time() + 0.2  # after the first claim looks, before its next-due answer returns
    store.enqueue(kind="queue", name="jobs", event=to_json(event), functions=["job"], due=due)
    reporter = Reporter(json_lines=True, stream=io.StringIO())
    loop = Deliverer(app, store, Routes.of(app), reporter, pool=pool, poll=30.0)

    async def go() -> bool:
        task = asyncio.create_task(loop.run())
        try:
            return await asyncio.to_thread(ran.wait, 3.0)
        finally:
            task.cancel()

    assert asyncio.run(go()), "the due delivery waited for the poll interval"


def test_an_attempt_killed_on_its_last_try_is_dead_lettered_not_run_again(
    tmp_path: Path, pool: Pool
) -> None:
    app = pf.App("crash")
    runs: list[int] = []

    @app.queue("jobs", retry=pf.Retry(max_retries=1, initial_backoff=0.01))
    def job(event: pf.CloudEvent, ctx: pf.Context) -> None:
        runs.append(ctx.attempt)
        raise RuntimeError("down")

    path = tmp_path / "broker.sqlite3"
    store = Store(path)
    enqueue(store, "job")
    first, _ = deliverer(app, store, pool)
    assert run_due(first, store) == 1  # attempt 1 fails: retry
    [last] = store.claim_due(time.time(), 10)  # attempt 2 of 2 starts...
    assert last.attempt == 2
    # ... and the process dies with it in flight (no close: a SIGKILL).
    reopened = Store(path)
    assert reopened.recover() == 1
    second, out = deliverer(app, reopened, pool)
    assert run_due(second, reopened) == 1
    # The killed attempt counted (as an SQS receive does): the budget is spent, so the message
    # goes to the dead-letter queue without a third run, as SQS moves it once the receive
    # count passes maxReceiveCount.
    assert runs == [1]
    [dead] = reopened.dead()
    assert (dead.dlq, dead.attempt) == ("jobs-dlq", 2)
    [record] = records(out)
    assert (record["outcome"], record["attempt"]) == ("dead", 2)
    assert records(out, "start") == []  # no handler started


class Throttled(HTTPError):
    """A user's own error that says when to come back (a downstream API's 429)."""

    status = 429
    retry_after = 0.0


def test_a_handlers_own_retry_after_error_spends_attempts(
    tmp_path: Path, pool: Pool
) -> None:
    app = pf.App("throttled")
    runs: list[int] = []

    @app.queue("jobs", retry=pf.Retry(max_retries=2, initial_backoff=0.01))
    def job(event: pf.CloudEvent, ctx: pf.Context) -> None:
        runs.append(ctx.attempt)
        raise Throttled("slow down")

    store = Store(tmp_path / "broker.sqlite3")
    enqueue(store, "job")
    d, out = deliverer(app, store, pool)
    for _ in range(5):
        if not run_due(d, store):
            break
    # Only a held idempotency key is a look that spends nothing: a handler that ran and failed
    # spent an attempt, whatever its error carries, and the message is dead-lettered in time.
    assert runs == [1, 2, 3]
    assert [r["outcome"] for r in records(out)] == ["retry", "retry", "dead"]
    assert [d.attempt for d in store.dead()] == [3]


def test_a_cancelled_async_handler_is_retried_then_dead_lettered(
    tmp_path: Path, pool: Pool
) -> None:
    """``asyncio.CancelledError`` out of the handler (it awaited a task something else
    cancelled) is a failed attempt like any exception: before, it escaped the delivery task,
    which left the delivery in flight until the next restart."""
    app = pf.App("cancels")
    runs: list[int] = []

    @app.queue("jobs", retry=pf.Retry(max_retries=1, initial_backoff=0.01))
    async def job(event: pf.CloudEvent, ctx: pf.Context) -> None:
        runs.append(ctx.attempt)
        task = asyncio.ensure_future(asyncio.sleep(10))
        await asyncio.sleep(0)
        task.cancel()
        await task

    store = Store(tmp_path / "broker.sqlite3")
    enqueue(store, "job")
    d, out = deliverer(app, store, pool)
    for _ in range(4):
        if not run_due(d, store):
            break
    assert runs == [1, 2]
    assert [r["outcome"] for r in records(out)] == ["retry", "dead"]
    assert "HandlerCancelled" in records(out)[-1]["error"]


def test_a_handler_still_running_after_the_shutdown_grace_goes_back_uncounted(
    tmp_path: Path, pool: Pool
) -> None:
    """Ctrl-C while a handler outlasts the shutdown grace: the runtime, not the handler, cut
    the attempt short. Before, the delivery stayed in flight, the next start counted it as a
    dead attempt, and a message on its last attempt (here ``max_retries=0``) was dead-lettered
    without running again, although ``dev`` printed "their deliveries will be retried at the
    next start"."""
    import threading

    app = pf.App("interrupted")
    runs: list[int] = []
    release = threading.Event()

    @app.queue("jobs", max_retries=0)
    def job(event: pf.CloudEvent, ctx: pf.Context) -> None:
        runs.append(ctx.attempt)
        release.wait(10)  # outlasts the grace of the first run

    path = tmp_path / "broker.sqlite3"
    store = Store(path)
    enqueue(store, "job")
    first, _ = deliverer(app, store, pool)

    async def shutdown_mid_handler() -> None:
        loop = asyncio.create_task(first.run())
        deadline = time.monotonic() + 10
        while not runs and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        loop.cancel()
        await first.drain(grace=0.05)

    asyncio.run(shutdown_mid_handler())
    release.set()
    assert store.counts()["inflight"] == 0
    reopened = Store(path)  # the next start
    reopened.recover()
    second, out = deliverer(app, reopened, pool)
    assert run_due(second, reopened) == 1
    assert runs == [1, 1]  # ran again, as attempt 1 of 1
    assert reopened.dead() == []
    assert [r["outcome"] for r in records(out)] == ["ok"]


def test_a_hung_handler_ends_at_the_function_timeout_retried_then_dead_lettered(
    tmp_path: Path, pool: Pool
) -> None:
    """Every cloud stops an invocation at its function timeout (AWS Lambda's ``Timeout``, 30 s
    in the SAM template ``package`` writes; Azure ``functionTimeout``; Cloud Run functions'
    ``--timeout``; a Cloudflare queue consumer's wall time) and counts it as a failed attempt:
    https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html. Before, a handler
    that never returned held its delivery in flight for ever (and, eight of them, every
    delivery slot), with ``ctx.deadline`` None."""
    import threading

    app = pf.App("hangs")
    release = threading.Event()
    deadlines: list[float | None] = []

    @app.queue("jobs", retry=pf.Retry(max_retries=1, initial_backoff=0.01))
    def stuck(event: pf.CloudEvent, ctx: pf.Context) -> None:
        deadlines.append(ctx.deadline)
        release.wait(10)  # a call that never answers

    @app.queue("later", retry=pf.Retry(max_retries=0))
    async def astuck(event: pf.CloudEvent) -> None:
        await asyncio.sleep(10)

    store = Store(tmp_path / "broker.sqlite3")
    enqueue(store, "stuck")
    enqueue(store, "astuck")
    d, out = deliverer(app, store, pool, timeout=0.2)
    started = time.time()
    try:
        for _ in range(4):
            if not run_due(d, store):
                break
    finally:
        release.set()
    assert time.time() - started < 5  # ended by the timeout, not by the handler
    outcomes = {(r["function"], r["attempt"]): r for r in records(out)}
    assert outcomes[("stuck", 1)]["outcome"] == "retry"
    assert outcomes[("stuck", 2)]["outcome"] == "dead"
    assert outcomes[("astuck", 1)]["outcome"] == "dead"
    assert all("HandlerTimeout" in r["error"] and "0.2 s" in r["error"] for r in outcomes.values())
    assert sorted(x.function for x in store.dead()) == ["astuck", "stuck"]
    # The handler can see its deadline (ctx.remaining_time), as on every cloud.
    assert deadlines and all(t is not None and started < t < started + 5 for t in deadlines)


def test_the_timeout_counts_from_the_handlers_start_not_its_wait_for_a_thread(
    tmp_path: Path,
) -> None:
    """As Lambda counts only an invocation's run time: a sync handler that waited 1.5 s for the
    pool's one thread, then ran 1.5 s, is within its 2.5 s timeout, and ``ctx.remaining_time``
    at its start is the whole timeout. Before, the wait counted: the attempt failed with
    HandlerTimeout and ran again."""
    import threading

    app = pf.App("waits")
    left: list[float | None] = []

    @app.queue("jobs", retry=pf.Retry(max_retries=1, initial_backoff=0.01))
    def job(event: pf.CloudEvent, ctx: pf.Context) -> None:
        left.append(ctx.remaining_time)
        time.sleep(1.5)

    pool = Pool(1, "test-one")
    store = Store(tmp_path / "broker.sqlite3")
    enqueue(store, "job")
    d, out = deliverer(app, store, pool, timeout=2.5)
    freed = threading.Event()

    async def behind_another_call() -> None:
        other = asyncio.ensure_future(pool.run(lambda: freed.wait(1.5)))  # takes the thread
        await asyncio.sleep(0.05)
        [delivery] = store.claim_due(time.time(), 10)
        await d._attempt(delivery)
        await other

    try:
        asyncio.run(behind_another_call())
    finally:
        freed.set()
        pool.close()
    assert [(r["outcome"], r["attempt"]) for r in records(out)] == [("ok", 1)]
    assert len(left) == 1 and left[0] is not None and left[0] > 2.0


def test_a_delivery_no_thread_takes_within_its_timeout_goes_back_uncounted(
    tmp_path: Path,
) -> None:
    """Its handler never started (every thread busy for the whole timeout): no attempt was
    made, so none is spent, and it is not a failure. Before, the wait counted as the handler's
    run time: HandlerTimeout, retried, and dead-lettered after its attempts without ever
    having run."""
    import threading

    app = pf.App("crowded")
    runs: list[int] = []

    @app.queue("jobs", retry=pf.Retry(max_retries=0))
    def job(event: pf.CloudEvent, ctx: pf.Context) -> None:
        runs.append(ctx.attempt)

    pool = Pool(1, "test-one")
    store = Store(tmp_path / "broker.sqlite3")
    enqueue(store, "job")
    d, out = deliverer(app, store, pool, timeout=0.3, poll=0.01)
    freed = threading.Event()

    async def crowded_then_free() -> None:
        other = asyncio.ensure_future(pool.run(lambda: freed.wait(30)))  # takes the thread
        await asyncio.sleep(0.05)
        [delivery] = store.claim_due(time.time(), 10)
        await d._attempt(delivery)  # no thread within 0.3 s: handed back
        assert runs == []
        freed.set()
        await other
        await asyncio.sleep(0.05)  # due again after a poll
        [again] = store.claim_due(time.time(), 10)
        await d._attempt(again)

    try:
        asyncio.run(crowded_then_free())
    finally:
        freed.set()
        pool.close()
    first, second = records(out)
    assert (first["outcome"], first["counted"], first["started"]) == ("retry", False, False)
    assert "HandlerNotStarted" in first["error"] and "did not run" in first["error"]
    assert (second["outcome"], second["attempt"]) == ("ok", 1)
    assert runs == [1] and store.dead() == []


def test_a_message_runs_under_its_functions_declared_timeout(
    tmp_path: Path, pool: Pool
) -> None:
    """A queue function's own ``timeout=`` (its Lambda ``Timeout``) is the limit its attempts
    run under here too, over dev's default (``Options.timeout_for``): the 0.4 s handler that
    declares 1 s succeeds where the one on the 0.2 s default is stopped and dead-lettered."""
    from portable_fn._local.runtime import Options

    app = pf.App("limits")

    @app.queue("slow", timeout=1, retry=pf.Retry(max_retries=0))
    async def declared(event: pf.CloudEvent) -> None:
        await asyncio.sleep(0.4)

    @app.queue("other", retry=pf.Retry(max_retries=0))
    async def undeclared(event: pf.CloudEvent) -> None:
        await asyncio.sleep(0.4)

    store = Store(tmp_path / "broker.sqlite3")
    enqueue(store, "declared")
    enqueue(store, "undeclared")
    options = Options(state_dir=tmp_path, timeout=0.2)
    d, out = deliverer(app, store, pool, timeout=options.timeout_for)
    run_due(d, store)
    outcomes = {r["function"]: r["outcome"] for r in records(out)}
    assert outcomes == {"declared": "ok", "undeclared": "dead"}


def test_an_async_handler_that_swallows_its_cancellation_still_fails_at_the_timeout(
    tmp_path: Path, pool: Pool
) -> None:
    """A broad ``except`` around a call catches the cancellation the timeout sends, and the
    handler carries on: ``asyncio.timeout`` then raises nothing (Python 3.10's ``wait_for``
    returns its result), and the attempt counted as a success a cloud would have stopped."""
    app = pf.App("swallows")
    finished: list[float] = []

    @app.queue("jobs", retry=pf.Retry(max_retries=0))
    async def slow(event: pf.CloudEvent) -> None:
        started = time.monotonic()
        try:
            await asyncio.sleep(3)
        except BaseException:  # a lookup's "log and carry on"
            pf.logger.warning("lookup interrupted, carrying on")
        await asyncio.sleep(0.05)
        finished.append(time.monotonic() - started)

    store = Store(tmp_path / "broker.sqlite3")
    enqueue(store, "slow")
    d, out = deliverer(app, store, pool, timeout=0.2)
    run_due(d, store)
    [record] = records(out)
    assert record["outcome"] == "dead" and "HandlerTimeout" in record["error"]
    if sys.version_info >= (3, 11):
        # Python 3.10 runs the handler in a task of its own (``_dispatch._awaited``), which
        # the timeout leaves behind: there the dispatch ends at once, and the handler's task,
        # still running at its deadline, is cancelled again (``_loop.tracking``).
        assert finished and finished[0] < 1  # cancelled at the timeout, then ran on
        assert "caught the cancellation" in record["error"]


def test_tasks_an_async_handler_did_not_await_are_waited_for_then_cancelled_at_its_deadline(
    tmp_path: Path, pool: Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    """As the sync adapters do on every cloud (``portable_fn._loop``): the attempt ends once
    the tasks its handler started have, up to its deadline. Before, the attempt ended with the
    handler and the tasks ran on unaccounted for (or were dropped at shutdown)."""
    from portable_fn.testing import recording

    app = pf.App("tasks")
    stopped: list[bool] = []

    async def later() -> None:
        await asyncio.sleep(0.05)
        pf.send("notes", {"from": "task"})

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            stopped.append(True)
            raise

    @app.queue("notes")
    def notes(event: pf.CloudEvent) -> None:
        """Declares the queue."""

    @app.queue("jobs", retry=pf.Retry(max_retries=0))
    async def job(event: pf.CloudEvent) -> None:
        asyncio.create_task(later())  # noqa: RUF006 (fire and forget)
        asyncio.create_task(forever())  # noqa: RUF006

    store = Store(tmp_path / "broker.sqlite3")
    sent = enqueue(store, "job")
    d, out = deliverer(app, store, pool, timeout=0.6)
    with recording(app) as recorder:
        started = time.monotonic()
        run_due(d, store)
        took = time.monotonic() - started
    assert [e.data for e in recorder.to("notes")] == [{"from": "task"}]
    assert recorder.to("notes")[0].extensions["causationid"] == sent.id
    assert stopped == [True] and 0.3 < took < 3
    assert [r["outcome"] for r in records(out)] == ["ok"]  # the handler's own outcome
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    [warning] = [line for line in logged if line.get("level") == "WARNING"]
    assert warning["cancelled_tasks"] == 1 and warning["event_id"] == sent.id


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_handler_that_calls_sys_exit_fails_its_attempt_not_the_runtime(
    tmp_path: Path, pool: Pool, kind: str
) -> None:
    """``sys.exit()`` in a handler (a script's habit, or a library's): on Lambda the runtime
    process exits and the invocation fails with ``Runtime.ExitError``
    (https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-invocation.html), retried as
    any failure, while the platform goes on. Here ``SystemExit`` escaped the delivery task and
    stopped ``portable-fn dev`` itself: every other delivery and HTTP client cut off, and the
    message, left in flight, ran (and stopped it) again at each start."""
    app = pf.App("exits")
    runs: list[int] = []

    if kind == "sync":
        @app.queue("jobs", retry=pf.Retry(max_retries=1, initial_backoff=0.01))
        def job(event: pf.CloudEvent, ctx: pf.Context) -> None:
            runs.append(ctx.attempt)
            sys.exit(3)
    else:
        @app.queue("jobs", retry=pf.Retry(max_retries=1, initial_backoff=0.01))
        async def job(event: pf.CloudEvent, ctx: pf.Context) -> None:
            runs.append(ctx.attempt)
            sys.exit(3)

    store = Store(tmp_path / "broker.sqlite3")
    enqueue(store, "job")
    d, out = deliverer(app, store, pool)
    for _ in range(4):
        if not run_due(d, store):
            break
    assert runs == [1, 2]
    assert [r["outcome"] for r in records(out)] == ["retry", "dead"]
    assert "sys.exit(3)" in records(out)[-1]["error"]


def test_a_duplicate_waiting_on_a_held_key_looks_again_no_sooner_than_the_next_poll(
    tmp_path: Path, pool: Pool
) -> None:
    """While another attempt holds the event's idempotency key, the duplicate goes back
    uncounted to look again after the backoff. Scaled to nothing (``--time-scale 0``, as here)
    that was at once: thousands of looks, each a store write, while the holder ran a few
    seconds. It waits at least the loop's poll interval now."""
    import threading

    from portable_fn.adapter import dispatch_event
    from portable_fn.idempotency import store_from_url

    app = pf.App("held")
    app.use_idempotency_store(store_from_url(f"sqlite://{tmp_path}/keys.sqlite3?lease=30"))
    entered, release = threading.Event(), threading.Event()

    @app.queue("jobs", idempotent=True)
    def job(event: pf.CloudEvent) -> None:
        entered.set()
        release.wait(10)

    store = Store(tmp_path / "broker.sqlite3")
    d, out = deliverer(app, store, pool)
    event = enqueue(store, "job")
    ctx = pf.Context(provider="local", function_name="job", invocation_id="holder")
    holder = threading.Thread(target=dispatch_event, args=(app, "job", event, ctx))
    holder.start()
    try:
        assert entered.wait(10)
        assert run_due(d, store) == 1
    finally:
        release.set()
        holder.join(10)
    [look] = records(out)
    assert look["outcome"] == "retry" and look["counted"] is False
    assert look["delay_s"] >= d.poll
