"""App registration: decorators return the function unchanged and validate at decoration time."""

from __future__ import annotations

import functools
from typing import Any

import pytest

import portable_fn as pf
from portable_fn.errors import ConfigurationError, FunctionNotFoundError
from portable_fn.triggers import (
    Event,
    Http,
    Limits,
    Queue,
    Schedule,
    Storage,
    Stream,
    Topic,
)


def test_decorators_return_the_function_and_register_each_trigger() -> None:
    app = pf.App("shop")

    def get_order(req: pf.Request) -> dict[str, str]:
        return {"id": req.path_params["order_id"]}

    assert app.http("/orders/{order_id}")(get_order) is get_order

    @app.queue("thumbnails", max_retries=5, dead_letter="thumbnails-dlq")
    async def thumb(event: pf.CloudEvent, ctx: pf.Context) -> None: ...

    @app.topic("order-events")
    def notify(event: pf.CloudEvent) -> None: ...

    @app.storage("uploads", on=("created", "deleted"), prefix="in/")
    def upload(event: pf.CloudEvent) -> None: ...

    @app.schedule("rate(1 day)")
    def nightly(event: pf.CloudEvent) -> None: ...

    @app.schedule(cron="0 3 * * MON-FRI")
    def weekdays(event: pf.CloudEvent) -> None: ...

    @app.event("com.example.invoice.*", source="/billing")
    def paid(event: pf.CloudEvent) -> None: ...

    @app.stream("clicks", batch_size=50)
    def clicks(event: pf.CloudEvent) -> None: ...

    fns = app.functions
    assert list(fns) == [
        "get_order", "thumb", "notify", "upload", "nightly", "weekdays", "paid", "clicks"
    ]
    assert isinstance(fns["get_order"].trigger, Http)
    queue = fns["thumb"].trigger
    assert isinstance(queue, Queue) and queue.retry.max_retries == 5
    assert queue.dead_letter_name == "thumbnails-dlq"
    assert fns["thumb"].is_async and fns["thumb"].takes_context
    assert not fns["notify"].is_async and not fns["notify"].takes_context
    assert isinstance(fns["notify"].trigger, Topic)
    storage = fns["upload"].trigger
    assert isinstance(storage, Storage) and storage.accepts("in/a.png", "deleted")
    assert not storage.accepts("out/a.png", "created")
    assert isinstance(fns["nightly"].trigger, Schedule) and fns["nightly"].trigger.rate
    assert isinstance(fns["weekdays"].trigger, Schedule) and fns["weekdays"].trigger.cron
    event_trigger = fns["paid"].trigger
    assert isinstance(event_trigger, Event)
    assert event_trigger.matches("com.example.invoice.paid", "/billing")
    assert not event_trigger.matches("com.example.invoice.paid", "/other")
    assert isinstance(fns["clicks"].trigger, Stream)
    assert Queue(name="abc").dead_letter_name == "abc-dlq"


def test_two_apps_do_not_share_registries() -> None:
    one, two = pf.App("one"), pf.App("two")

    @one.http("/x")
    def x(req: pf.Request) -> str:
        return "x"

    assert "x" in one.functions and "x" not in two.functions
    with pytest.raises(FunctionNotFoundError):
        two.function("x")


def handler(event: Any) -> None: ...


