"""The dispatch kernel: HTTP outcomes (404, 405, 500 without traceback) and event outcomes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

import portable_fn as pf
from portable_fn.adapter import (
    Outcome,
    dispatch_batch,
    dispatch_event,
    dispatch_event_async,
    dispatch_http,
    dispatch_http_async,
)
from portable_fn.errors import EventDecodeError, UnprocessableEntity
from portable_fn.events import CloudEvent, storage_data
from portable_fn.testing import http_request


def ctx(name: str = "-") -> pf.Context:
    return pf.Context(provider="test", function_name=name, invocation_id="inv-1")


@pytest.fixture
def app() -> pf.App:
    app = pf.App("shop")

    @app.http("/orders/{order_id}", methods=["GET", "DELETE"])
    def get_order(req: pf.Request) -> dict[str, Any]:
        return {"id": req.path_params["order_id"], "q": req.query.get("q")}

    @app.http("/orders", methods=["POST"])
    async def create(req: pf.Request, c: pf.Context) -> pf.Response:
        await asyncio.sleep(0)
        return pf.Response.json({"got": req.json(), "fn": c.function_name}, status=201)

    @app.http("/boom")
    def boom(req: pf.Request) -> None:
        raise RuntimeError("database password is hunter2")

    @app.http("/teapot")
    def teapot(req: pf.Request) -> None:
        raise pf.HTTPError("short and stout", status=418)

    @app.http("/files/{path+}")
    def files(req: pf.Request) -> str:
        return req.path_params["path"]

    return app


def body(response: pf.Response) -> Any:
    return json.loads(response.body)


def test_routes_to_the_handler_with_path_params(app: pf.App) -> None:
    response = dispatch_http(app, http_request("GET", "/orders/7?q=x"), ctx())
    assert response.status == 200 and body(response) == {"id": "7", "q": "x"}
    assert dispatch_http(app, http_request("GET", "/files/a/b.txt"), ctx()).body == b"a/b.txt"


def test_path_params_are_the_routes_own(app: pf.App) -> None:
    """An adapter's path parameters (Azure's catch-all function hands its ``{*path}`` value) do
    not reach a handler whose route has none, nor add to a route's own."""
    seen: list[dict[str, str]] = []

    @app.http("/admin/stats")
    def stats(req: pf.Request) -> None:
        seen.append(dict(req.path_params))

    stray = http_request("GET", "/admin/stats").with_path_params({"path": "admin/stats"})
    dispatch_http(app, stray, ctx())
    dispatch_http(app, stray, ctx(), function="stats")
    assert seen == [{}, {}]
    routed = http_request("GET", "/orders/7").with_path_params({"path": "orders/7"})
    assert body(dispatch_http(app, routed, ctx())) == {"id": "7", "q": None}


def test_async_handler_from_sync_dispatch(app: pf.App) -> None:
    response = dispatch_http(app, http_request("POST", "/orders", json={"sku": "a"}), ctx("c"))
    assert response.status == 201 and body(response) == {"got": {"sku": "a"}, "fn": "c"}


def test_unknown_route_is_404_json(app: pf.App) -> None:
    response = dispatch_http(app, http_request("GET", "/nope"), ctx())
    assert response.status == 404
    assert response.content_type == "application/json"
    assert body(response)["error"]["status"] == 404


def test_wrong_method_is_405_with_allow(app: pf.App) -> None:
    response = dispatch_http(app, http_request("PUT", "/orders/7"), ctx())
    assert response.status == 405
    assert response.headers["Allow"] == "DELETE, GET, HEAD"
    assert body(response)["error"]["status"] == 405


def test_handler_exception_is_500_json_without_traceback(
    app: pf.App, capsys: pytest.CaptureFixture[str]
) -> None:
    response = dispatch_http(app, http_request("GET", "/boom"), ctx("boom"))
    assert response.status == 500
    assert body(response) == {"error": {"status": 500, "message": "internal server error"}}
    assert b"Traceback" not in response.body and b"hunter2" not in response.body
    logged = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert logged["level"] == "ERROR" and "Traceback" in logged["stack"]


def test_bad_json_body_is_400(app: pf.App) -> None:
    response = dispatch_http(app, http_request("POST", "/orders", body=b"{oops"), ctx())
    assert response.status == 400 and "JSON" in body(response)["error"]["message"]


