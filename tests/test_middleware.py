"""``@app.middleware``: code around every handler of the kinds it names, through the real
dispatch kernel (sync and async), in registration order, whenever it is registered."""

from __future__ import annotations

import asyncio
import json
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
from portable_fn.events import CloudEvent
from portable_fn.testing import http_request


def ctx(name: str = "-") -> pf.Context:
    return pf.Context(provider="test", function_name=name, invocation_id="inv-1")


def event(data: Any = None) -> CloudEvent:
    return CloudEvent(id=f"e-{data}", source="/test", type="com.example.thing", data=data)


def test_http_middleware_sees_the_request_and_a_response_whatever_the_handler_returned() -> None:
    app = pf.App("mw")
    seen: list[Any] = []

    @app.http("/orders/{order_id}")
    def get_order(req: pf.Request) -> dict[str, Any]:
        return {"id": req.path_params["order_id"]}

    # Registered after the route: it wraps functions registered before it too.
    @app.middleware("http")
    def stamp(req: pf.Request, c: pf.Context, call_next: Any) -> pf.Response:
        seen.append((req.path_params["order_id"], c.function_name))
        response = call_next(req, c)
        seen.append(type(response).__name__)
        return response.with_headers({"x-served-by": "mw"})

    response = dispatch_http(app, http_request("GET", "/orders/7"), ctx("get_order"))
    assert response.status == 200 and response.headers["x-served-by"] == "mw"
    assert seen == [("7", "get_order"), "Response"]


def test_middlewares_run_outermost_first_around_functions_registered_before_and_after() -> None:
    app = pf.App("mw")
    order: list[str] = []

    @app.queue("jobs")
    def early(e: pf.CloudEvent) -> None:
        order.append("early")

    for label in ("outer", "inner"):

        def layer(e: pf.CloudEvent, c: pf.Context, call_next: Any, label: str = label) -> Any:
            order.append(f"{label}>")
            try:
                return call_next(e, c)
            finally:
                order.append(f"<{label}")

        app.middleware(layer)

    @app.topic("news")
    def late(e: pf.CloudEvent) -> None:
        order.append("late")

    for name in ("early", "late"):
        order.clear()
        assert dispatch_event(app, name, event(), ctx(name)).ok
        assert order == ["outer>", "inner>", name, "<inner", "<outer"]


def test_a_middleware_wraps_only_the_kinds_it_names() -> None:
    app = pf.App("mw")
    wrapped: list[str] = []

    @app.middleware("queue", "schedule")
    def note(value: Any, c: pf.Context, call_next: Any) -> Any:
        wrapped.append(c.function_name)
        return call_next(value, c)

    @app.queue("jobs")
    def job(e: pf.CloudEvent) -> None: ...

    @app.topic("news")
    def news(e: pf.CloudEvent) -> None: ...

    @app.http("/ping")
    def ping(req: pf.Request) -> str:
        return "pong"

    for name in ("job", "news"):
        assert dispatch_event(app, name, event(), ctx(name)).ok
    assert dispatch_http(app, http_request("GET", "/ping"), ctx("ping")).status == 200
    assert wrapped == ["job"]


def test_a_middleware_can_turn_a_handler_exception_into_a_4xx() -> None:
    """What Powertools' exception handlers and Chalice's middleware are used for: one place
    mapping an app's own errors to statuses, here as a JSON answer with no stack trace."""
    app = pf.App("mw")

    class OutOfStock(Exception):
        pass

    @app.middleware("http")
    def errors(req: pf.Request, c: pf.Context, call_next: Any) -> Any:
        try:
            return call_next(req, c)
        except OutOfStock as exc:
            return pf.Response.json({"error": str(exc)}, status=409)

    @app.http("/buy", methods=["POST"])
    def buy(req: pf.Request) -> None:
        raise OutOfStock("no more books")

    response = dispatch_http(app, http_request("POST", "/buy"), ctx("buy"))
    assert (response.status, json.loads(response.body)) == (409, {"error": "no more books"})


def test_an_event_middleware_failure_fails_that_message_alone() -> None:
    """A middleware that raises fails the message as the handler would: per message in a
    batch, the others still run."""
    app = pf.App("mw")
    ran: list[Any] = []

    @app.middleware("queue")
    def refuse_empty(e: pf.CloudEvent, c: pf.Context, call_next: Any) -> Any:
        if e.data is None:
            raise ValueError("empty message")
        return call_next(e, c)

    @app.queue("jobs")
    def job(e: pf.CloudEvent) -> None:
        ran.append(e.data)

    outcomes = dispatch_batch(
        app, "job", [lambda: event(1), lambda: event(None), lambda: event(3)], lambda i: ctx("job")
    )
    assert [o.ok for o in outcomes] == [True, False, True]
    assert ran == [1, 3]