BAD_DECLARATIONS = {
    "route without slash": lambda app: app.http("orders")(handler),
    "route with empty segment": lambda app: app.http("/a//b")(handler),
    "route with broken brace": lambda app: app.http("/a/{id")(handler),
    "repeated route param": lambda app: app.http("/a/{id}/{id}")(handler),
    "greedy param not last": lambda app: app.http("/a/{rest+}/b")(handler),
    "unknown method": lambda app: app.http("/a", methods=["FETCH"])(handler),
    "bad rate": lambda app: app.schedule("rate(0 minutes)")(handler),
    "rate in weeks": lambda app: app.schedule("rate(1 week)")(handler),
    "bad cron field": lambda app: app.schedule(cron="61 * * * *")(handler),
    "cron with 6 fields": lambda app: app.schedule(cron="0 0 3 * * *")(handler),
    "both rate and cron": lambda app: app.schedule("rate(1 day)", cron="0 3 * * *")(handler),
    "queue name": lambda app: app.queue("Bad_Name")(handler),
    "queue is its own dlq": lambda app: app.queue("jobs", dead_letter="jobs")(handler),
    "negative retries": lambda app: app.queue("jobs", max_retries=-1)(handler),
    "batch size": lambda app: app.queue("jobs", batch_size=0)(handler),
    "storage action": lambda app: app.storage("uploads", on=("modified",))(handler),
    "bucket name": lambda app: app.storage("Up")(handler),
    "event type": lambda app: app.event("")(handler),
    "event type with a space at its end": lambda app: app.event("Object Created ")(handler),
    "event type with a space first": lambda app: app.event(" Object*")(handler),
    "function name": lambda app: app.topic("orders", name="not valid")(handler),
    "retry and max_retries": lambda app: app.queue(
        "jobs", max_retries=2, retry=pf.Retry(max_retries=3)
    )(handler),
    "backoff": lambda app: app.queue("jobs", retry=pf.Retry(initial_backoff=0))(handler),
    "max_retries as bool": lambda app: app.queue("jobs", retry=pf.Retry(max_retries=True)),
    "infinite backoff": lambda app: app.queue(
        "jobs", retry=pf.Retry(initial_backoff=float("inf"), max_backoff=float("inf"))
    ),
    "backoff as text": lambda app: app.queue("jobs", retry=pf.Retry(max_backoff="60")),  # type: ignore[arg-type]
    "zero timeout": lambda app: app.queue("jobs", timeout=0)(handler),
    "fractional timeout": lambda app: app.http("/a", timeout=1.5)(handler),  # type: ignore[arg-type]
    "timeout as text": lambda app: app.topic("orders", timeout="30")(handler),  # type: ignore[arg-type]
    "timeout as bool": lambda app: app.schedule("rate(1 day)", timeout=True)(handler),
    "memory under 128 MB": lambda app: app.storage("uploads", memory=64)(handler),
    "app timeout": lambda app: pf.App("shop", timeout=-5),
    "app memory": lambda app: pf.App("shop", memory=100),
}


@pytest.mark.parametrize(
    ("pattern", "matched", "missed"),
    [
        # AWS detail-types are words with spaces (EventBridge's events reference).
        ("EC2 Instance State-change Notification", "EC2 Instance State-change Notification",
         "EC2 Instance State-change"),
        ("Object *", "Object Restore Completed", "ObjectCreated"),
        ("com.example.order.*", "com.example.order.created", "com.example.orders"),
    ],
)
def test_event_types_with_spaces_match_as_written(pattern: str, matched: str, missed: str) -> None:
    app = pf.App("bus")
    app.event(pattern)(handler)
    trigger = app.function("handler").trigger
    assert isinstance(trigger, Event)
    assert trigger.matches(matched) and not trigger.matches(missed)


@pytest.mark.parametrize("declare", BAD_DECLARATIONS.values(), ids=list(BAD_DECLARATIONS))
def test_misconfiguration_raises_at_decoration_time(declare: Any) -> None:
    with pytest.raises(ConfigurationError):
        declare(pf.App("shop"))


def test_duplicate_names_and_routes() -> None:
    app = pf.App("shop")
    app.topic("orders")(handler)
    with pytest.raises(ConfigurationError, match="already registered"):
        app.queue("orders")(handler)

    @app.http("/a", methods=["GET"])
    def a(req: Any) -> None: ...

    with pytest.raises(ConfigurationError, match="already taken"):
        app.http("/a", methods=["GET", "POST"], name="b")(handler)
    app.http("/a", methods=["POST"], name="c")(handler)


IMPOSSIBLE = {
    "no parameters": lambda: None,
    "three required": lambda a, b, c: None,
    "required keyword-only": lambda a, *, b: None,
}


@pytest.mark.parametrize("fn", IMPOSSIBLE.values(), ids=list(IMPOSSIBLE))
def test_handler_with_an_impossible_signature(fn: Any) -> None:
    with pytest.raises(ConfigurationError, match="handler"):
        pf.App("shop").topic("orders", name="h")(fn)