def test_http_error_raised_by_handler(app: pf.App) -> None:
    response = dispatch_http(app, http_request("GET", "/teapot"), ctx())
    assert response.status == 418 and body(response)["error"]["message"] == "short and stout"


def test_function_bound_dispatch(app: pf.App) -> None:
    assert dispatch_http(app, http_request("GET", "/orders/9"), ctx(), "get_order").status == 200
    assert dispatch_http(app, http_request("GET", "/boom"), ctx(), "get_order").status == 404
    assert dispatch_http(app, http_request("POST", "/orders/9"), ctx(), "get_order").status == 405
    assert dispatch_http(app, http_request("HEAD", "/orders/9"), ctx(), "get_order").status == 200


def test_async_dispatch_with_offload(app: pf.App) -> None:
    async def offload(call: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, call)

    async def run() -> list[pf.Response]:
        get = http_request("GET", "/orders/1")
        return [
            await dispatch_http_async(app, get, ctx(), offload=offload),
            await dispatch_http_async(app, http_request("POST", "/orders", json=1), ctx()),
            await dispatch_http_async(app, http_request("GET", "/boom"), ctx(), offload=offload),
        ]

    assert [r.status for r in asyncio.run(run())] == [200, 201, 500]


# -- events ---------------------------------------------------------------------------------


def make_event(data: Any = None, type: str = "t") -> CloudEvent:
    return CloudEvent.create(type=type, source="/test", data=data)


def test_event_outcomes() -> None:
    app = pf.App("shop")
    seen: list[Any] = []

    @app.queue("jobs")
    def work(event: pf.CloudEvent, c: pf.Context) -> None:
        if event.data == "poison":
            raise pf.NonRetryable("cannot parse order")
        if event.data == "flaky":
            raise ConnectionError("try later")
        if event.data == "invalid":
            raise UnprocessableEntity("bad", errors=[{"loc": "sku"}])
        seen.append((event.data, c.attempt))

    assert dispatch_event(app, "work", make_event("ok"), ctx("work")) == Outcome(True)
    flaky = dispatch_event(app, "work", make_event("flaky"), ctx("work"))
    assert not flaky.ok and flaky.retryable and isinstance(flaky.error, ConnectionError)
    poison = dispatch_event(app, "work", make_event("poison"), ctx("work"))
    assert not poison.ok and not poison.retryable and poison.reason == (
        "NonRetryable: cannot parse order"
    )
    invalid = dispatch_event(app, "work", make_event("invalid"), ctx("work"))
    assert not invalid.retryable
    missing = dispatch_event(app, "nope", make_event("ok"), ctx())
    assert not missing.ok and not missing.retryable
    assert seen == [("ok", 1)]


def test_async_event_handler_both_ways() -> None:
    app = pf.App("shop")
    seen: list[Any] = []

    @app.topic("orders")
    async def on(event: pf.CloudEvent) -> None:
        await asyncio.sleep(0)
        seen.append(event.data)

    assert dispatch_event(app, "on", make_event(1), ctx()).ok
    assert asyncio.run(dispatch_event_async(app, "on", make_event(2), ctx())).ok
    assert seen == [1, 2]


def test_storage_and_event_filters_acknowledge_without_running() -> None:
    app = pf.App("shop")
    seen: list[str] = []

    @app.storage("uploads", on=("created",), suffix=".png")
    def up(event: pf.CloudEvent) -> None:
        seen.append(event.data["key"])

    @app.event("com.example.paid")
    def paid(event: pf.CloudEvent) -> None:
        seen.append(event.type)

    def stored(key: str, action: Any) -> CloudEvent:
        data = storage_data(bucket="uploads", key=key, size=1, etag="e", action=action)
        return CloudEvent.create(type="s", source="/b", data=data, subject=key)

    for event in (stored("a.png", "created"), stored("a.txt", "created"),
                  stored("b.png", "deleted")):
        assert dispatch_event(app, "up", event, ctx()).ok
    assert dispatch_event(app, "paid", make_event(type="com.example.refunded"), ctx()).ok
    assert dispatch_event(app, "paid", make_event(type="com.example.paid"), ctx()).ok
    assert seen == ["a.png", "com.example.paid"]


