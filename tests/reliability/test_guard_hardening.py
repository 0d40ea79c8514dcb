"""The guard and its stores under the failures a retry cannot fix or a blocked call would hide:
a key function that returns no key, store I/O on an event loop, a store endpoint that never
answers, and a SQLite table on a long-running process. Real stores only (SQLite files,
Debian's redis-server on 127.0.0.1, moto's server), and a real listening socket that never
answers as the blackholed endpoint.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
import redis.exceptions

import portable_fn as pf
from portable_fn.adapter import Context, dispatch_event, dispatch_event_async, dispatch_http_async
from portable_fn.events import CloudEvent
from portable_fn.http import Headers, Request
from portable_fn.idempotency import DynamoDBStore, RedisStore, SQLiteStore, store_from_url
from portable_fn.testing import invoke, invoke_async

from .conftest import AWS_ENV

# -- 1. a key function that returns no key fails the message for good ------------------------


def order_key(event: pf.CloudEvent) -> str:
    return event.data.get("order")  # type: ignore[no-any-return]  # None when it is missing


@pytest.mark.parametrize("data", [{}, {"order": ""}, {"order": 42}])
def test_a_key_function_without_a_key_dead_letters_at_once(tmp_path: Path, data: Any) -> None:
    app = pf.App("badkeys")
    app.use_idempotency_store(store_from_url(f"sqlite://{tmp_path}/k.sqlite3"))
    runs: list[str] = []

    @app.queue("orders", idempotent=order_key)
    def order(event: pf.CloudEvent) -> None:
        runs.append(event.id)

    event = CloudEvent.create(type="t", source="/s", data=data)
    outcome = dispatch_event(app, "order", event, Context(
        provider="test", function_name="order", invocation_id="1"))
    assert not outcome.ok and not outcome.retryable  # a retry computes the same key
    assert isinstance(outcome.error, pf.NonRetryable) and isinstance(outcome.error, TypeError)
    message = str(outcome.error)
    assert "order_key" in message and "'order'" in message and repr(data.get("order")) in message
    assert runs == []



def payment_key(event: pf.CloudEvent) -> str:
    return event.data["payment_id"]  # type: ignore[no-any-return]  # KeyError when missing


def test_a_key_function_that_raises_dead_letters_at_once(tmp_path: Path) -> None:
    """A key function that raises on a message (it lacks the field read) raises on every
    redelivery of it: the message fails for good, as one that returns no key does, instead of
    spending its retries on a handler that never runs."""
    app = pf.App("raisingkeys")
    app.use_idempotency_store(store_from_url(f"sqlite://{tmp_path}/k.sqlite3"))
    runs: list[str] = []

    @app.queue("payments", idempotent=payment_key)
    def charge(event: pf.CloudEvent) -> None:
        runs.append(event.id)

    outcome = invoke(app, "charge", CloudEvent.create(type="t", source="/s", data={"amount": 5}))
    assert not outcome.ok and not outcome.retryable
    assert isinstance(outcome.error, pf.NonRetryable)
    assert isinstance(outcome.error.__cause__, KeyError)
    message = str(outcome.error)
    assert "payment_key" in message and "'charge'" in message
    assert "KeyError('payment_id')" in message
    assert runs == []


def test_a_store_outage_under_a_key_function_stays_retryable() -> None:
    """The store, not the key, failed: the redelivery may find it back."""

    class Down:
        lease = retention = 60.0

        def acquire(self, *args: Any) -> None:
            raise ConnectionError("store down")

    app = pf.App("storedown")
    app.use_idempotency_store(Down())  # type: ignore[arg-type]

    @app.queue("payments", idempotent=payment_key)
    def charge(event: pf.CloudEvent) -> None: ...

    event = CloudEvent.create(type="t", source="/s", data={"payment_id": "p1"})
    outcome = invoke(app, "charge", event)
    assert not outcome.ok and outcome.retryable
    assert isinstance(outcome.error, ConnectionError)


def test_a_key_reused_with_another_payload_is_a_duplicate_said_out_loud(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A key function's key sent again with other data was dropped as a duplicate without a
    word. It is still a duplicate (a producer re-sending an order with a new ``sent_at`` means
    the same order; dead-lettering it would fail every such producer, and Powertools' payload
    validation, which raises, is opt-in), but a WARNING line names the key. The same data, its
    keys in another order, is a plain duplicate."""
    app = pf.App("reused")
    app.use_idempotency_store(store_from_url(store_url))
    charged: list[int] = []

    @app.queue("payments", idempotent=payment_key)
    def charge(event: pf.CloudEvent) -> None:
        charged.append(event.data["amount"])

    def send(data: dict[str, Any], content_type: str | None = None) -> Any:
        event = CloudEvent.create(type="t", source="/s", data=data,
                                  datacontenttype=content_type)
        return invoke(app, "charge", event)

    assert send({"payment_id": "p9", "amount": 5}).ok
    assert send({"amount": 5, "payment_id": "p9"}).ok  # a duplicate: acknowledged
    assert "another payload" not in capsys.readouterr().out
    assert send({"payment_id": "p9", "amount": 700}).ok
    out = capsys.readouterr().out
    assert '"level":"WARNING"' in out and "another payload" in out and '"key":"p9"' in out
    assert send({"payment_id": "p9", "amount": 5}, "application/vnd.pay+json").ok
    assert "another payload" in capsys.readouterr().out
    assert charged == [5]


