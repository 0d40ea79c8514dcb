"""``async def`` handlers (and handlers that return an awaitable) through every dispatch path:
awaited once, failing like sync ones, from any thread, never a 'never awaited' coroutine."""

from __future__ import annotations

import asyncio
import functools
import json
import threading
import warnings
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

import portable_fn as pf
from portable_fn.adapter import (
    dispatch_batch,
    dispatch_event,
    dispatch_event_async,
    dispatch_http,
    dispatch_http_async,
)
from portable_fn.errors import ConfigurationError
from portable_fn.testing import RecordingPublisher, http_request


def make_event(data: Any = None) -> pf.CloudEvent:
    return pf.CloudEvent.create(type="t", source="/test", data=data)


def ctx(name: str = "-") -> pf.Context:
    return pf.Context(provider="test", function_name=name, invocation_id="inv-1")


@pytest.fixture(autouse=True)
def no_unawaited_coroutines() -> Iterator[None]:
    """A coroutine dropped unawaited warns when it is collected: fail the test on it."""
    import gc

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
        gc.collect()
    unawaited = [w for w in caught if "never awaited" in str(w.message)]
    assert unawaited == [], [str(w.message) for w in unawaited]


async def _offload(call: Callable[[], Any]) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, call)


# -- decoration ------------------------------------------------------------------------------


def test_an_async_generator_handler_is_refused_at_decoration() -> None:
    app = pf.App("shop")
    with pytest.raises(ConfigurationError, match="generator"):

        @app.queue("jobs")
        async def work(event: pf.CloudEvent) -> Any:
            yield event

    with pytest.raises(ConfigurationError, match="generator"):

        @app.http("/stream")
        def stream(req: pf.Request) -> Any:
            yield b"chunk"

    class Handler:
        async def __call__(self, event: pf.CloudEvent) -> Any:
            yield event

    with pytest.raises(ConfigurationError, match="generator"):
        app.queue("jobs", name="instance")(Handler())
    assert dict(app.functions) == {}


# -- cancellation ----------------------------------------------------------------------------


def _cancelling_app() -> tuple[pf.App, list[str]]:
    app = pf.App("shop")
    done: list[str] = []

    @app.queue("jobs")
    async def work(event: pf.CloudEvent) -> None:
        if event.data == "cancel":
            # What awaiting a task something else cancelled raises (gather, a timeout helper).
            raise asyncio.CancelledError("the lookup it awaited was cancelled")
        await asyncio.sleep(0)
        done.append(str(event.data))

    @app.http("/cancel")
    async def cancel(req: pf.Request) -> None:
        task = asyncio.ensure_future(asyncio.sleep(10))
        task.cancel()
        await task

    return app, done


def test_a_cancelled_async_handler_fails_its_message_only_on_sync_adapters() -> None:
    app, done = _cancelling_app()
    events = [make_event("a"), make_event("cancel"), make_event("c")]
    outcomes = dispatch_batch(app, "work", [lambda e=e: e for e in events], lambda i: ctx("work"))
    assert [o.ok for o in outcomes] == [True, False, True]
    assert outcomes[1].retryable and "cancelled" in (outcomes[1].reason or "")
    assert done == ["a", "c"]
    outcome = dispatch_event(app, "work", make_event("cancel"), ctx("work"))
    assert not outcome.ok and outcome.retryable
    response = dispatch_http(app, http_request("GET", "/cancel"), ctx())
    assert response.status == 500 and b"Traceback" not in response.body
    assert json.loads(response.body)["error"]["status"] == 500


def test_a_cancelled_async_handler_fails_its_message_on_async_adapters() -> None:
    app, _ = _cancelling_app()

    async def run() -> tuple[Any, Any]:
        outcome = await dispatch_event_async(app, "work", make_event("cancel"), ctx("work"))
        response = await dispatch_http_async(app, http_request("GET", "/cancel"), ctx())
        return outcome, response

    outcome, response = asyncio.run(run())
    assert not outcome.ok and outcome.retryable
    assert response.status == 500


def test_cancelling_the_dispatch_itself_still_cancels() -> None:
    """A runtime that cancels the task running the dispatch (a shutdown, a timeout around it)
    gets its CancelledError back: that is not the handler failing."""
    app = pf.App("shop")
    @app.queue("jobs")
    async def work(event: pf.CloudEvent) -> None:
        await asyncio.sleep(10)

    async def run() -> None:
        task = asyncio.ensure_future(
            dispatch_event_async(app, "work", make_event(1), ctx("work"))
        )
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())


# -- awaitables returned by handlers ---------------------------------------------------------