def test_a_declined_event_is_logged_at_info_in_every_path(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An event the function's own filter declines is acknowledged without running the
    handler: one INFO line per event says so and why (sync, async and batch paths alike),
    worded as the GCP adapter's line for a delivery it declines. Batch's current invocation
    names the previous message: the line must name the declined one."""
    from portable_fn.adapter import Batch

    app = pf.App("shop")

    @app.storage("uploads", on=("created",), suffix=".png")
    def up(event: pf.CloudEvent) -> None:
        pf.logger.info("ran")

    @app.event("com.example.paid")
    def paid(event: pf.CloudEvent) -> None:
        pf.logger.info("ran")

    def stored(key: str, action: Any) -> CloudEvent:
        data = storage_data(bucket="uploads", key=key, size=1, etag="e", action=action)
        return CloudEvent.create(type="s", source="/b", data=data, subject=key)

    txt, deleted = stored("a.txt", "created"), stored("b.png", "deleted")
    refunded = make_event(type="com.example.refunded")
    assert dispatch_event(app, "up", txt, ctx("up")).ok
    assert asyncio.run(dispatch_event_async(app, "up", deleted, ctx("up"))).ok
    with Batch(app, app.function("paid"), ctx("paid")) as batch:
        assert batch.run(make_event(type="com.example.paid"), ctx("paid")).ok
        assert batch.run(refunded, ctx("paid")).ok
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    skipped = [line for line in lines if line["message"].startswith("delivery not for")]
    assert [(line["level"], line["function"], line["event_id"], line["event_type"])
            for line in skipped] == [
        ("INFO", "up", txt.id, "s"),
        ("INFO", "up", deleted.id, "s"),
        ("INFO", "paid", refunded.id, "com.example.refunded"),
    ]
    assert [line["reason"] for line in skipped] == [
        "key outside prefix '' / suffix '.png'",
        "action deleted not in on=('created',)",
        "type com.example.refunded is not com.example.paid",
    ]
    assert [line["message"] for line in lines].count("ran") == 1


def test_batch_fails_only_the_bad_records() -> None:
    app = pf.App("shop")
    done: list[int] = []

    @app.queue("jobs")
    def work(event: pf.CloudEvent) -> None:
        if event.data == 3:
            raise ValueError("three")
        done.append(event.data)

    def bad() -> CloudEvent:
        raise EventDecodeError("not base64", provider="test", trigger="queue", field="body")

    items = [lambda i=i: make_event(i) for i in range(5)]
    items.insert(2, bad)
    outcomes = dispatch_batch(app, "work", items, lambda i: ctx("work"))
    assert [o.ok for o in outcomes] == [True, True, False, True, False, True]
    assert not outcomes[2].retryable and outcomes[4].retryable
    assert done == [0, 1, 2, 4]
    # An ordered stream: the batch ends at the first record failing retryably (an undecodable
    # one is no reason to stop), so the records after it wait for its redelivery.
    done.clear()
    outcomes = dispatch_batch(app, "work", items, lambda i: ctx("work"), stop_at_failure=True)
    assert [o.ok for o in outcomes] == [True, True, False, True, False]
    assert done == [0, 1, 2]


def test_event_lines_name_their_attempt(capsys: pytest.CaptureFixture[str]) -> None:
    """A retry's lines are told from the first attempt's by ``attempt`` (``ctx.attempt``): on
    Cloudflare both have the message id for invocation id. A request's lines have none."""
    from portable_fn.adapter import Batch

    app = pf.App("shop")

    @app.queue("jobs")
    def work(event: pf.CloudEvent) -> None:
        pf.logger.info("working")

    def attempt(n: int) -> pf.Context:
        return pf.Context(provider="test", function_name="work", invocation_id="m-1", attempt=n)

    with Batch(app, app.function("work"), attempt(1)) as batch:
        batch.run(make_event(0), attempt(1))
        batch.run(make_event(1), attempt(3))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["attempt"] for line in lines if line["message"] == "working"] == [1, 3]