def test_an_async_handler_keeps_the_fingerprint_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = pf.App("reused-async")
    app.use_idempotency_store(store_from_url(f"sqlite://{tmp_path}/a.sqlite3"))
    charged: list[int] = []

    @app.queue("payments", idempotent=payment_key)
    async def charge(event: pf.CloudEvent) -> None:
        charged.append(event.data["amount"])

    async def run() -> list[Any]:
        return [
            await invoke_async(app, "charge", CloudEvent.create(
                type="t", source="/s", data={"payment_id": "p2", "amount": amount}))
            for amount in (5, 5, 700)
        ]

    assert all(outcome.ok for outcome in asyncio.run(run()))
    assert capsys.readouterr().out.count("another payload") == 1
    assert charged == [5]


def test_a_record_without_a_fingerprint_is_still_a_duplicate(tmp_path: Path) -> None:
    """A record the previous version wrote (no fingerprint) acknowledges its duplicate."""
    import hashlib

    store = store_from_url(f"sqlite://{tmp_path}/old.sqlite3")
    app = pf.App("upgraded")
    app.use_idempotency_store(store)
    runs: list[int] = []

    @app.queue("payments", idempotent=payment_key)
    def charge(event: pf.CloudEvent) -> None:
        runs.append(event.data["amount"])

    key = f"upgraded/charge/{hashlib.sha256(b'p1').hexdigest()}"
    now = time.time()
    assert store.acquire(key, "old", now + 60, now) is None
    assert store.complete(key, "old", None, now + 3600, now)
    outcome = invoke(app, "charge", CloudEvent.create(
        type="t", source="/s", data={"payment_id": "p1", "amount": 700}))
    assert outcome.ok and runs == []


# -- 2. async handlers: the store's I/O runs off the event loop ------------------------------


@pytest.fixture
def locked_sqlite(tmp_path: Path) -> Iterator[tuple[SQLiteStore, threading.Event]]:
    """A SQLite store whose write lock another connection holds until the event is set."""
    path = tmp_path / "locked.sqlite3"
    store = SQLiteStore(path)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    unlock = threading.Event()

    def hold() -> None:
        unlock.wait(10)
        other.execute("COMMIT")
        other.close()

    holder = threading.Thread(target=hold)
    holder.start()
    yield store, unlock
    unlock.set()
    holder.join(10)
    store.close()


def _idempotent_app(store: SQLiteStore, http: bool) -> tuple[pf.App, list[str]]:
    app = pf.App("loop")
    app.use_idempotency_store(store)
    runs: list[str] = []
    if http:

        @app.http("/pay", methods=["POST"], idempotent=True)
        async def pay(request: pf.Request) -> dict[str, bool]:
            runs.append("pay")
            return {"ok": True}

    else:

        @app.queue("jobs", idempotent=True)
        async def job(event: pf.CloudEvent) -> None:
            runs.append(event.id)

    return app, runs


async def _deliver(app: pf.App, http: bool, event: CloudEvent) -> bool:
    name = "pay" if http else "job"
    ctx = Context(provider="test", function_name=name, invocation_id="1")
    if http:
        request = Request(method="POST", path="/pay", headers=Headers({"Idempotency-Key": "k-1"}))
        return (await dispatch_http_async(app, request, ctx)).status == 200
    return (await dispatch_event_async(app, name, event, ctx)).ok