POSSIBLE = {
    "event": (lambda e: None, False),
    "event and ctx": (lambda e, c: None, True),
    "ctx defaulted": (lambda e, c=None: None, True),
    "varargs": (lambda *a: None, True),
    "keyword-only defaulted": (lambda e, *, x=1: None, False),
    "partial": (functools.partial(lambda x, e, c: None, 1), True),
}


def _passing_on(fn: Any) -> Any:
    """A decorator as users write one: ``functools.wraps`` over ``(*args, **kwargs)``."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    return wrapper


def _event_only(event: Any) -> None: ...


def _event_and_ctx(event: Any, ctx: Any) -> None: ...


def _injecting(fn: Any) -> Any:
    """A decorator that supplies a keyword-only argument of the handler it wraps (a client,
    a session): the handler's own signature is not what the wrapper is called with."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, db="db", **kwargs)

    return wrapper


def _event_ctx_db(event: Any, ctx: Any, *, db: str) -> None:
    assert db == "db"


def _event_db(event: Any, *, db: str) -> None:
    assert db == "db"


POSSIBLE["wrapped, event only"] = (_passing_on(_passing_on(_event_only)), False)
POSSIBLE["wrapped, event and ctx"] = (_passing_on(_event_and_ctx), True)
POSSIBLE["wrapped, keyword supplied by the wrapper"] = (_injecting(_event_ctx_db), True)
POSSIBLE["wrapped, event and keyword"] = (_injecting(_event_db), False)


@pytest.mark.parametrize(("fn", "takes_context"), POSSIBLE.values(), ids=list(POSSIBLE))
def test_handler_signatures_that_work(fn: Any, takes_context: bool) -> None:
    app = pf.App("shop")
    app.topic("orders", name="h")(fn)
    assert app.function("h").takes_context is takes_context
    # Called as declared: a wrapper passes what it gets on to the handler it wraps.
    from portable_fn.testing import invoke

    outcome = invoke(app, "h", pf.CloudEvent(id="1", type="t", source="/s", data={}))
    assert outcome.ok, outcome.error


def test_bound_methods_and_callable_objects() -> None:
    class Handlers:
        def on(self, event: Any, ctx: Any) -> None: ...

        async def __call__(self, event: Any) -> None: ...

    app = pf.App("shop")
    app.topic("orders", name="m")(Handlers().on)
    app.topic("orders", name="c")(Handlers())
    assert app.function("m").takes_context
    assert app.function("c").is_async and not app.function("c").takes_context


def test_app_name_is_checked() -> None:
    with pytest.raises(ConfigurationError):
        pf.App("Shop App")
    # '--' separates the app's name from the rest of a made-up resource name (Cloudflare's
    # <app>--<topic>--<function>): "a--b" + "c" and "a" + "b--c" would meet.
    with pytest.raises(ConfigurationError, match="single '-'"):
        pf.App("shop--eu")
    assert pf.App("shop-eu").name == "shop-eu"


class _Greeting:
    """A plain class, as functions-framework's ``@typed`` takes (from_dict/to_dict): no model."""

    def __init__(self, name: str) -> None:
        self.name = name


@pytest.mark.parametrize("annotation", [str, int, dict, _Greeting, "str", "_Greeting"])
@pytest.mark.parametrize("kind", ["http", "queue"])
def test_a_first_parameter_annotated_with_what_it_will_not_get_is_refused(
    annotation: Any, kind: str
) -> None:
    """``def get(order_id: str)`` (path parameters as arguments: Powertools, Flask, FastAPI) got
    the Request, and failed at run time far from the cause ("Object of type Request is not
    JSON serializable"); a functions-framework ``@typed`` class was ignored alike. A first
    parameter's annotation is the Request/CloudEvent (or what they are), or a model."""
    app = pf.App("sig")

    def handler(value):  # type: ignore[no-untyped-def]
        return value

    handler.__annotations__ = {"value": annotation}
    declare = app.http("/orders/{order_id}") if kind == "http" else app.queue("orders")
    expected = "pf.Request" if kind == "http" else "pf.CloudEvent"
    with pytest.raises(ConfigurationError, match=f"gets the {expected}"):
        declare(handler)