def test_batch_log_lines_name_each_message_and_only_the_first_is_cold(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Batch sets the invocation once and swaps the message on it: every log line must still
    name the message it is about, a decode failure must name none, and the invocation is
    current only inside the ``with``."""
    from portable_fn import _invocation
    from portable_fn.adapter import Batch

    app = pf.App("shop")

    @app.queue("jobs")
    def work(event: pf.CloudEvent) -> None:
        pf.logger.info("working", n=event.data)
        if event.data == 1:
            raise ValueError("one")

    events = [make_event(i) for i in range(3)]
    _invocation._invoked = False  # this process's next invocation is its cold start
    with Batch(app, app.function("work"), ctx("work")) as batch:
        outcomes = [batch.run(event, ctx("work")) for event in events]
        decode = EventDecodeError("bad", provider="test", trigger="queue", field="body")
        undecodable = batch.undecodable(ctx("work"), decode)
    assert _invocation.current() is None
    assert [o.ok for o in outcomes] == [True, False, True] and outcomes[1].retryable
    assert not undecodable.ok and not undecodable.retryable
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    working = [line for line in lines if line["message"] == "working"]
    assert [(line["n"], line["event_id"]) for line in working] == [
        (i, event.id) for i, event in enumerate(events)
    ]
    assert [line["cold_start"] for line in working] == [True, False, False]
    failed = next(line for line in lines if line["message"].startswith("event handler failed"))
    assert failed["event_id"] == events[1].id and failed["error_type"] == "ValueError"
    (decode_line,) = [line for line in lines if line["message"] == "could not decode message"]
    assert "event_id" not in decode_line
    # Each message its own trace unless it carries one: ids differ from line to line.
    assert len({line["trace_id"] for line in working}) == 3


def test_batch_runs_async_and_filtered_functions_like_run_event() -> None:
    from portable_fn.adapter import Batch

    app = pf.App("shop")
    seen: list[str] = []

    @app.queue("jobs")
    async def work(event: pf.CloudEvent) -> None:
        await asyncio.sleep(0)
        seen.append(str(event.data))

    @app.event("com.example.paid")
    def paid(event: pf.CloudEvent) -> None:
        seen.append(event.type)

    with Batch(app, app.function("work"), ctx()) as batch:
        assert batch.run(make_event("a"), ctx()).ok
    with Batch(app, app.function("paid"), ctx()) as batch:
        assert batch.run(make_event(type="com.example.refunded"), ctx()).ok
        assert batch.run(make_event(type="com.example.paid"), ctx()).ok
    assert seen == ["a", "com.example.paid"]


def test_batch_of_an_async_function_keeps_its_cold_start(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Async handlers run through run_event per message: the batch must not use up the cold
    start before the first message reaches it."""
    from portable_fn import _invocation
    from portable_fn.adapter import Batch

    app = pf.App("shop")

    @app.queue("jobs")
    async def work(event: pf.CloudEvent) -> None:
        pf.logger.info("working", n=event.data)

    _invocation._invoked = False  # this process's next invocation is its cold start
    with Batch(app, app.function("work"), ctx("work")) as batch:
        assert all(batch.run(make_event(i), ctx("work")).ok for i in range(2))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["cold_start"] for line in lines if line["message"] == "working"] == [True, False]