@pytest.mark.parametrize("http", [False, True], ids=["event", "http"])
def test_a_store_that_waits_does_not_block_the_event_loop(
    locked_sqlite: tuple[SQLiteStore, threading.Event], http: bool
) -> None:
    store, unlock = locked_sqlite
    app, runs = _idempotent_app(store, http)
    event = CloudEvent.create(type="t", source="/s", data={})

    async def scenario() -> tuple[bool, int]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        await asyncio.sleep(0)
        threading.Timer(0.3, unlock.set).start()  # the other process commits after 0.3 s
        ok = await _deliver(app, http, event)
        ticker.cancel()
        return ok, ticks

    ok, ticks = asyncio.run(scenario())
    assert ok and len(runs) == 1
    assert ticks >= 10  # the loop ran other tasks while the store waited (0 when it blocks)


def test_an_async_delivery_cancelled_while_claiming_gives_the_key_back(
    locked_sqlite: tuple[SQLiteStore, threading.Event],
) -> None:
    store, unlock = locked_sqlite
    app, runs = _idempotent_app(store, http=False)
    event = CloudEvent.create(type="t", source="/s", data={})

    async def scenario() -> None:
        delivery = asyncio.create_task(_deliver(app, False, event))
        await asyncio.sleep(0.1)  # the claim is waiting on the store in its thread
        delivery.cancel()
        with pytest.raises(asyncio.CancelledError):
            await delivery
        unlock.set()  # the claim now lands, after its caller has gone

    asyncio.run(scenario())  # returns once the executor's threads have finished
    assert runs == []
    # The key was given back: the redelivery runs now, not after the 60 s lease.
    assert dispatch_event(app, "job", event, Context(
        provider="test", function_name="job", invocation_id="2")).ok
    assert runs == [event.id]


# -- 3. a store endpoint that never answers fails the call, on time ---------------------------


@pytest.fixture
def blackhole() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never answers a byte."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        yield int(server.getsockname()[1])


def test_redis_clients_get_short_overridable_timeouts(blackhole: int, redis_url: str) -> None:
    store = RedisStore.from_url(redis_url)
    kwargs = store.client.connection_pool.connection_kwargs
    assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (2.0, 2.0)
    # What the URL says wins (redis-py's own query options).
    chosen = store_from_url(f"{redis_url}?socket_timeout=7&socket_connect_timeout=3")
    kwargs = chosen.client.connection_pool.connection_kwargs  # type: ignore[attr-defined]
    assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (7.0, 3.0)
    quick = RedisStore.from_url(f"redis://127.0.0.1:{blackhole}/0", socket_timeout=0.1)
    started = time.monotonic()
    with pytest.raises(redis.exceptions.TimeoutError):
        quick.acquire("k", "t", time.time() + 30, time.time())
    assert time.monotonic() - started < 2.0