def test_an_async_middleware_wraps_async_and_def_handlers_on_both_dispatch_paths() -> None:
    app = pf.App("mw")
    seen: list[str] = []

    @app.middleware
    async def timing(value: Any, c: pf.Context, call_next: Any) -> Any:
        await asyncio.sleep(0)
        result = await call_next(value, c)
        seen.append(f"{c.function_name}:{type(result).__name__}")
        return result

    @app.http("/a")
    async def a(req: pf.Request) -> dict[str, str]:
        return {"a": "async"}

    @app.http("/s")
    def s(req: pf.Request) -> dict[str, str]:
        return {"s": "sync"}

    @app.queue("jobs")
    def job(e: pf.CloudEvent) -> str:
        return "done"

    for path, answer in (("/a", {"a": "async"}), ("/s", {"s": "sync"})):
        response = dispatch_http(app, http_request("GET", path), ctx(path[1:]))
        assert json.loads(response.body) == answer
    assert asyncio.run(dispatch_http_async(app, http_request("GET", "/s"), ctx("s"))).status == 200
    assert dispatch_event(app, "job", event(), ctx("job")).ok
    assert asyncio.run(dispatch_event_async(app, "job", event(), ctx("job"))).ok
    assert seen == ["a:Response", "s:Response", "s:Response", "job:str", "job:str"]


def test_a_def_middleware_cannot_wrap_an_async_handler_whichever_comes_first() -> None:
    def plain(value: Any, c: pf.Context, call_next: Any) -> Any:
        return call_next(value, c)

    first = pf.App("mw")
    first.middleware(plain)
    with pytest.raises(ConfigurationError, match="make it async def") as caught:

        @first.queue("jobs")
        async def job(e: pf.CloudEvent) -> None: ...

    assert caught.value.function == "job"

    later = pf.App("mw")
    ran: list[str] = []

    @later.queue("jobs")
    def job(e: pf.CloudEvent) -> None: ...

    @later.http("/a")
    async def a(req: pf.Request) -> None: ...

    def noting(value: Any, c: pf.Context, call_next: Any) -> Any:
        ran.append(c.function_name)
        return call_next(value, c)

    with pytest.raises(ConfigurationError, match="cannot wait"):
        later.middleware(noting)
    # Refused whole: no function was changed, not even the def one it could wrap...
    assert dispatch_event(later, "job", event(), ctx("job")).ok and ran == []
    # ...and kinds that leave the async handler out are taken.
    assert later.middleware("queue")(noting) is noting
    assert dispatch_event(later, "job", event(), ctx("job")).ok and ran == ["job"]