def _returning_app() -> tuple[pf.App, list[Any]]:
    app = pf.App("shop")
    done: list[Any] = []

    async def record(value: Any) -> dict[str, Any]:
        await asyncio.sleep(0)
        done.append(value)
        return {"value": value}

    def sync_to_async(handler: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        # A decorator that is not async-aware: its wrapper is a plain function that returns
        # the wrapped coroutine function's coroutine.
        @functools.wraps(handler)
        def wrapper(value: Any) -> Any:
            return handler(value)

        return wrapper

    @app.queue("jobs")
    @sync_to_async
    async def wrapped(event: pf.CloudEvent) -> None:
        await record(event.data)

    @app.queue("jobs", name="forgot_await")
    async def forgot_await(event: pf.CloudEvent) -> Any:
        return record(event.data)  # the coroutine itself, not awaited

    @app.http("/wrapped")
    @sync_to_async
    async def wrapped_http(req: pf.Request) -> dict[str, Any]:
        return await record("http")

    return app, done


def test_a_returned_awaitable_is_awaited_on_sync_adapters() -> None:
    app, done = _returning_app()
    assert dispatch_event(app, "wrapped", make_event(1), ctx("wrapped")).ok
    assert dispatch_event(app, "forgot_await", make_event(2), ctx("forgot_await")).ok
    outcomes = dispatch_batch(app, "wrapped", [lambda: make_event(3)], lambda i: ctx("wrapped"))
    assert [o.ok for o in outcomes] == [True]
    response = dispatch_http(app, http_request("GET", "/wrapped"), ctx())
    assert response.status == 200 and json.loads(response.body) == {"value": "http"}
    assert done == [1, 2, 3, "http"]


def test_a_returned_awaitable_is_awaited_on_async_adapters() -> None:
    app, done = _returning_app()

    async def run() -> list[Any]:
        return [
            await dispatch_event_async(app, "wrapped", make_event(1), ctx("wrapped")),
            await dispatch_event_async(
                app, "wrapped", make_event(2), ctx("wrapped"), offload=_offload
            ),
            await dispatch_event_async(app, "forgot_await", make_event(3), ctx("forgot_await")),
            await dispatch_http_async(app, http_request("GET", "/wrapped"), ctx()),
            await dispatch_http_async(
                app, http_request("GET", "/wrapped"), ctx(), offload=_offload
            ),
        ]

    *outcomes, first, second = asyncio.run(run())
    assert all(o.ok for o in outcomes)
    assert first.status == second.status == 200
    assert done == [1, 2, 3, "http", "http"]


# -- threads and context ---------------------------------------------------------------------


def test_async_handlers_run_from_many_threads_at_once() -> None:
    """A threaded server (functions-framework's gunicorn threads, Azure's worker pool) runs
    async handlers through the sync dispatch from several threads at once."""
    app = pf.App("shop")
    barrier = threading.Barrier(4)

    @app.queue("jobs")
    async def work(event: pf.CloudEvent) -> None:
        await asyncio.sleep(0.05)

    @app.http("/slow")
    async def slow(req: pf.Request) -> str:
        await asyncio.sleep(0.05)
        return "ok"

    results: list[Any] = []

    def one(i: int) -> None:
        barrier.wait()
        if i % 2:
            results.append(dispatch_event(app, "work", make_event(i), ctx("work")).ok)
        else:
            results.append(dispatch_http(app, http_request("GET", "/slow"), ctx()).status)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=str) == [200, 200, True, True]


def test_tasks_an_async_handler_awaits_see_its_invocation() -> None:
    app = pf.App("shop")
    recorder = RecordingPublisher()
    app.use_publisher(recorder)

    @app.queue("jobs")
    async def work(event: pf.CloudEvent) -> None:
        async def child(n: int) -> None:
            await asyncio.sleep(0)
            pf.publish("out", {"n": n, "of": event.data})

        await asyncio.gather(child(1), asyncio.create_task(child(2)))

    events = [make_event("a"), make_event("b")]
    outcomes = dispatch_batch(app, "work", [lambda e=e: e for e in events], lambda i: ctx("work"))
    assert all(o.ok for o in outcomes)
    published = recorder.to("out")
    assert len(published) == 4
    for event in published:
        cause = next(e for e in events if e.data == event.data["of"])
        assert event.extensions["causationid"] == cause.id
        assert event.source == "/portable-fn/shop/work"


# -- idempotency -----------------------------------------------------------------------------


def test_an_idempotent_plain_function_returning_a_coroutine_settles_its_key_after_it() -> None:
    """The key is completed when the returned coroutine has run, not when the plain function
    returned it: a coroutine that fails gives the key back, so the redelivery runs again."""
    from portable_fn.idempotency.memory import MemoryStore

    app = pf.App("shop")
    app.use_idempotency_store(MemoryStore())
    runs: list[Any] = []

    async def work(value: Any) -> Any:
        await asyncio.sleep(0)
        runs.append(value)
        if value == "fail":
            raise RuntimeError("flaky")
        return {"ran": len(runs)}

    @app.queue("jobs", idempotent=True)
    def job(event: pf.CloudEvent) -> Any:
        return work(event.data)

    @app.http("/orders", methods=["POST"], idempotent=True)
    def create(req: pf.Request) -> Any:
        return work("http")

    failing = make_event("fail")
    assert not dispatch_event(app, "job", failing, ctx("job")).ok
    assert not dispatch_event(app, "job", failing, ctx("job")).ok  # ran again: key given back
    done = make_event("ok")
    assert dispatch_event(app, "job", done, ctx("job")).ok
    assert dispatch_event(app, "job", done, ctx("job")).ok  # a duplicate: not run
    assert runs == ["fail", "fail", "ok"]

    request = http_request("POST", "/orders", headers={"Idempotency-Key": "k-1"})
    first = dispatch_http(app, request, ctx())
    again = dispatch_http(app, request, ctx())
    assert first.status == again.status == 200
    assert json.loads(first.body) == json.loads(again.body) == {"ran": 4}
    assert again.headers.get("idempotent-replayed") == "true"
    assert runs == ["fail", "fail", "ok", "http"]