def test_an_undecodable_first_message_takes_the_batch_cold_start(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The cold start is the batch's first message, decodable or not: the message after an
    undecodable first one is not a cold start too."""
    from portable_fn import _invocation
    from portable_fn.adapter import Batch

    app = pf.App("shop")

    @app.queue("jobs")
    def work(event: pf.CloudEvent) -> None:
        pf.logger.info("working", n=event.data)

    _invocation._invoked = False  # this process's next invocation is its cold start
    decode = EventDecodeError("bad", provider="test", trigger="queue", field="body")
    with Batch(app, app.function("work"), ctx("work")) as batch:
        assert not batch.undecodable(ctx("work"), decode).ok
        assert all(batch.run(make_event(i), ctx("work")).ok for i in range(2))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    (decode_line,) = [line for line in lines if line["message"] == "could not decode message"]
    assert decode_line["cold_start"] is True
    assert [line["cold_start"] for line in lines if line["message"] == "working"] == [False] * 2


def test_context_remaining_time_and_trace() -> None:
    import time

    c = pf.Context(provider="p", function_name="f", invocation_id="i", deadline=time.time() + 5,
                   traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    assert c.remaining_time is not None and 4 < c.remaining_time <= 5
    assert c.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert pf.Context(provider="p", function_name="f", invocation_id="i").remaining_time is None


def test_retry_after_travels_as_a_header() -> None:
    app = pf.App("shop")

    @app.http("/busy")
    def busy(req: pf.Request) -> None:
        error = pf.HTTPError("try again soon", status=503)
        error.retry_after = 2.2
        raise error

    response = dispatch_http(app, http_request("GET", "/busy"), ctx())
    assert (response.status, response.headers["retry-after"]) == (503, "3")


def completed(coroutine: Any) -> Any:
    """The value of a coroutine that finishes without awaiting anything."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value
    raise AssertionError("the coroutine awaited something")


def test_a_failed_message_leaves_no_reference_cycle() -> None:
    """The outcome holds the exception, whose traceback holds the dispatcher's frame: if that
    frame kept the outcome, every failure would be garbage only the cycle collector frees.
    With the collector off, the exception must die as soon as the outcome is dropped."""
    import gc

    from portable_fn.adapter import Batch, run_event

    freed: list[str] = []

    class Tracked(Exception):
        def __del__(self) -> None:
            freed.append(str(self))

    app = pf.App("shop")

    @app.queue("jobs")
    def work(event: pf.CloudEvent) -> None:
        raise Tracked(event.data)

    @app.http("/boom")
    def boom(req: pf.Request) -> None:
        raise Tracked("http")

    fn = app.function("work")
    gc.collect()
    gc.disable()
    try:
        outcome = run_event(app, fn, make_event(1), ctx("work"))
        assert not outcome.ok and isinstance(outcome.error, Tracked)
        del outcome
        with Batch(app, fn, ctx("work")) as batch:
            assert not batch.run(make_event(2), ctx("work")).ok
        # The async twins are stepped by hand: a sync handler with no offload completes on the
        # first step, and asyncio's own task bookkeeping (which keeps a result alive on 3.12)
        # stays out of what is measured.
        outcome = completed(dispatch_event_async(app, "work", make_event(3), ctx("work")))
        assert not outcome.ok
        del outcome
        assert dispatch_http(app, http_request("GET", "/boom"), ctx()).status == 500
        boom = completed(dispatch_http_async(app, http_request("GET", "/boom"), ctx()))
        assert boom.status == 500
        del boom
        assert freed == ["1", "2", "3", "http", "http"]
    finally:
        gc.enable()


def test_a_function_bound_405_names_head_with_get(app: pf.App) -> None:
    """Dispatch to a named function (one deployment per function, as on GCP) must advertise
    the same methods as the route table: a GET function serves HEAD too."""
    response = dispatch_http(app, http_request("POST", "/files/a/b"), ctx(), function="files")
    assert response.status == 405
    assert response.headers["Allow"] == "GET, HEAD"


def test_a_response_with_nan_is_a_500_not_invalid_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = pf.App("shop")

    @app.http("/ratio")
    def ratio(req: pf.Request) -> dict[str, float]:
        return {"ratio": float("nan")}

    response = dispatch_http(app, http_request("GET", "/ratio"), ctx())
    assert response.status == 500 and body(response)["error"]["status"] == 500
    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert line["level"] == "ERROR" and line["error_type"] == "ValueError"


def test_a_path_spelled_like_its_route_pattern_still_binds_its_parameters(app: pf.App) -> None:
    """Function-bound dispatch skips matching when the path is the (static) route itself; a
    client sending the pattern's own text must still get the parameter bound."""
    response = dispatch_http(
        app, http_request("GET", "/orders/{order_id}"), ctx(), function="get_order"
    )
    assert response.status == 200 and body(response)["id"] == "{order_id}"
    static = pf.App("static")

    @static.http("/health")
    def health(req: pf.Request) -> dict[str, bool]:
        return {"ok": True}

    assert dispatch_http(static, http_request("GET", "/health"), ctx(), "health").status == 200
    assert dispatch_http(static, http_request("GET", "/health/"), ctx(), "health").status == 200
    assert dispatch_http(static, http_request("GET", "/other"), ctx(), "health").status == 404
