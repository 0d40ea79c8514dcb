"""Validated parameters: a dataclass, TypedDict or pydantic model as the handler's first
parameter gets ``event.data`` / the JSON body converted, or a 422 with field errors (events:
a failure that is not retried). In-process through the real dispatcher; the dead-lettering of
an invalid event runs through the real ``portable-fn dev``.
"""

from __future__ import annotations

import datetime
import enum
import json
import subprocess
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

import pydantic
import pytest
from pydantic import v1 as pydantic_v1

import portable_fn as pf
from portable_fn.adapter import Context, dispatch_event, dispatch_http
from portable_fn.errors import ConfigurationError, UnprocessableEntity
from portable_fn.events import CloudEvent, to_json
from portable_fn.http import Headers, Request

from ..local.devserver import DevServer
from .conftest import effect_lines


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True)
class Line:
    sku: str
    qty: int = 1


@dataclass(frozen=True)
class Order:
    id: str
    lines: list[Line]
    colour: Colour = Colour.RED
    placed: datetime.datetime | None = None
    kind: Literal["web", "shop"] = "web"
    tags: dict[str, float] = field(default_factory=dict)
    note: str | None = None

    def __post_init__(self) -> None:
        if not self.lines:
            raise ValueError("an order needs at least one line")


class Refund(TypedDict, total=False):
    order: str
    amount: float


class Payment(pydantic.BaseModel):
    order: str
    amount: float = pydantic.Field(gt=0)


def ctx(name: str) -> Context:
    return Context(provider="test", function_name=name, invocation_id="1")


def run_event(app: pf.App, name: str, data: Any, type: str = "t") -> Any:
    event = CloudEvent.create(type=type, source="/s", data=data)
    return dispatch_event(app, name, event, ctx(name))


def test_a_dataclass_parameter_gets_converted_data() -> None:
    app = pf.App("v")
    got: list[Order] = []

    @app.queue("orders")
    def take(order: Order, context: pf.Context) -> None:
        assert context.function_name == "take"
        got.append(order)

    data = {
        "id": "o1",
        "lines": [{"sku": "a"}, {"sku": "b", "qty": 3}],
        "colour": "blue",
        "placed": "2026-11-23T10:00:00Z",
        "tags": {"w": 2},
        "unknown": "ignored",
    }
    assert run_event(app, "take", data).ok
    assert got == [
        Order(
            id="o1",
            lines=[Line("a"), Line("b", 3)],
            colour=Colour.BLUE,
            placed=datetime.datetime(2026, 11, 23, 10, tzinfo=datetime.timezone.utc),
            tags={"w": 2.0},
        )
    ]


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"lines": []}, [("id",), "missing"]),
        ({"id": 1, "lines": [{"sku": "a"}]}, [("id",), "str_type"]),
        ({"id": "x", "lines": [{"qty": True}]}, [("lines", 0, "sku"), "missing"]),
        ({"id": "x", "lines": [{"sku": "a"}], "colour": "green"}, [("colour",), "enum"]),
        ({"id": "x", "lines": [{"sku": "a"}], "kind": "fax"}, [("kind",), "literal_error"]),
        ({"id": "x", "lines": [{"sku": "a"}], "placed": "noon"}, [("placed",), "union_type"]),
        ({"id": "x", "lines": "a"}, [("lines",), "list_type"]),
        ({"id": "x", "lines": []}, [(), "value_error"]),
        ([1, 2], [(), "model_type"]),
        ("not json", [("data",), "json_invalid"]),
    ],
)
def test_invalid_event_data_fails_for_good_with_field_errors(
    data: Any, errors: list[Any]
) -> None:
    app = pf.App("v")

    @app.queue("orders")
    def take(order: Order) -> None:
        raise AssertionError("never called with invalid data")

    outcome = run_event(app, "take", data)
    assert not outcome.ok and not outcome.retryable
    assert isinstance(outcome.error, UnprocessableEntity)
    loc, kind = errors
    assert {"loc": list(loc), "type": kind} in [
        {"loc": e["loc"], "type": e["type"]} for e in outcome.error.errors
    ]


def test_typeddict_and_pydantic_models() -> None:
    app = pf.App("v")
    got: list[Any] = []

    @app.topic("refunds")
    def refund(body: Refund) -> None:
        got.append(body)

    @app.event("payment.made")
    def payment(body: Payment) -> None:
        got.append(body)

    assert run_event(app, "refund", {"order": "o", "amount": 5}).ok
    assert run_event(app, "payment", {"order": "o", "amount": 5}, "payment.made").ok
    assert got == [{"order": "o", "amount": 5.0}, Payment(order="o", amount=5.0)]
    bad = run_event(app, "payment", {"order": "o", "amount": -1}, "payment.made")
    assert not bad.retryable and bad.error.errors[0]["loc"] == ["amount"]  # type: ignore[union-attr]
    assert run_event(app, "refund", {"amount": "x"}).error.errors == [  # type: ignore[union-attr]
        {"loc": ["amount"], "msg": "must be float", "type": "float_type"}
    ]