def test_dynamodb_clients_get_short_overridable_timeouts(
    blackhole: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    store = DynamoDBStore("t", region="us-east-1", endpoint_url="http://127.0.0.1:9")
    config = store.client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (2.0, 2.0)
    assert config.retries == {"mode": "standard", "total_max_attempts": 2}
    url = f"dynamodb://t?region=us-east-1&endpoint_url=http://127.0.0.1:{blackhole}"
    quick = store_from_url(f"{url}&read_timeout=0.1&connect_timeout=0.1")
    config = quick.client.meta.config  # type: ignore[attr-defined]
    assert (config.connect_timeout, config.read_timeout) == (0.1, 0.1)
    started = time.monotonic()
    with pytest.raises(botocore.exceptions.ReadTimeoutError):
        quick.get("k", time.time())
    assert time.monotonic() - started < 3.0  # two attempts of 0.1 s, a backoff of up to 1 s


def test_a_retried_claim_whose_first_reply_was_lost_holds_the_key(
    moto_endpoint: str,
) -> None:
    """A PutItem that DynamoDB applied but whose reply was lost (a read timeout, a dropped
    connection) is sent again by botocore's standard retry mode, and the retry's condition
    fails on the item the first try wrote (https://github.com/aws/aws-sdk-java/issues/2667;
    https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html). That item
    is this attempt's own claim: the handler runs now, instead of a 409 until its own lease
    ends (up to 15 minutes on Lambda)."""
    import urllib.request

    from .conftest import dynamodb_url

    store = store_from_url(dynamodb_url(moto_endpoint))
    lost: list[str] = []

    def lose_the_first_reply(request: Any, **_: Any) -> None:
        if lost:
            return  # the retry goes out as usual
        lost.append(request.url)
        sent = urllib.request.Request(
            request.url, data=request.body, headers=dict(request.headers), method="POST"
        )
        with urllib.request.urlopen(sent, timeout=10) as reply:  # the write lands...
            reply.read()
        raise botocore.exceptions.ReadTimeoutError(endpoint_url=request.url)  # ...unanswered

    client: Any = store.client  # type: ignore[attr-defined]
    client.meta.events.register("before-send.dynamodb.PutItem", lose_the_first_reply)
    app = pf.App("lost-reply")
    app.use_idempotency_store(store)
    runs: list[str] = []

    @app.queue("jobs", idempotent=True)
    def job(event: pf.CloudEvent) -> None:
        runs.append(event.id)

    event = CloudEvent.create(type="t", source="/s", data=None)
    ctx = Context(provider="test", function_name="job", invocation_id="1")
    outcome = dispatch_event(app, "job", event, ctx)
    assert lost, "the first PutItem's reply was not lost"
    assert outcome.ok, outcome.error
    assert runs == [event.id]
    assert dispatch_event(app, "job", event, ctx).ok and runs == [event.id]  # completed


# -- 4. SQLite forgets expired records as it goes ---------------------------------------------


def test_the_sqlite_store_purges_as_it_goes(tmp_path: Path) -> None:
    # A long-running `portable-fn dev` opens the store once: what expired must go meanwhile.
    path = tmp_path / "purge.sqlite3"
    store = SQLiteStore(path)
    t0, n = time.time(), 1100
    for i in range(n):
        assert store.acquire(f"old-{i}", "t", t0 + 1, t0) is None
    later = t0 + 100  # every old record has expired by now
    for i in range(n):
        assert store.acquire(f"new-{i}", "t", later + 30, later) is None
    with sqlite3.connect(path) as db:
        (old,) = db.execute("SELECT count(*) FROM idempotency WHERE key LIKE 'old-%'").fetchone()
        (new,) = db.execute("SELECT count(*) FROM idempotency WHERE key LIKE 'new-%'").fetchone()
    assert (old, new) == (0, n)  # live records are never dropped
    store.close()




def test_without_a_deadline_the_lease_covers_the_declared_timeout(tmp_path: Path) -> None:
    """Where the provider gives the handler no deadline (``ctx.remaining_time`` None), the
    in-progress record held its key for the store's 60 s lease whatever the function declared:
    a ``timeout=300`` handler still running at 61 s could be run again beside itself by a
    redelivery. The lease now lasts the declared timeout (and the margin); a deadline, where
    there is one, decides instead; neither makes it shorter than the store's own (Cloud Run
    answers 504 at its deadline and lets the handler run on)."""
    app = pf.App("leases")
    store = SQLiteStore(tmp_path / "keys.sqlite3")
    app.use_idempotency_store(store)
    for name, timeout in (("long", 300), ("short", 10), ("plain", None)):
        app.queue(f"jobs-{name}", idempotent=True, timeout=timeout, name=name)(lambda e: None)
    asked: list[float] = []
    acquire = store.acquire

    def spy(key: str, token: str, expires_at: float, now: float) -> Any:
        asked.append(expires_at - now)  # the lease the claim asks the real store for
        return acquire(key, token, expires_at, now)

    store.acquire = spy  # type: ignore[method-assign]

    def lease_of(name: str, deadline: float | None = None) -> float:
        ctx = Context(provider="local", function_name=name, invocation_id=name, deadline=deadline)
        assert dispatch_event(app, name, CloudEvent(source="/t", type="t", id=name), ctx).ok
        return asked.pop()

    assert lease_of("long") == pytest.approx(305, abs=1)
    assert lease_of("short") == pytest.approx(60, abs=1)  # never less than the store's lease
    assert lease_of("plain") == pytest.approx(60, abs=1)
    assert lease_of("long", deadline=time.time() + 200) == pytest.approx(205, abs=1)
    assert lease_of("long", deadline=time.time() + 20) == pytest.approx(60, abs=1)
