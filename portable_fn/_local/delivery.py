"""The broker's delivery loop: due deliveries -> handlers, with retries and dead-lettering.

Semantics follow the clouds (SQS redrive policy, Pub/Sub dead-letter topics): each
subscriber's delivery is retried on its own, ``max_retries`` times after the first attempt,
after the delay the trigger's ``Retry.delay(n)`` gives (exponential, capped, jittered: one
formula for the clouds and here); then it is dead-lettered. ``pf.NonRetryable``
(``Outcome.retryable`` False) dead-letters at once. A delivery that finds its event's
idempotency key held by another attempt (``IdempotencyConflict``) ran no handler: it waits for
the holder without spending an attempt, and is never dead-lettered for it.

A handler that runs past the function timeout fails its attempt (``HandlerTimeout``), as every
cloud stops an invocation at its timeout and redelivers the message. The timeout counts from the
handler's start (``Clock``). An async handler is cancelled; a sync one cannot be: Python has no
way to stop a thread, so it runs on and whatever it returns is ignored (its delivery has moved
on: retried or dead-lettered), and the pool adds a thread in its place. A sync handler that no
pool thread picked up within its timeout did not run (``HandlerNotStarted``): its delivery goes
back uncounted.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import time
from collections.abc import Callable

from portable_fn._local.broker import Routes
from portable_fn._local.clock import Clock, RanOn, timed, within
from portable_fn._local.inspect import dead_letter_name
from portable_fn._local.pool import Pool
from portable_fn._local.report import Reporter
from portable_fn._local.store import Delivery, Message, Store
from portable_fn._loop import tracking
from portable_fn.adapter import Context, Outcome, dispatch_event_async
from portable_fn.app import App, Function
from portable_fn.errors import PortableFnError
from portable_fn.events import CloudEvent, from_json
from portable_fn.idempotency._base import IdempotencyConflict
from portable_fn.triggers import SCHEDULE_RETRY, Queue, Retry, Stream

KEEP_DONE = 24 * 3600.0  # finished deliveries are forgotten after a day (at the next start)
# Seconds an invocation may run: the Lambda ``Timeout`` of the SAM template ``package --provider
# aws`` writes, the shortest of the packaged targets (Azure's host.json says 10 min, Cloud Run
# functions default to 60 s, a Cloudflare queue consumer gets 15 min of wall time), so what
# finishes here finishes on every cloud.
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html
DEFAULT_TIMEOUT = 30.0


class HandlerExited(PortableFnError, RuntimeError):
    """The handler called ``sys.exit()``: a failed attempt, retried, then dead-lettered, as
    Lambda fails an invocation whose runtime process exits (``Runtime.ExitError``,
    https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-invocation.html) and goes on.
    The local runtime is one process for every function, so it does not exit with it."""

    def __init__(self, exit: SystemExit) -> None:
        self.code = exit.code
        super().__init__(
            f"the handler called sys.exit({exit.code!r}); the invocation failed (on AWS Lambda: "
            "Runtime.ExitError), the runtime goes on"
        )


class HandlerTimeout(PortableFnError, TimeoutError):
    """The handler ran past the function timeout: a failed attempt, retried, then dead-lettered,
    as a cloud counts an invocation it stopped at its timeout (Lambda's "Task timed out")."""

    def __init__(self, timeout: float, *, cancelled: bool, ran_on: bool = False) -> None:
        self.timeout = timeout
        if ran_on:
            what = "it was cancelled, caught the cancellation and ran on; its result is ignored"
        elif cancelled:
            what = "it was cancelled"
        else:
            what = "Python cannot stop its thread, so it runs on and its result is ignored"
        super().__init__(f"the handler ran past the {timeout:g} s function timeout; {what}")


class HandlerNotStarted(PortableFnError, TimeoutError):
    """No thread of the runtime's pool was free for the handler within its timeout: it did not
    run, so its attempt is neither a failure nor counted (the delivery goes back, as a message
    waits in its queue while a cloud has no instance for it; an HTTP request is answered 503).
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        super().__init__(
            f"no handler thread was free for the {timeout:g} s function timeout (every one busy, "
            "or stuck in a handler past its own timeout); the handler did not run"
        )


def retry_policy(fn: Function) -> Retry:
    retry = getattr(fn.trigger, "retry", None)
    return retry if isinstance(retry, Retry) else SCHEDULE_RETRY  # a schedule has none


def backoff_cap(policy: Retry, retry: int) -> float:
    """The ceiling of retry ``retry``'s delay (1-based), shown next to the drawn delay."""
    return float(min(policy.max_backoff, policy.initial_backoff * 2 ** max(0, retry - 1)))


def trigger_label(fn: Function) -> str:
    t = fn.trigger
    name = getattr(t, "name", None) or getattr(t, "bucket", None) or getattr(t, "type", None)
    return f"{t.kind}:{name}" if name else t.kind


class Deliverer:
    """Runs pending deliveries on the event loop; sync handlers go to ``pool``."""

    def __init__(
        self,
        app: App,
        store: Store,
        routes: Routes,
        reporter: Reporter,
        *,
        pool: Pool,
        time_scale: float = 1.0,
        concurrency: int = 8,
        poll: float = 0.25,
        start_delay: float = 0.0,
        timeout: float | Callable[[Function], float | None] | None = None,
    ) -> None:
        self.app, self.store, self.routes, self.reporter = app, store, routes, reporter
        self.pool, self.time_scale, self.poll = pool, time_scale, poll
        # Seconds an attempt may run (None: no limit), or per function (``Options.timeout_for``).
        self.timeout_for: Callable[[Function], float | None] = (
            timeout if callable(timeout) else lambda _fn: timeout
        )
        self.start_delay = start_delay
        self._concurrency = concurrency
        self.claiming = True  # False once a stop began: ``run`` claims nothing more and returns
        self._running: dict[asyncio.Task[None], int] = {}  # delivery task -> delivery id
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._id_prefix = os.urandom(6).hex()
        # FIFO queues and streams: one delivery at a time per partition key, in order.
        self.serial = frozenset(
            name
            for name, fn in app.functions.items()
            if (isinstance(fn.trigger, Queue) and fn.trigger.fifo) or isinstance(fn.trigger, Stream)
        )
        self._ids = itertools.count(1)

    def invocation_id(self) -> str:
        """Unique per invocation: a random per-process prefix and a counter (uuid4 per request
        was 3% of a hello-world request)."""
        return f"{self._id_prefix}-{next(self._ids):x}"

    def wake(self) -> None:
        """Thread-safe: something was enqueued, look again now."""
        if self._loop is not None:
            # A handler thread may publish after shutdown closed the loop: the event is
            # committed already and runs at the next start, so there is nothing to wake.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._wake.set)

    async def recover(self) -> None:
        """Once per start, before any claim: in-flight deliveries of a dead process run again."""
        if n := await asyncio.to_thread(self.store.recover):
            self.reporter.record("recovered", deliveries=n)
        await asyncio.to_thread(self.store.purge_done, time.time() - KEEP_DONE)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self.start_delay:
            # Test hook (PORTABLE_FN_DELIVERY_DELAY): hold delivery so a test can SIGKILL the
            # process between accepting an event and delivering it.
            until = time.monotonic() + self.start_delay
            while self.claiming and (left := until - time.monotonic()) > 0:
                self._wake.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=left)
            self.start_delay = 0.0  # once per process, not again if the loop is restarted
        while self.claiming:
            self._wake.clear()
            free = self._concurrency - len(self._running)
            claimed = []
            looked = time.time()
            if free > 0:
                claimed = await asyncio.to_thread(
                    self.store.claim_due, looked, free, self.serial
                )
                for d in claimed:
                    task = asyncio.create_task(self._deliver(d))
                    self._running[task] = d.id
                    task.add_done_callback(self._done)
            if claimed and len(claimed) == free:
                continue  # every slot filled: there may be more due already
            nxt = await asyncio.to_thread(self.store.next_due)
            wait = self.poll if nxt is None else nxt - time.time()
            if wait <= 0:
                if nxt is not None and nxt > looked and free > 0:
                    # It fell due after the claim looked (a retry's backoff ran out during the
                    # query): claim it now, not a whole poll interval late.
                    continue
                # Due but not claimable (no free slot, or a FIFO predecessor still running):
                # a finishing delivery wakes us.
                wait = self.poll
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(min(wait, self.poll), 0.005))

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.pop(task, None)
        self.wake()

    def stop_claiming(self) -> None:
        """A stop began: ``run`` claims no delivery from now on and returns (a claim already
        under way is taken: its deliveries run, and are drained or released like the rest)."""
        self.claiming = False
        self._wake.set()

    async def drain(self, grace: float) -> None:
        """On shutdown, let running handlers finish for up to ``grace`` seconds; the deliveries
        of those still running go back uncounted and run again at the next start (counted,
        one on its last attempt was dead-lettered without running again)."""
        if self._running:
            await asyncio.wait(self._running, timeout=grace)
        if left := sorted(self._running.values()):
            await asyncio.to_thread(
                self.store.release, left, "the runtime stopped before the handler finished"
            )

    async def _deliver(self, d: Delivery) -> None:
        try:
            await self._attempt(d)
        except Exception as exc:  # the runtime's own failure (say SQLite), not the handler's
            self.reporter.record(
                "error",
                message=f"delivery {d.id} to {d.function} broke the runtime: {exc!r}; "
                "it stays in flight and runs again at the next start",
            )

    async def _attempt(self, d: Delivery) -> None:
        fn = self.app.functions.get(d.function)
        if fn is None:
            msg = f"function {d.function!r} is not in the app any more"
            await asyncio.to_thread(self.store.dead_letter, d.id, f"{d.function}-dlq", msg)
            self.reporter.record("warning", message=msg, delivery=d.id)
            return
        policy = retry_policy(fn)
        info: dict[str, object] = {
            "function": fn.name,
            "trigger": trigger_label(fn),
            "delivery": d.id,
            "attempt": d.attempt,
            "max_attempts": policy.max_retries + 1,
        }
        try:
            event = from_json(d.event)
        except PortableFnError as exc:  # a stored event that no longer decodes fails alone
            info.update(duration_ms=0)
            await self._dead_letter(fn, d, f"{type(exc).__name__}: {exc}", info, retryable=False)
            return
        info.update(id=event.id, type=event.type)
        if d.attempt > policy.max_attempts:
            # The process died during the last attempt (recovered in flight, counted): the
            # budget is spent, so the message is dead-lettered without running again, as SQS
            # moves a message once its receive count passes maxReceiveCount.
            info.update(attempt=policy.max_attempts, duration_ms=0)
            error = (
                f"the runtime stopped during attempt {policy.max_attempts} of "
                f"{policy.max_attempts}; last error: {d.error or 'none'}"
            )
            await self._dead_letter(fn, d, error, info, retryable=True)
            return
        self.reporter.record("start", **info)
        clock = Clock(self.timeout_for(fn))
        ctx = timed(
            clock, function_name=fn.name, invocation_id=self.invocation_id(), attempt=d.attempt
        )
        t0 = time.perf_counter()
        outcome = await self._dispatch(fn, event, ctx, clock)
        info["duration_ms"] = round((time.perf_counter() - t0) * 1000, 3)
        if outcome.ok:
            await asyncio.to_thread(self.store.complete, d.id)
            self.reporter.record("invocation", **info, outcome="ok")
            return
        error = outcome.reason or "failed"
        if isinstance(outcome.error, HandlerNotStarted):
            # No attempt was made: back uncounted, looked at again at the next poll (the
            # threads it waited for were busy a whole timeout; any one may be free by then).
            due = time.time() + self.poll
            await asyncio.to_thread(self.store.hold, d.id, due, error)
            self.reporter.record(
                "invocation", **info, outcome="retry", error=error, delay_s=self.poll, due=due,
                counted=False, started=False,
            )
            return
        conflict = outcome.error if isinstance(outcome.error, IdempotencyConflict) else None
        if outcome.retryable and conflict is not None and conflict.retry_after is not None:
            # Another attempt holds this event's idempotency key: a live duplicate, or one that
            # a killed process left in progress until its lease ends. The handler did not run,
            # so this look is neither a failure nor an attempt: the delivery goes back
            # uncounted. (Counted, the looks after a restart used up the retries while the dead
            # attempt's lease ran, and the first real failure then dead-lettered the message.)
            # Look again after the usual backoff, and no later than the holder's lease ends
            # (usually the holder finishes first, and the next look finds the key done).
            # Never sooner than the next poll: scaled down (--time-scale 0.01, or 0) the
            # backoff alone made thousands of looks while a holder ran a few seconds.
            delay = max(
                min(conflict.retry_after, policy.delay(d.attempt) * self.time_scale), self.poll
            )
            due = time.time() + delay
            await asyncio.to_thread(self.store.hold, d.id, due, error)
            self.reporter.record(
                "invocation",
                **info,
                outcome="retry",
                error=error,
                delay_s=round(delay, 4),
                due=due,
                counted=False,
            )
            return
        if outcome.retryable and d.attempt <= policy.max_retries:
            # Attempt n failed, so retry number n comes next.
            cap = backoff_cap(policy, d.attempt) * self.time_scale
            delay = policy.delay(d.attempt) * self.time_scale
            due = time.time() + delay  # what the broker stores: the retry is not claimed before
            await asyncio.to_thread(self.store.retry_later, d.id, due, error)
            self.reporter.record(
                "invocation",
                **info,
                outcome="retry",
                error=error,
                delay_s=round(delay, 4),
                backoff_s=round(cap, 4),
                due=due,
            )
            return
        await self._dead_letter(fn, d, error, info, retryable=outcome.retryable)

    async def _dispatch(
        self, fn: Function, event: CloudEvent, ctx: Context, clock: Clock
    ) -> Outcome:
        """Run the handler, failing the attempt when it outlasts its timeout (from its start:
        ``clock``) or exits; the tasks an async handler starts are waited for, up to its
        deadline (``tracking``), as the sync adapters wait for them on every cloud."""
        if fn.is_async:
            clock.begin()  # on the loop, now; a sync handler's when a pool thread takes it
        async with tracking():
            offload = self.pool.offload(clock)
            call = dispatch_event_async(self.app, fn.name, event, ctx, offload=offload)
            try:
                if clock.timeout is None:
                    return await call
                try:
                    return await within(call, clock)
                except asyncio.TimeoutError as exc:
                    if not clock.started:
                        return Outcome(False, HandlerNotStarted(clock.timeout), True)
                    # The dispatch was cancelled: an async handler with it; a sync handler's
                    # pool thread cannot be stopped and finishes (or hangs) on its own.
                    late = HandlerTimeout(
                        clock.timeout, cancelled=fn.is_async, ran_on=isinstance(exc, RanOn)
                    )
                    return Outcome(False, late, True)
            except SystemExit as exc:  # the dispatcher lets it through; the runtime must not stop
                return Outcome(False, HandlerExited(exc), True)

    async def _dead_letter(
        self, fn: Function, d: Delivery, error: str, info: dict[str, object], *, retryable: bool
    ) -> None:
        dlq = dead_letter_name(self.app, fn.name)
        consumers = self.routes.for_queue(dlq)
        # The DLQ is a real queue: a function that consumes it gets the message too, in the
        # same transaction that marks the delivery dead.
        forward = Message(kind="queue", name=dlq, event=d.event, functions=consumers)
        await asyncio.to_thread(
            self.store.dead_letter,
            d.id,
            dlq,
            error,
            forward if consumers else None,
            attempt=min(d.attempt, retry_policy(fn).max_attempts),
        )
        self.reporter.record(
            "invocation", **info, outcome="dead", error=error, dlq=dlq, non_retryable=not retryable
        )