def test_http_bodies_are_validated_422_or_400() -> None:
    app = pf.App("v")

    @app.http("/orders", methods=["POST"])
    def create(order: Order) -> dict[str, Any]:
        return {"id": order.id, "lines": len(order.lines)}

    def post(body: bytes) -> Any:
        request = Request(method="POST", path="/orders", body=body,
                          headers=Headers({"content-type": "application/json"}))
        return dispatch_http(app, request, ctx("create"))

    ok = post(b'{"id": "o", "lines": [{"sku": "a"}]}')
    assert (ok.status, json.loads(ok.body)) == (200, {"id": "o", "lines": 1})
    bad = post(b'{"id": 5, "lines": [{}]}')
    assert bad.status == 422
    assert json.loads(bad.body)["error"]["errors"] == [
        {"loc": ["id"], "msg": "must be str", "type": "str_type"},
        {"loc": ["lines", 0, "sku"], "msg": "field required", "type": "missing"},
    ]
    assert post(b"<xml/>").status == 400
    assert b"Traceback" not in bad.body


def test_a_validated_http_handler_reads_its_request_through_ctx() -> None:
    # The body becomes the model; path parameters, query and headers are still the request's.
    app = pf.App("v")

    @app.http("/orders/{order_id}", methods=["PUT"])
    def replace(order: Order, ctx: pf.Context) -> dict[str, Any]:
        req = ctx.request
        assert req is not None
        return {"id": order.id, "path_id": req.path_params["order_id"],
                "tag": req.headers.get("x-tag")}

    @app.queue("jobs")
    def job(order: Order, ctx: pf.Context) -> None:
        assert ctx.request is None  # an event has no request

    body = b'{"id": "o", "lines": [{"sku": "a"}]}'
    request = Request(method="PUT", path="/orders/o-7", body=body,
                      headers=Headers({"content-type": "application/json", "x-tag": "t"}))
    response = dispatch_http(app, request, ctx("replace"))
    assert (response.status, json.loads(response.body)) == (
        200, {"id": "o", "path_id": "o-7", "tag": "t"}
    )
    assert run_event(app, "job", body).ok
    assert ctx("replace").request is None  # outside a dispatch


def test_a_validated_event_handler_reads_its_event_through_ctx() -> None:
    """The data becomes the model; the event's id, source and extensions (a FIFO group's
    partitionkey, a stream's sequence) are still the event's, through ``ctx.event``, as an
    HTTP handler's request is through ``ctx.request``."""
    app = pf.App("v")
    seen: list[tuple[str, str, Any]] = []

    @app.queue("jobs")
    def job(order: Order, ctx: pf.Context) -> None:
        event = ctx.event
        assert event is not None and ctx.request is None
        seen.append((order.id, event.id, event.extensions.get("partitionkey")))

    @app.http("/orders", methods=["POST"])
    def create(order: Order, ctx: pf.Context) -> dict[str, Any]:
        assert ctx.event is None  # a request has no event
        return {"id": order.id}

    event = CloudEvent.create(type="t", source="/s", data={"id": "o", "lines": [{"sku": "a"}]},
                              extensions={"partitionkey": "customer-7"})
    assert dispatch_event(app, "job", event, ctx("job")).ok
    assert seen == [("o", event.id, "customer-7")]
    body = b'{"id": "o", "lines": [{"sku": "a"}]}'
    request = Request(method="POST", path="/orders", body=body,
                      headers=Headers({"content-type": "application/json"}))
    assert dispatch_http(app, request, ctx("create")).status == 200
    assert ctx("job").event is None  # outside a dispatch


def test_request_and_cloudevent_annotations_are_left_alone() -> None:
    app = pf.App("v")

    @app.http("/a")
    def plain(req: pf.Request) -> str:
        return req.path

    @app.queue("jobs")
    def raw(event: pf.CloudEvent) -> None:
        assert isinstance(event, CloudEvent)

    assert app.function("plain").call.__name__ != "validated_http"
    assert run_event(app, "raw", b"\x00 not json").ok


def test_a_model_defined_below_the_handler_resolves_on_first_call() -> None:
    app = pf.App("v")
    got: list[Any] = []

    @app.queue("jobs")
    def late(item: LateItem) -> None:
        got.append(item)

    assert run_event(app, "late", {"name": "x"}).ok
    assert got == [LateItem(name="x")]


@dataclass
class LateItem:
    name: str


