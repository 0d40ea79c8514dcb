"""Wires the local runtime together: store, broker, delivery loop, scheduler, bucket watcher.

``Runtime`` is what the ASGI lifespan starts and stops, so ``portable-fn dev`` and any other
ASGI server (a container platform) run the same thing.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from portable_fn._local.body import MAX_HTTP_BODY_BYTES
from portable_fn._local.broker import LocalPublisher, Routes
from portable_fn._local.buckets import BucketWatcher
from portable_fn._local.delivery import DEFAULT_TIMEOUT, Deliverer
from portable_fn._local.pool import Pool
from portable_fn._local.report import FLUSH_EVERY, Reporter
from portable_fn._local.scheduler import Scheduler
from portable_fn._local.store import Store
from portable_fn.app import App, Function
from portable_fn.errors import ConfigurationError
from portable_fn.events import CloudEvent
from portable_fn.triggers import Http

DELIVERY_DELAY_ENV = "PORTABLE_FN_DELIVERY_DELAY"
"""Test hook: seconds to hold the delivery loop after start (accepting still works), so a
test can SIGKILL the runtime between accepting an event and delivering it."""

TIMEOUT_ENV = "PORTABLE_FN_TIMEOUT"
"""Seconds a handler may run in ``dev`` (``Options.timeout``); 0: no limit."""
MAX_BODY_ENV = "PORTABLE_FN_MAX_BODY"
"""Bytes of request body an app route reads in ``dev`` (``Options.max_body``); 0: no limit."""

# Seconds a stop (Ctrl-C, SIGTERM, a reload) gives what is in flight, HTTP requests and
# deliveries together: the deliveries of handlers still running then go back uncounted.
GRACE = 5.0

# Threads for sync HTTP handlers, besides one per delivery slot (``Options.concurrency``) for
# sync event handlers, so requests and deliveries never wait for each other: what Starlette
# (through anyio) gives sync endpoints under uvicorn, 40 at once.
# https://anyio.readthedocs.io/en/stable/threads.html#adjusting-the-default-maximum-worker-thread-count
HTTP_THREADS = 40


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    state_dir: Path = Path(".portable-fn")
    bucket_dir: Path | None = None  # default <state_dir>/buckets
    time_scale: float = 1.0  # multiplies retry delays: 0.01 makes a demo or test fast
    poll_interval: float = 0.25  # bucket folder scans and cross-process (CLI) redrive pickup
    run_schedules_on_start: bool = False
    delivery_delay: float = 0.0
    concurrency: int = 8
    # Seconds a handler (HTTP or event) may run before its invocation fails, as at a cloud's
    # function timeout; None: no limit (a debugger stopped at a breakpoint, say).
    timeout: float | None = DEFAULT_TIMEOUT
    # No limit at all, a function's own declared timeout (``queue(timeout=)``) included:
    # ``dev --timeout 0``, at a debugger's breakpoint. ``timeout`` alone is the limit of the
    # functions that declare none.
    no_timeouts: bool = False
    # Bytes an app route reads of a request body (a 413 past it); None: no limit.
    max_body: int | None = MAX_HTTP_BODY_BYTES

    def timeout_for(self, fn: Function) -> float | None:
        """Seconds ``fn`` may run: its own declared timeout (or its app's), else ``timeout``;
        None with ``no_timeouts``."""
        declared = fn.limits.timeout
        if self.no_timeouts:
            return None
        return self.timeout if declared is None else float(declared)

    @property
    def buckets(self) -> Path:
        return self.bucket_dir or self.state_dir / "buckets"

    @classmethod
    def delivery_delay_from_env(cls) -> float:
        return float(os.environ.get(DELIVERY_DELAY_ENV, "0") or 0)

    @classmethod
    def limits_from_env(cls, given: Collection[str] = ()) -> dict[str, Any]:
        """``timeout`` (seconds) and ``max_body`` (bytes) from ``PORTABLE_FN_TIMEOUT`` and
        ``PORTABLE_FN_MAX_BODY``: unset keeps the default, 0 lifts the limit (a debugger held
        at a breakpoint, a target with more room). ``ConfigurationError`` for what is no
        number, so ``dev`` exits 2 with one line. The fields in ``given`` (by a flag, which
        wins) are not read at all, so a stale bad value there does not stop ``dev``."""
        limits: dict[str, Any] = {}
        for field, env, kind in (("timeout", TIMEOUT_ENV, float), ("max_body", MAX_BODY_ENV, int)):
            text = os.environ.get(env, "").strip()
            if not text or field in given:
                continue
            try:
                value = kind(text)
            except ValueError:
                value = -1
            if not 0 <= value < float("inf"):  # negative, NaN or infinite: as the flags refuse
                raise ConfigurationError(f"{env}={text!r}: give a number >= 0 (0: no limit)")
            limits[field] = value or None
        return limits


def lock_state_dir(state: Path) -> IO[str]:
    """One runtime per state directory: a second one's start would recover the first's in-flight
    deliveries and run them beside it, and fire every schedule again (``dev`` twice, or
    ``portable_fn.asgi.asgi(app)`` under a server with several workers)."""
    state.mkdir(mode=0o700, parents=True, exist_ok=True)  # owner only: events, responses
    handle = (state / "dev.lock").open("a+")
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; trust the user
        return handle
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ConfigurationError(
            f"another portable-fn dev (or worker of this ASGI app) is running with --state-dir "
            f"{state}; stop it or pick another state directory (one runtime per state "
            "directory: run an ASGI server with one worker)"
        ) from None
    return handle  # kept open (and locked) until the runtime stops


class Runtime:
    def __init__(self, app: App, options: Options, reporter: Reporter) -> None:
        self.app, self.options, self.reporter = app, options, reporter
        self.store = Store(options.state_dir / "broker.sqlite3")
        self.routes = Routes.of(app)
        self._declared = _declared(app, self.routes)
        self.publisher = LocalPublisher(self.store, self.routes, self.notice)
        # Each delivery slot runs one handler at a time: a thread each, so a delivery never
        # waits for one (unless handlers stuck past their timeout outnumber MAX_EXTRA).
        self.delivery_pool = Pool(options.concurrency, "pf-delivery")
        self.http_pool = Pool(HTTP_THREADS, "pf-http")
        self.deliverer = Deliverer(
            app,
            self.store,
            self.routes,
            reporter,
            pool=self.delivery_pool,
            time_scale=options.time_scale,
            concurrency=options.concurrency,
            poll=options.poll_interval,
            start_delay=options.delivery_delay,
            timeout=options.timeout_for,
        )
        self.scheduler = Scheduler(app, run_on_start=options.run_schedules_on_start)
        self.watcher = BucketWatcher(app, self.store, options.buckets, self.notice)
        self._tasks: list[asyncio.Task[None]] = []
        self._delivery: asyncio.Task[None] | None = None
        self._stop_by: float | None = None  # time.monotonic() the grace of a stop ends
        self._lock: IO[str] | None = None
        self.on_started: Callable[[], Awaitable[None]] | None = None
        app.use_publisher(self.publisher)
        self._idempotency()

    def _idempotency(self) -> None:
        """Idempotent functions get a store now, not on their first call: the state dir's
        SQLite store unless the app or PORTABLE_FN_IDEMPOTENCY names one (a bad URL fails at
        start, and a restart keeps what was already done)."""
        if not any(fn.options.get("idempotent") for fn in self.app.functions.values()):
            return
        from portable_fn.idempotency.config import ENV, store_for

        if self.app.idempotency_store is None and not os.environ.get(ENV, "").strip():
            from portable_fn.idempotency.sqlite import SQLiteStore

            self.options.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.app.use_idempotency_store(
                SQLiteStore(self.options.state_dir / "idempotency.sqlite3")
            )
        store_for(self.app)

    def notice(self, kind: str, name: str, event: CloudEvent, functions: tuple[str, ...]) -> None:
        """After a commit (any thread): print it, and wake the delivery loop."""
        self.reporter.record(
            "accepted",
            kind=kind,
            name=name,
            id=event.id,
            type=event.type,
            functions=list(functions),
        )
        if not functions:
            self.reporter.record(
                "warning",
                message=f"{kind} {name!r}: no function subscribes; event {event.id} "
                "is stored but delivered to nobody",
            )
        self.deliverer.wake()

    def accept(self, kind: str, target: str, event: CloudEvent) -> tuple[str, ...]:
        """The ingress: route one event as an event-bus emit, topic, queue or to one function.

        A topic, queue or stream the app does not declare is a ``LookupError`` (a 404 naming
        those it does): a typo would otherwise be stored and delivered to nobody. An event-bus
        emit that no ``@app.event`` matches is accepted, as EventBridge and Event Grid accept
        an event no rule matches. ``pf.publish`` from a handler is not checked here."""
        known = self._declared.get(kind)
        if known is not None and target not in known:
            listed = ", ".join(sorted(known)) or "none"
            raise LookupError(
                f"app {self.app.name!r} has no {kind} {target!r}; its {kind}s: {listed}"
            )
        if kind == "event":
            self.publisher.emit(event)
            return self.routes.for_event(event)
        if kind == "topic":
            self.publisher.publish(target, event)
            return self.routes.for_topic(target)
        if kind == "queue":
            self.publisher.send(target, event)
            return self.routes.for_queue(target)
        if kind == "stream":
            self.publisher.put_record(target, event)
            return self.routes.for_stream(target)
        fn = self.app.functions.get(target)
        if fn is None or isinstance(fn.trigger, Http):
            events = [n for n, f in self.app.functions.items() if not isinstance(f.trigger, Http)]
            raise LookupError(
                f"no event function named {target!r}; event functions: "
                + (", ".join(events) or "none")
            )
        self.publisher.direct(target, event)
        return (target,)

    def health(self) -> dict[str, Any]:
        """``GET /_pf/health``: readiness for scripts and container platforms."""
        return {"status": "ok", "app": self.app.name, "deliveries": self.store.counts()}

    def invocation_id(self) -> str:
        return self.deliverer.invocation_id()

    @property
    def busy(self) -> int:
        """Sync handlers still running in the pools (read at shutdown)."""
        return self.delivery_pool.busy + self.http_pool.busy

    def fire_schedule(self, function: str, event: CloudEvent) -> None:
        self.publisher.direct(function, event, kind="schedule")

    def lock(self) -> None:
        """Take the state directory for this runtime (once; ``start`` does it too)."""
        if self._lock is None:
            self._lock = lock_state_dir(self.options.state_dir)

    def unlock(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    async def start(self) -> None:
        self.lock()  # before recover: it would take another live runtime's deliveries
        await self.deliverer.recover()
        loops: dict[str, Callable[[], Awaitable[None]]] = {
            "delivery": self.deliverer.run,
            "scheduler": lambda: self.scheduler.run(self.fire_schedule),
            "reporter": self._flush_reports,
        }
        if self.watcher.subscribers:
            loops["bucket watcher"] = lambda: self.watcher.run(self.options.poll_interval)
        self._tasks = [
            asyncio.create_task(self._supervised(name, loop), name=f"pf-{name}")
            for name, loop in loops.items()
        ]
        self._delivery = self._tasks[0]
        if self.on_started is not None:
            await self.on_started()

    async def _supervised(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        """Keep a background loop alive: a failure (a full disk, an unreadable file) is
        reported and the loop starts again a second later; the runtime keeps serving."""
        while True:
            try:
                await loop()
                return
            except Exception as exc:
                self.reporter.record("error", message=f"{name} failed: {exc!r}; restarting")
                await asyncio.sleep(1.0)

    async def _flush_reports(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY)
            self.reporter.flush()

    def stop_claiming(self) -> None:
        """The first step of a stop: no delivery is claimed from now on, and the ``GRACE``
        starts, one for the HTTP requests the server drains and the deliveries ``stop``
        drains (``dev`` calls it at the signal; an ASGI server's lifespan shutdown, through
        ``stop``, once it has drained its connections)."""
        if self._stop_by is None:
            self._stop_by = time.monotonic() + GRACE
            self.deliverer.stop_claiming()

    def grace_left(self) -> float:
        return GRACE if self._stop_by is None else max(0.0, self._stop_by - time.monotonic())

    async def stop(self) -> None:
        self.stop_claiming()
        # The delivery loop returns by itself: cancelled during a claim, the deliveries it
        # claimed would stay in flight with no task to drain or release them.
        if self._delivery is not None:
            await asyncio.wait({self._delivery}, timeout=self.grace_left())
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.deliverer.drain(grace=self.grace_left())
        self.delivery_pool.close()
        self.http_pool.close()
        self.store.close()
        self.unlock()
        self.reporter.flush()


def _declared(app: App, routes: Routes) -> dict[str, frozenset[str]]:
    """The topics, queues (consumed, or a function's dead-letter queue) and streams of ``app``."""
    from portable_fn._local.inspect import local_dead_letters

    dead = local_dead_letters(app).values()
    return {
        "topic": frozenset(routes.topics),
        "queue": frozenset(routes.queues) | frozenset(dead),
        "stream": frozenset(routes.streams),
    }
