"""Done-means 1: the same event fired at one idempotent function from many threads and many
processes runs the handler body exactly once, with each shared store (SQLite, DynamoDB on
moto's server, Redis from Debian), in-process through ``dispatch_event`` and through the real
local runtime (two ``portable-fn dev`` processes sharing one store). Nothing is mocked.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import portable_fn as pf
from portable_fn.adapter import Context, dispatch_event
from portable_fn.events import CloudEvent, to_structured
from portable_fn.idempotency import store_from_url

from ..local.devserver import DevServer
from .conftest import effect_lines

THREADS = 8
PROCESSES = 2


def race_app(url: str, effects: Path) -> pf.App:
    app = pf.App("race")
    app.use_idempotency_store(store_from_url(url))

    @app.queue("jobs", idempotent=True)
    def job(event: pf.CloudEvent) -> None:
        time.sleep(0.3)  # every racer reaches the store before the winner completes
        with effects.open("a") as out:
            out.write(f"{event.id} {os.getpid()} {threading.get_ident()}\n")

    return app


def fire(url: str, effects: str, event_json: str, threads: int) -> list[str]:
    """Fire one event from ``threads`` threads at once; the outcomes (runs in a child process
    too, so it takes only picklable arguments)."""
    from portable_fn.events import from_dict

    app = race_app(url, Path(effects))
    event = from_dict(json.loads(event_json))
    start = threading.Barrier(threads)

    def one(i: int) -> str:
        ctx = Context(provider="test", function_name="job", invocation_id=f"{os.getpid()}-{i}")
        start.wait()
        outcome = dispatch_event(app, "job", event, ctx)
        return "ok" if outcome.ok else type(outcome.error).__name__

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, range(threads)))


def test_threads_and_processes_run_the_body_once(store_url: str, tmp_path: Path) -> None:
    effects = tmp_path / "effects.log"
    event = CloudEvent.create(type="race.job", source="/tests/race", data={"n": 1})
    event_json = json.dumps({"id": event.id, "source": event.source, "type": event.type,
                             "specversion": "1.0", "data": event.data})
    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(PROCESSES) as pool:
        children = pool.starmap_async(
            fire, [(store_url, str(effects), event_json, THREADS)] * PROCESSES
        )
        here = fire(store_url, str(effects), event_json, THREADS)
        outcomes = here + [o for batch in children.get(timeout=60) for o in batch]
    runs = effects.read_text().splitlines()
    assert len(runs) == 1, runs
    # The others either saw the completed record (acknowledged) or raced the winner while it
    # ran (a retryable 409: their redelivery is acknowledged, below).
    assert set(outcomes) <= {"ok", "IdempotencyConflict"}
    assert "IdempotencyConflict" in outcomes  # they did race (a barrier starts each process's)
    assert len(outcomes) == THREADS * (PROCESSES + 1)
    assert fire(store_url, str(effects), event_json, 4) == ["ok"] * 4
    assert len(effects.read_text().splitlines()) == 1


def test_a_key_function_decides_what_a_duplicate_is(tmp_path: Path) -> None:
    app = pf.App("keys")
    app.use_idempotency_store(store_from_url(f"sqlite://{tmp_path}/k.sqlite3"))
    runs: list[str] = []

    @app.queue("orders", idempotent=lambda event: str(event.data["order"]))
    def order(event: pf.CloudEvent) -> None:
        runs.append(event.id)

    ctx = Context(provider="test", function_name="order", invocation_id="1")
    for order_id in (7, 7, 8):  # three distinct events, two of them for order 7
        event = CloudEvent.create(type="t", source="/s", data={"order": order_id})
        assert dispatch_event(app, "order", event, ctx).ok
    assert len(runs) == 2


def test_each_subscriber_of_a_topic_runs_once(tmp_path: Path) -> None:
    app = pf.App("fanout")
    app.use_idempotency_store(store_from_url(f"sqlite://{tmp_path}/f.sqlite3"))
    runs: list[str] = []

    @app.topic("news", idempotent=True)
    def first(event: pf.CloudEvent) -> None:
        runs.append("first")

    @app.topic("news", idempotent=True)
    def second(event: pf.CloudEvent) -> None:
        runs.append("second")

    event = CloudEvent.create(type="t", source="/s", data={})
    for _ in range(2):
        for name in ("first", "second"):
            ctx = Context(provider="test", function_name=name, invocation_id="1")
            assert dispatch_event(app, name, event, ctx).ok
    assert sorted(runs) == ["first", "second"]


def test_async_handlers_are_guarded_too(tmp_path: Path) -> None:
    app = pf.App("asyncs")
    app.use_idempotency_store(store_from_url(f"sqlite://{tmp_path}/a.sqlite3"))
    runs: list[str] = []

    @app.queue("jobs", idempotent=True)
    async def job(event: pf.CloudEvent) -> None:
        runs.append(event.id)

    event = CloudEvent.create(type="t", source="/s", data={})
    ctx = Context(provider="test", function_name="job", invocation_id="1")
    assert dispatch_event(app, "job", event, ctx).ok
    assert dispatch_event(app, "job", event, ctx).ok
    assert runs == [event.id]


def test_a_failed_attempt_releases_the_key_for_its_retry(tmp_path: Path) -> None:
    app = pf.App("retry")
    app.use_idempotency_store(store_from_url(f"sqlite://{tmp_path}/r.sqlite3"))
    attempts: list[int] = []

    @app.queue("jobs", idempotent=True)
    def job(event: pf.CloudEvent, ctx: pf.Context) -> None:
        attempts.append(ctx.attempt)
        if ctx.attempt == 1:
            raise RuntimeError("transient")

    event = CloudEvent.create(type="t", source="/s", data={})
    first = dispatch_event(app, "job", event, Context(
        provider="test", function_name="job", invocation_id="1", attempt=1))
    assert not first.ok and first.retryable
    for attempt in (2, 3):
        ctx = Context(provider="test", function_name="job", invocation_id="2", attempt=attempt)
        assert dispatch_event(app, "job", event, ctx).ok
    assert attempts == [1, 2]


# -- through the real local runtime -------------------------------------------------------------


def post_event(server: DevServer, event: CloudEvent) -> int:
    headers, body = to_structured(event)
    status, _, _ = server.request("POST", "/_pf/events", body, headers)
    return status


def test_two_runtimes_sharing_a_store_run_the_event_once(
    store_url: str, dev: Callable[..., DevServer], effects: dict[str, str]
) -> None:
    env = {**effects, "PORTABLE_FN_IDEMPOTENCY": store_url}
    servers = [dev(env=env), dev(env=env)]
    event = CloudEvent.create(
        type="test.once", source=f"/tests/{uuid.uuid4().hex}", data={"sleep": 0.1}
    )
    per_server = 6
    with ThreadPoolExecutor(per_server * len(servers)) as pool:
        statuses = list(pool.map(lambda s: post_event(s, event), servers * per_server))
    assert statuses == [202] * len(statuses)
    for server in servers:
        # Every delivery settles as ok: the winner ran; the others were acknowledged as
        # duplicates, some only after a 409 retry while the winner was still running.
        server.wait_all(
            lambda r: r.get("event") == "invocation" and r.get("outcome") == "ok",
            per_server,
            timeout=60,
        )
        assert server.invocations("once", "dead") == []
    runs = [row for row in effect_lines(effects, "once") if row[2] == event.id]
    assert len(runs) == 1, runs


def test_a_conflict_says_when_the_holders_lease_ends(tmp_path: Path) -> None:
    app = pf.App("conflict")
    app.use_idempotency_store(store_from_url(f"sqlite://{tmp_path}/c.sqlite3?lease=30"))
    entered, release = threading.Event(), threading.Event()

    @app.queue("jobs", idempotent=True)
    def job(event: pf.CloudEvent) -> None:
        entered.set()
        release.wait(10)

    event = CloudEvent.create(type="t", source="/s", data={})
    ctx = Context(provider="test", function_name="job", invocation_id="1")
    holder = threading.Thread(target=dispatch_event, args=(app, "job", event, ctx))
    holder.start()
    try:
        assert entered.wait(10)
        outcome = dispatch_event(app, "job", event, ctx)
    finally:
        release.set()
        holder.join(10)
    assert not outcome.ok and outcome.retryable
    assert 25 < getattr(outcome.error, "retry_after", 0) <= 30
    assert dispatch_event(app, "job", event, ctx).ok  # completed now: acknowledged