def test_an_unresolvable_annotation_fails_loudly() -> None:
    app = pf.App("v")

    @app.queue("jobs")
    def broken(item: NoSuchModel) -> None:  # type: ignore[name-defined]  # noqa: F821
        raise AssertionError

    outcome = run_event(app, "broken", {})
    assert isinstance(outcome.error, ConfigurationError)


def test_async_handlers_get_the_model_too() -> None:
    app = pf.App("v")
    got: list[Line] = []

    @app.queue("jobs")
    async def take(line: Line) -> None:
        got.append(line)

    assert run_event(app, "take", {"sku": "z"}).ok
    assert got == [Line("z")]


def test_pydantic_and_typing_machinery_load_only_when_used() -> None:
    probe = (
        "import sys, portable_fn as pf\n"
        "from dataclasses import dataclass\n"
        "app = pf.App('probe')\n"
        "@dataclass\n"
        "class M:\n    x: int\n"
        "@app.queue('jobs')\n"
        "def h(m: M) -> None: pass\n"
        "print('pydantic' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


def test_plain_handlers_never_load_the_validation_module() -> None:
    probe = (
        "from __future__ import annotations\n"
        "import sys, portable_fn as pf\n"
        "app = pf.App('probe')\n"
        "@app.http('/a')\n"
        "def a(req: pf.Request) -> str: return ''\n"
        "@app.queue('jobs')\n"
        "def b(event: pf.CloudEvent, ctx: pf.Context) -> None: pass\n"
        "@app.queue('more')\n"
        "def c(event): pass\n"
        "print('portable_fn._validation' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


def test_invalid_event_goes_to_the_dead_letter_queue_at_once(
    dev: Callable[..., DevServer], effects: dict[str, str]
) -> None:
    server = dev(env=effects)
    good = CloudEvent.create(type="t", source="/s", data={"sku": "ok", "qty": 2})
    bad = CloudEvent.create(type="t", source="/s", data={"sku": 42})
    for event in (good, bad):
        status, _, _ = server.request(
            "POST", "/_pf/queues/validated", to_json(event),
            {"content-type": "application/cloudevents+json"},
        )
        assert status == 202
    dead = server.wait_for(
        lambda r: r.get("event") == "invocation" and r.get("outcome") == "dead", timeout=15
    )
    assert (dead["id"], dead["attempt"], dead["non_retryable"]) == (bad.id, 1, True)
    assert "UnprocessableEntity" in dead["error"]
    server.wait_for(lambda r: r.get("event") == "invocation" and r.get("outcome") == "ok")
    assert [row[1:] for row in effect_lines(effects, "validated")] == [["ok", "2"]]


class Legacy(pydantic_v1.BaseModel):
    n: int


def test_a_pydantic_v1_model_fails_for_good_with_field_errors() -> None:
    # pydantic 2's ``pydantic.v1`` raises its own ValidationError class: it was a retried
    # failure (and an HTTP 500) instead of a dead-lettered one (and a 422).
    app = pf.App("v")
    got: list[Any] = []

    @app.queue("jobs")
    def take(m: Legacy) -> None:
        got.append(m)

    @app.http("/legacy", methods=["POST"])
    def post(m: Legacy) -> dict[str, Any]:
        return {"n": m.n}

    assert run_event(app, "take", {"n": "1"}).ok and got == [Legacy(n=1)]
    bad = run_event(app, "take", {"n": "x"})
    assert not bad.ok and not bad.retryable
    assert isinstance(bad.error, UnprocessableEntity) and bad.error.errors[0]["loc"] == ["n"]
    request = Request(method="POST", path="/legacy", body=b'{"n": "x"}')
    response = dispatch_http(app, request, ctx("post"))
    assert response.status == 422
    assert json.loads(response.body)["error"]["errors"][0]["loc"] == ["n"]


GENERIC_HANDLERS = """
import datetime
from typing import Annotated
import pydantic
import portable_fn as pf

app = pf.App("generic")
got = []
{model_above}
@app.queue("maybe")
def maybe(m: Stamp | None) -> None:
    got.append(m)

@app.queue("many")
def many(ms: list[Stamp], ctx: pf.Context) -> None:
    got.append(ms)

@app.queue("noted")
def noted(m: Annotated[Stamp, "note"]) -> None:
    got.append(m)
{model_below}
"""
STAMP = "class Stamp(pydantic.BaseModel):\n    placed: datetime.datetime\n"


@pytest.mark.parametrize("postponed", [False, True], ids=["model-above", "model-below"])
def test_optional_list_and_annotated_models_are_validated(
    postponed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ``Model | None``, ``list[Model]``, ``Annotated[Model, ...]``: the handler got the raw
    # CloudEvent when the model was defined above it, and a retried TypeError when it was
    # defined below it (under postponed annotations).
    source = GENERIC_HANDLERS.format(
        model_above="" if postponed else STAMP, model_below=STAMP if postponed else ""
    )
    if postponed:
        source = "from __future__ import annotations\n" + source
    module = types.ModuleType("generic_handlers")
    monkeypatch.setitem(sys.modules, module.__name__, module)  # where pydantic looks names up
    exec(compile(source, module.__name__, "exec"), vars(module))
    app, got, stamp = module.app, module.got, module.Stamp
    when = "2026-11-23T10:00:00Z"
    placed = datetime.datetime(2026, 11, 23, 10, tzinfo=datetime.timezone.utc)
    assert run_event(app, "maybe", {"placed": when}).ok
    assert run_event(app, "maybe", None).ok
    assert run_event(app, "many", [{"placed": when}]).ok
    assert run_event(app, "noted", {"placed": when}).ok
    assert got == [stamp(placed=placed), None, [stamp(placed=placed)], stamp(placed=placed)]
    bad = run_event(app, "many", [{"placed": when}, {"placed": "noon"}])
    assert isinstance(bad.error, UnprocessableEntity) and not bad.retryable
    assert [e["loc"] for e in bad.error.errors] == [[1, "placed"]]


def test_a_list_body_is_validated_item_by_item() -> None:
    app = pf.App("v")

    @app.http("/lines", methods=["POST"])
    def add(lines: list[Line]) -> dict[str, Any]:
        return {"skus": [line.sku for line in lines]}

    def post(body: bytes) -> Any:
        return dispatch_http(app, Request(method="POST", path="/lines", body=body), ctx("add"))

    ok = post(b'[{"sku": "a"}, {"sku": "b", "qty": 2}]')
    assert (ok.status, json.loads(ok.body)) == (200, {"skus": ["a", "b"]})
    bad = post(b'[{"sku": "a"}, {"qty": 2}]')
    assert bad.status == 422
    assert json.loads(bad.body)["error"]["errors"] == [
        {"loc": [1, "sku"], "msg": "field required", "type": "missing"}
    ]


class Size(enum.Enum):
    S = "s"
    M = "m"


class StrictOrder(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(strict=True, extra="forbid")
    qty: int
    size: Size
    placed: datetime.datetime


def test_a_strict_model_takes_json_datetimes_and_enum_values() -> None:
    # Strict mode refuses a datetime string or an enum value in Python mode, and JSON has no
    # other way to write them: every event was dead-lettered. Validated as the JSON it is.
    app = pf.App("v")
    got: list[StrictOrder] = []

    @app.queue("orders")
    def take(order: StrictOrder) -> None:
        got.append(order)

    data = {"qty": 2, "size": "m", "placed": "2026-11-23T10:00:00Z"}
    assert run_event(app, "take", data).ok
    assert got[0].size is Size.M and got[0].placed.tzinfo is not None
    for wrong, loc in (({**data, "qty": "2"}, "qty"), ({**data, "extra": 1}, "extra")):
        outcome = run_event(app, "take", wrong)
        assert isinstance(outcome.error, UnprocessableEntity) and not outcome.retryable
        assert outcome.error.errors[0]["loc"] == [loc]


def test_the_failure_names_the_fields_at_fault(capsys: pytest.CaptureFixture[str]) -> None:
    # The one log line of a dead-lettered event is all an operator has: it says which fields.
    app = pf.App("v")

    @app.queue("orders")
    def take(order: Order) -> None:
        raise AssertionError

    outcome = run_event(app, "take", {"id": 5, "lines": [{}, {}, {}]})
    assert str(outcome.error) == (
        "invalid Order: id: must be str; lines.0.sku: field required; "
        "lines.1.sku: field required; and 1 more"
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    (failed,) = [line for line in lines if line["message"].startswith("event handler failed")]
    assert failed["error"] == str(outcome.error) and failed["message"].endswith("(not retryable)")


def test_a_handler_under_a_wrapping_decorator_keeps_its_model() -> None:
    """``functools.wraps`` copies the handler's annotations onto the wrapper and points
    ``__wrapped__`` at it so that introspection sees the handler's own signature
    (https://docs.python.org/3/library/functools.html#functools.update_wrapper, as
    ``inspect.signature`` follows it). A logging or metrics decorator whose wrapper takes the
    event must not leave ``order: Line`` a raw CloudEvent."""
    import functools

    def logged(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        @functools.wraps(fn)
        def wrapper(event: Any) -> Any:
            return fn(event)

        return wrapper

    app = pf.App("wrapped")
    seen: list[Any] = []

    @app.queue("lines")
    @logged
    def line(order: Line) -> None:
        seen.append(order)

    assert run_event(app, "line", {"sku": "a", "qty": 2}).ok
    assert seen == [Line(sku="a", qty=2)]
    invalid = run_event(app, "line", {"qty": "many"})
    assert not invalid.ok and not invalid.retryable