@pytest.mark.parametrize(
    ("declare", "match"),
    [
        (lambda app: app.middleware(lambda value, ctx: None), "2 positional parameters"),
        (lambda app: app.middleware("sqs")(lambda v, c, n: n(v, c)), "kinds"),
        (lambda app: app.middleware("http")("not a function"), "not callable"),
    ],
)
def test_a_bad_middleware_is_refused_at_registration(declare: Any, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        declare(pf.App("mw"))


def test_a_route_added_with_middleware_routes_to_the_wrapped_function() -> None:
    """The router holds the composed functions: a request routed by path (no function named)
    runs the middleware too."""
    app = pf.App("mw")

    @app.http("/one")
    def one(req: pf.Request) -> str:
        return "1"

    app.middleware(lambda req, c, call_next: call_next(req, c).with_headers({"x-mw": "yes"}))

    @app.http("/two/{n}")
    def two(req: pf.Request) -> str:
        return req.path_params["n"]

    for path, text in (("/one", "1"), ("/two/2", "2")):
        response = dispatch_http(app, http_request("GET", path), ctx())
        assert (response.body.decode(), response.headers.get("x-mw")) == (text, "yes")


def test_a_def_middleware_outside_an_async_one_is_refused() -> None:
    """Inside an async middleware the call is awaitable whatever the handler is: a def
    middleware outside it would get a coroutine from call_next, not a Response."""
    app = pf.App("mw")

    @app.http("/s")
    def s(req: pf.Request) -> str:
        return "s"

    @app.middleware
    def outer(req: Any, c: pf.Context, call_next: Any) -> Any:
        return call_next(req, c)

    with pytest.raises(ConfigurationError, match="async def middleware inside it"):

        @app.middleware
        async def inner(req: Any, c: pf.Context, call_next: Any) -> Any:
            return await call_next(req, c)

    # Refused whole: the route still runs through the def middleware alone.
    assert dispatch_http(app, http_request("GET", "/s"), ctx("s")).body == b"s"


def test_a_def_middleware_around_a_hidden_coroutine_says_why_it_failed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An async handler under a decorator that is not async-aware looks like a def: the def
    middleware cannot wait for what it returns, and the 500's log line says what to do."""
    import functools

    def not_async_aware(handler: Any) -> Any:
        @functools.wraps(handler)
        def wrapper(req: Any) -> Any:
            return handler(req)

        return wrapper

    app = pf.App("mw")
    app.middleware(lambda req, c, call_next: call_next(req, c))

    @app.http("/hidden")
    @not_async_aware
    async def hidden(req: pf.Request) -> str:
        return "never"

    response = dispatch_http(app, http_request("GET", "/hidden"), ctx("hidden"))
    assert response.status == 500 and b"async" not in response.body  # no detail to the client
    assert "make the middleware async def" in capsys.readouterr().out


def test_an_http_middleware_that_returns_none_is_an_error_not_a_204(
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = pf.App("mw")

    @app.http("/orders", methods=["POST"])
    def create(req: pf.Request) -> pf.Response:
        return pf.Response.json({"ok": True}, status=201)

    @app.middleware("http")
    def audit(req: pf.Request, c: pf.Context, call_next: Any) -> None:
        call_next(req, c)  # the forgotten return

    response = dispatch_http(app, http_request("POST", "/orders"), ctx("create"))
    assert response.status == 500
    assert "audit returned None" in capsys.readouterr().out


def test_an_async_middleware_runs_a_def_handler_in_a_thread() -> None:
    """As the async runtimes run a def handler: off the event loop, so it neither blocks it
    nor finds one running (a handler calling asyncio.run, as sync code does)."""
    import threading

    app = pf.App("mw")
    where: list[str] = []

    @app.middleware
    async def timing(value: Any, c: pf.Context, call_next: Any) -> Any:
        where.append(threading.current_thread().name)
        return await call_next(value, c)

    @app.http("/price")
    def price(req: pf.Request) -> dict[str, int]:
        where.append(threading.current_thread().name)

        async def lookup() -> int:
            return 42

        return {"price": asyncio.run(lookup())}

    for dispatched in (
        dispatch_http(app, http_request("GET", "/price"), ctx("price")),
        asyncio.run(dispatch_http_async(app, http_request("GET", "/price"), ctx("price"))),
    ):
        assert (dispatched.status, json.loads(dispatched.body)) == (200, {"price": 42})
    assert where[0] != where[1] and where[2] != where[3]  # the handler ran elsewhere


def test_invoke_in_a_running_loop_names_an_async_middleware() -> None:
    from portable_fn.testing import invoke

    app = pf.App("mw")

    @app.queue("jobs")
    def job(e: pf.CloudEvent) -> None: ...

    @app.middleware("queue")
    async def around(e: Any, c: pf.Context, call_next: Any) -> Any:
        return await call_next(e, c)

    async def inside_a_loop() -> None:
        invoke(app, "job", event())

    with pytest.raises(RuntimeError, match="async middleware wraps it"):
        asyncio.run(inside_a_loop())


def test_callable_instances_and_partials_are_read_as_handlers_are() -> None:
    import functools

    class Timing:
        async def __call__(self, value: Any, c: pf.Context, call_next: Any) -> Any:
            return await call_next(value, c)

    async def tagged(tag: str, value: Any, c: pf.Context, call_next: Any) -> Any:
        return await call_next(value, c)

    app = pf.App("mw")

    @app.queue("jobs")
    async def job(e: pf.CloudEvent) -> None: ...

    # Both are async: they wrap the async handler (a def would be refused).
    app.middleware(Timing())
    app.middleware(functools.partial(tagged, "x"))
    assert dispatch_event(app, "job", event(), ctx("job")).ok
    with pytest.raises(ConfigurationError, match="cannot be called as mw"):
        app.middleware(functools.partial(tagged, "x", 1))


def test_more_bad_middleware() -> None:
    def generator(value: Any, c: pf.Context, call_next: Any) -> Any:
        yield call_next(value, c)

    app = pf.App("mw")
    with pytest.raises(ConfigurationError, match="4 positional"):
        app.middleware(lambda v, c, n, extra: n(v, c))
    with pytest.raises(ConfigurationError, match="generator"):
        app.middleware(generator)
    with pytest.raises(ConfigurationError, match="given apart"):
        app.middleware(["http", "queue"])(lambda v, c, n: n(v, c))  # type: ignore[arg-type]


def test_an_async_middleware_runs_a_def_handler_in_the_runtimes_own_pool(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Where the async runtime offers its pool (``offload``: dev counts its handlers there, and
    waits for them at shutdown), a def handler under an async middleware runs in it, not in
    asyncio's default executor. The function's call is awaitable (``is_async``), so dispatch
    awaits it directly: a handler's failure is logged without a TypeError chained before it."""
    import concurrent.futures
    import threading

    app = pf.App("mw")
    where: list[str] = []

    @app.middleware
    async def passing(value: Any, c: pf.Context, call_next: Any) -> Any:
        return await call_next(value, c)

    @app.http("/s")
    def s(req: pf.Request) -> str:
        where.append(threading.current_thread().name)
        if req.query.get("fail"):
            raise ValueError("kaboom")
        return "s"

    assert app.function("s").is_async  # its call returns an awaitable
    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="runtime-pool")

    async def offload(thunk: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(pool, thunk)

    try:
        ok = asyncio.run(dispatch_http_async(app, http_request("GET", "/s"), ctx("s"),
                                             offload=offload))
        failed = asyncio.run(dispatch_http_async(
            app, http_request("GET", "/s", query={"fail": "1"}), ctx("s"), offload=offload))
    finally:
        pool.shutdown()
    assert (ok.status, failed.status) == (200, 500)
    assert [name.startswith("runtime-pool") for name in where] == [True, True]
    logged = capsys.readouterr().out
    assert "kaboom" in logged and "During handling" not in logged