@pytest.mark.parametrize("annotation", [object, Any, "Any", pf.Request, "pf.Request"])
def test_first_parameter_annotations_that_name_what_it_gets_are_taken(annotation: Any) -> None:
    app = pf.App("sig")

    def handler(value):  # type: ignore[no-untyped-def]
        return "ok"

    handler.__annotations__ = {"value": annotation}
    assert app.http("/x")(handler) is handler


def test_an_http_handler_parameter_named_like_a_path_parameter_is_refused() -> None:
    """Chalice passes path parameters as arguments (``def get_order(order_id)``); here the
    first parameter is the Request whatever its name: a handler naming it after a path
    parameter would treat the Request as the id."""
    app = pf.App("sig")
    with pytest.raises(ConfigurationError, match=r"req\.path_params\['order_id'\]"):

        @app.http("/orders/{order_id}")
        def get_order(order_id):  # type: ignore[no-untyped-def]
            return order_id

    @app.http("/orders/{order_id}/lines")
    def lines(req):  # type: ignore[no-untyped-def]
        return req.path_params["order_id"]


def test_a_bad_function_name_says_name_only_when_the_handler_gave_it() -> None:
    app = pf.App("names")
    with pytest.raises(ConfigurationError, match=r"'<lambda>'.*\(pass name=\.\.\.\)"):
        app.queue("jobs")(lambda event: None)
    with pytest.raises(ConfigurationError) as given:
        app.topic("order-events", name="notify-sub")(lambda event: None)
    assert "'notify-sub'" in str(given.value) and "pass name=" not in str(given.value)


def test_an_app_sets_every_route_s_default_auth() -> None:
    """Chalice routes are open unless they ask for an authorizer, Azure's FunctionApp takes
    ``http_auth_level`` for all of its routes: ``App(auth=)`` is every route's default."""
    app = pf.App("open", auth="anonymous")

    @app.http("/public")
    def public(req: pf.Request) -> str:
        return "ok"

    @app.http("/private", auth="function")
    def private(req: pf.Request) -> str:
        return "ok"

    auths = {name: fn.trigger.auth for name, fn in app.functions.items()}  # type: ignore[union-attr]
    assert auths == {"public": "anonymous", "private": "function"}
    assert pf.App("closed").http("/x")(public) is public
    with pytest.raises(ConfigurationError, match="auth must be"):
        pf.App("bad", auth="none")  # type: ignore[arg-type]


def test_limits_are_the_functions_own_over_the_apps() -> None:
    """``timeout``/``memory`` on a decorator win over ``App(timeout=, memory=)``; what neither
    gives stays None (the provider's default, which each target writes)."""
    app = pf.App("shop", timeout=60)
    app.queue("jobs", memory=1024)(handler)
    app.http("/a", timeout=10, name="route")(handler)
    app.schedule("rate(1 day)", name="nightly")(handler)
    assert app.function("handler").limits == Limits(timeout=60, memory=1024)
    assert app.function("route").limits == Limits(timeout=10, memory=None)
    assert app.function("nightly").limits == Limits(timeout=60, memory=None)
    plain = pf.App("plain")
    plain.topic("orders")(handler)
    assert plain.function("handler").limits == Limits()


def test_a_bad_limit_names_its_function() -> None:
    with pytest.raises(ConfigurationError, match="timeout must be a whole number") as caught:
        pf.App("shop").event("com.example.x", timeout=0, name="paid")(handler)
    assert caught.value.function == "paid"


def test_invoke_gives_a_handler_its_declared_deadline() -> None:
    """``pf.testing.invoke`` (and ``portable-fn invoke`` without a provider) hands the handler
    the deadline its declared timeout sets, as Lambda and dev do; none declared, none."""
    from portable_fn.events import CloudEvent
    from portable_fn.testing import invoke

    app = pf.App("deadlines")
    left: dict[str, float | None] = {}

    @app.queue("jobs", timeout=90)
    def timed(event: pf.CloudEvent, ctx: pf.Context) -> None:
        left["timed"] = ctx.remaining_time

    @app.queue("other")
    def plain(event: pf.CloudEvent, ctx: pf.Context) -> None:
        left["plain"] = ctx.remaining_time

    for name in ("timed", "plain"):
        assert invoke(app, name, CloudEvent(id="1", source="/t", type="t")).ok
    assert left["plain"] is None
    assert left["timed"] is not None and 80 < left["timed"] <= 90
