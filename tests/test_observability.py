"""Structured logs, trace propagation, optional OpenTelemetry spans and metrics (issue 8)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

import portable_fn as pf
from portable_fn import _observe, _trace
from portable_fn.adapter import dispatch_event, dispatch_http
from portable_fn.testing import RecordingPublisher, http_request

TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
LOG_FIELDS = {"level", "severity", "message", "timestamp", "function", "provider",
              "invocation_id", "cold_start", "correlation_id", "trace_id"}


def ctx(name: str, provider: str = "test", traceparent: str | None = None) -> pf.Context:
    return pf.Context(provider=provider, function_name=name, invocation_id=f"inv-{name}",
                      traceparent=traceparent)


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]


@pytest.fixture
def app() -> pf.App:
    app = pf.App("obs")
    app.use_publisher(RecordingPublisher())

    @app.http("/orders", methods=["POST"])
    def create(req: pf.Request, c: pf.Context) -> dict[str, str]:
        c.logger.info("creating", sku="a")
        pf.publish("orders", {"sku": "a"})
        return {}

    @app.topic("orders")
    def on_order(event: pf.CloudEvent) -> None:
        pf.logger.warning("module-level logger", extra_field=1)
        pf.send("jobs", event.data)

    return app


def test_log_lines_carry_the_invocation_fields(
    app: pf.App, capsys: pytest.CaptureFixture[str]
) -> None:
    event = pf.CloudEvent.create(type="com.example.order", source="/t", data={},
                                 extensions={"traceparent": TRACE, "correlationid": "corr-7"})
    assert dispatch_event(app, "on_order", event, ctx("on_order")).ok
    (line,) = lines(capsys)
    assert LOG_FIELDS | {"event_id", "event_type", "extra_field"} <= set(line)
    assert line["level"] == line["severity"] == "WARNING"
    assert line["message"] == "module-level logger"
    assert (line["function"], line["provider"], line["invocation_id"]) == (
        "on_order", "test", "inv-on_order")
    assert (line["event_id"], line["event_type"]) == (event.id, "com.example.order")
    assert (line["trace_id"], line["correlation_id"]) == (TRACE_ID, "corr-7")
    assert line["timestamp"].endswith("Z")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"traceparent": TRACE}, TRACE_ID),
        ({"X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;"
                             "Sampled=1"}, "5759e988bd862e3fe1be46a994272793"),
        ({"X-Cloud-Trace-Context": "105445aa7843bc8bf206b12000100000/1;o=1"},
         "105445aa7843bc8bf206b12000100000"),
        ({"traceparent": "garbage"}, None),
    ],
)
def test_incoming_trace_from_http_headers(
    app: pf.App, capsys: pytest.CaptureFixture[str], headers: dict[str, str],
    expected: str | None,
) -> None:
    request = http_request("POST", "/orders", json={}, headers=headers)
    assert dispatch_http(app, request, ctx("create")).status == 200
    (line,) = lines(capsys)
    publisher = app.publisher
    assert isinstance(publisher, RecordingPublisher)
    sent = str(publisher.sent[0].event.extensions["traceparent"])
    if expected is None:  # no valid incoming trace: a new one starts here, and travels on
        assert _trace.parse(sent) and line["trace_id"] == sent.split("-")[1]
    else:
        assert line["trace_id"] == expected == sent.split("-")[1]


def test_one_trace_id_across_publish_hops(app: pf.App, capsys: pytest.CaptureFixture[str]) -> None:
    recorder = app.publisher
    assert isinstance(recorder, RecordingPublisher)
    dispatch_http(app, http_request("POST", "/orders", json={}), ctx("create", traceparent=TRACE))
    published = recorder.sent[0].event
    dispatch_event(app, "on_order", published, ctx("on_order"))
    sent_on = recorder.sent[1].event
    assert {str(e.extensions["traceparent"]).split("-")[1] for e in (published, sent_on)} == {
        TRACE_ID}
    assert {line["trace_id"] for line in lines(capsys)} == {TRACE_ID}


def test_level_from_the_environment(
    app: pf.App, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from portable_fn import log

    monkeypatch.setenv("PORTABLE_FN_LOG_LEVEL", "ERROR")
    log.set_level(None)
    try:
        dispatch_http(app, http_request("POST", "/orders", json={}), ctx("create"))
        assert lines(capsys) == []
    finally:
        monkeypatch.delenv("PORTABLE_FN_LOG_LEVEL")
        log.set_level(None)


@pytest.fixture
def metrics_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PORTABLE_FN_METRICS", "on")
    _observe.reset()
    yield
    monkeypatch.delenv("PORTABLE_FN_METRICS")
    _observe.reset()


def test_metrics_as_cloudwatch_emf_on_aws(
    metrics_on: None, capsys: pytest.CaptureFixture[str]
) -> None:
    app = pf.App("obs")

    @app.queue("jobs")
    def job(event: pf.CloudEvent) -> None:
        raise RuntimeError("no")

    dispatch_event(app, "job", pf.CloudEvent.create(type="t", source="/s"), ctx("job", "aws"))
    emf = next(line for line in lines(capsys) if "_aws" in line)
    directive = emf["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "portable-fn"
    assert directive["Dimensions"] == [["service", "function"]]
    assert {m["Name"] for m in directive["Metrics"]} == {
        "Invocations", "Errors", "Duration", "ColdStart"}
    assert (emf["service"], emf["function"], emf["Invocations"], emf["Errors"]) == (
        "obs", "job", 1, 1)
    assert isinstance(emf["Duration"], float) and isinstance(emf["_aws"]["Timestamp"], int)


def test_metrics_as_a_log_line_elsewhere(
    metrics_on: None, app: pf.App, capsys: pytest.CaptureFixture[str]
) -> None:
    dispatch_http(app, http_request("POST", "/orders", json={}), ctx("create", "gcp"))
    metric = next(line for line in lines(capsys) if line["message"] == "portable-fn metrics")
    assert metric["metrics"]["Invocations"] == 1 and metric["metrics"]["Errors"] == 0
    assert "_aws" not in metric


def test_opentelemetry_spans_form_one_trace(app: pf.App) -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    recorder = app.publisher
    assert isinstance(recorder, RecordingPublisher)
    dispatch_http(app, http_request("POST", "/orders", json={}), ctx("create", "aws", TRACE))
    dispatch_event(app, "on_order", recorder.sent[0].event, ctx("on_order", "aws"))
    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert set(spans) == {"POST /orders", "send orders", "process orders", "send jobs"}
    assert {span.context.trace_id for span in spans.values()} == {int(TRACE_ID, 16)}
    server, produce, consume = spans["POST /orders"], spans["send orders"], spans["process orders"]
    assert produce.parent.span_id == server.context.span_id
    assert consume.parent.span_id == produce.context.span_id
    assert server.attributes["faas.trigger"] == "http"
    assert consume.attributes["faas.trigger"] == "pubsub"
    assert consume.attributes["cloud.provider"] == "aws"
    assert consume.attributes["messaging.system"] == "aws_sns"
    assert consume.attributes["messaging.destination.name"] == "orders"
    assert server.kind == trace.SpanKind.SERVER and consume.kind == trace.SpanKind.CONSUMER


BLOCK_OTEL = f"""
import importlib.abc, sys
attempts = []
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "opentelemetry":
            attempts.append(name)
            raise ModuleNotFoundError(name)
        return None
sys.meta_path.insert(0, Block())
import portable_fn as pf
from portable_fn.adapter import dispatch_http
from portable_fn.testing import RecordingPublisher, http_request
app = pf.App("probe")
app.use_publisher(RecordingPublisher())
@app.http("/x")
def x(req, ctx):
    ctx.logger.info("hello"); pf.logger.info("again"); pf.publish("t", {{}})
    return {{}}
ctx = pf.Context(provider="aws", function_name="x", invocation_id="1")
request = http_request("GET", "/x", headers={{"traceparent": "{TRACE}"}})
assert dispatch_http(app, request, ctx).status == 200
print("ATTEMPTS", attempts, [m for m in sys.modules if m.startswith("opentelemetry")])
"""


def test_no_opentelemetry_import_when_it_is_not_installed() -> None:
    out = subprocess.run([sys.executable, "-c", BLOCK_OTEL], check=True, capture_output=True,
                         text=True).stdout
    assert out.strip().splitlines()[-1] == "ATTEMPTS [] []"


def test_exception_stack_is_compact_and_keeps_the_cause(capsys: pytest.CaptureFixture[str]) -> None:
    from portable_fn.log import Logger

    def inner() -> None:
        raise KeyError("k")

    try:
        try:
            inner()
        except KeyError as exc:
            raise ValueError("bad order") from exc
    except ValueError as exc:
        Logger({"function": "f"}).exception("failed", exc=exc)
    (line,) = lines(capsys)
    assert (line["error_type"], line["error"]) == ("ValueError", "bad order")
    stack = line["stack"]
    assert stack.index("KeyError: 'k'") < stack.index("ValueError: bad order")
    assert "in inner" in stack and "test_observability.py" in stack


def test_lambda_trace_env_is_the_last_fallback(
    app: pf.App, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0")
    plain = pf.CloudEvent.create(type="t", source="/s", data={})
    dispatch_event(app, "on_order", plain, ctx("on_order", "aws"))
    carried = plain.with_extensions(traceparent=TRACE)
    dispatch_event(app, "on_order", carried, ctx("on_order", "aws"))
    first, second = lines(capsys)
    assert first["trace_id"] == "5759e988bd862e3fe1be46a994272793"
    assert second["trace_id"] == TRACE_ID  # what portable-fn propagated wins


def test_cloud_trace_header_span_must_be_ascii_digits() -> None:
    """``X-Cloud-Trace-Context: TRACE/SPAN;o=1``: a span of non-ASCII digits ("²" is a digit
    to str.isdigit, not to int) is no trace, rather than an error when the trace is read."""
    trace = "105445aa7843bc8bf206b12000100000"
    assert _trace.from_cloud_trace(f"{trace}/\u00b2;o=1") is None
    assert _trace.from_cloud_trace(f"{trace}/1;o=1") == f"00-{trace}-0000000000000001-01"


def test_batch_messages_share_the_context_trace_but_not_a_new_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """In one batch (one context) the messages that bring no trace log the context's trace,
    worked out once for the batch; one that carries a traceparent keeps its own; and with no
    trace around, each message starts its own, not one shared by the batch."""
    from portable_fn.adapter import Batch

    app = pf.App("obs")

    @app.queue("jobs")
    def work(event: pf.CloudEvent) -> None:
        pf.logger.info("working")

    plain = [pf.CloudEvent.create(type="t", source="/s", data=i) for i in range(3)]
    carried = plain[0].with_extensions(traceparent=TRACE)
    conversions: list[str | None] = []
    from_xray = _trace.from_xray

    def counted(header: str | None) -> str | None:
        conversions.append(header)
        return from_xray(header)

    monkeypatch.setattr(_trace, "from_xray", counted)
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
    batch_ctx = ctx("work", "aws")
    with Batch(app, app.function("work"), batch_ctx) as batch:
        for event in [plain[0], carried, plain[1], plain[2]]:
            assert batch.run(event, batch_ctx).ok
    assert [line["trace_id"] for line in lines(capsys)] == [
        "5759e988bd862e3fe1be46a994272793", TRACE_ID,
        "5759e988bd862e3fe1be46a994272793", "5759e988bd862e3fe1be46a994272793",
    ]
    assert len(conversions) == 1  # the environment read once for the batch, not per message

    monkeypatch.delenv("_X_AMZN_TRACE_ID")
    with Batch(app, app.function("work"), batch_ctx) as batch:
        for event in plain:
            assert batch.run(event, batch_ctx).ok
    assert len({line["trace_id"] for line in lines(capsys)}) == 3


def test_a_message_logged_again_names_its_own_run(capsys: pytest.CaptureFixture[str]) -> None:
    """A handler's lines reuse one logger per message: the second line carries what the first
    did, and the same event delivered again in the batch (a new run, a new trace when none is
    around) is not logged with the first run's fields."""
    from portable_fn import _invocation
    from portable_fn.adapter import Batch

    app = pf.App("obs")

    @app.queue("jobs")
    def work(event: pf.CloudEvent, c: pf.Context) -> None:
        pf.logger.info("first")
        c.logger.info("second")

    event = pf.CloudEvent.create(type="t", source="/s", data=1)
    batch_ctx = ctx("work")
    _invocation._invoked = False
    with Batch(app, app.function("work"), batch_ctx) as batch:
        for _ in range(3):
            assert batch.run(event, batch_ctx).ok
    first, second, again, again_second, third, _ = lines(capsys)
    assert {k: v for k, v in first.items() if k not in ("message", "timestamp")} == {
        k: v for k, v in second.items() if k not in ("message", "timestamp")
    }
    assert (first["cold_start"], again["cold_start"]) == (True, False)
    assert again["trace_id"] != first["trace_id"] == first["correlation_id"]
    assert again_second["trace_id"] == again["trace_id"] != third["trace_id"]


def test_tracestate_travels_with_the_traceparent(app: pf.App) -> None:
    """W3C 3.3: a participant that does not change ``tracestate`` passes it on with the
    traceparent it belongs to; CloudEvents carries it as the ``tracestate`` extension."""
    recorder = app.publisher
    assert isinstance(recorder, RecordingPublisher)
    request = pf.Request(method="POST", path="/orders", body=b"{}", headers=pf.Headers([
        ("content-type", "application/json"), ("traceparent", TRACE),
        ("tracestate", "congo=t61rcWkgMzE"), ("tracestate", "rojo=00f067aa0ba902b7")]))
    dispatch_http(app, request, ctx("create"))
    published = recorder.sent[0].event
    assert published.extensions["tracestate"] == "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
    dispatch_event(app, "on_order", published, ctx("on_order"))
    assert recorder.sent[1].event.extensions["tracestate"] == published.extensions["tracestate"]


@pytest.mark.parametrize(
    "headers",
    [
        # A tracestate without a valid traceparent is not to be read (W3C 3.3).
        {"tracestate": "congo=t61rcWkgMzE"},
        {"traceparent": "garbage", "tracestate": "congo=t61rcWkgMzE"},
        # The trace came from X-Ray, not from the traceparent the tracestate belongs to.
        {"X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
         "tracestate": "congo=t61rcWkgMzE"},
    ],
)
def test_a_tracestate_without_its_traceparent_is_dropped(
    app: pf.App, headers: dict[str, str]
) -> None:
    recorder = app.publisher
    assert isinstance(recorder, RecordingPublisher)
    dispatch_http(app, http_request("POST", "/orders", json={}, headers=headers), ctx("create"))
    assert "tracestate" not in recorder.sent[0].event.extensions


def test_an_explicit_traceparent_is_not_given_the_invocation_s_tracestate(app: pf.App) -> None:
    recorder = RecordingPublisher()
    other = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

    @app.queue("forwards")
    def forward(event: pf.CloudEvent) -> None:
        pf.publish("elsewhere", {}, extensions={"traceparent": other})

    app.use_publisher(recorder)
    event = pf.CloudEvent.create(type="t", source="/s", data={},
                                 extensions={"traceparent": TRACE, "tracestate": "congo=1"})
    assert dispatch_event(app, "forward", event, ctx("forward")).ok
    assert "tracestate" not in recorder.sent[0].event.extensions


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A TracerProvider with an in-memory exporter for this test only (the API lets a process
    set one once; this puts it in place and takes it away again)."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", provider)
    return exporter


def test_an_http_span_is_named_by_its_route_not_its_path(spans: Any) -> None:
    """HTTP server spans are ``{method} {http.route}``: the path would make one span name per
    order id (https://opentelemetry.io/docs/specs/semconv/http/http-spans/#name)."""
    app = pf.App("obs")

    @app.http("/orders/{order_id}")
    def get_order(req: pf.Request) -> dict[str, str]:
        return {}

    assert dispatch_http(app, http_request("GET", "/orders/o-17"), ctx("get_order")).status == 200
    (span,) = spans.get_finished_spans()
    assert span.name == "GET /orders/{order_id}"
    assert span.attributes["http.route"] == "/orders/{order_id}"
    assert span.attributes["url.path"] == "/orders/o-17"


def test_a_failure_whose_str_fails_still_ends_its_span(spans: Any) -> None:
    from opentelemetry.trace import StatusCode

    class Broken(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no text")

    app = pf.App("obs")

    @app.queue("jobs")
    def job(event: pf.CloudEvent) -> None:
        raise Broken()

    outcome = dispatch_event(app, "job", pf.CloudEvent.create(type="t", source="/s"), ctx("job"))
    assert not outcome.ok and isinstance(outcome.error, Broken)
    (span,) = spans.get_finished_spans()
    assert span.status.status_code == StatusCode.ERROR
    assert span.status.description.startswith("Broken")
    (recorded,) = span.events
    assert recorded.name == "exception" and recorded.attributes["exception.type"].endswith("Broken")


def test_spans_carry_the_incoming_tracestate(spans: Any, app: pf.App) -> None:
    event = pf.CloudEvent.create(type="t", source="/s", data={},
                                 extensions={"traceparent": TRACE, "tracestate": "congo=t61"})
    assert dispatch_event(app, "on_order", event, ctx("on_order")).ok
    by_name = {span.name: span for span in spans.get_finished_spans()}
    assert by_name["process orders"].context.trace_state.get("congo") == "t61"
    assert by_name["send jobs"].context.trace_state.get("congo") == "t61"
    recorder = app.publisher
    assert isinstance(recorder, RecordingPublisher)
    assert recorder.sent[0].event.extensions["tracestate"] == "congo=t61"


@pytest.mark.parametrize("provider", ["aws", "gcp"])
def test_metrics_are_written_whatever_the_log_level(
    metrics_on: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    provider: str,
) -> None:
    """Metrics are data read from the log (CloudWatch EMF, log-based metrics): a quieter log
    level must not switch them off."""
    from portable_fn import log

    app = pf.App("obs")

    @app.queue("jobs")
    def job(event: pf.CloudEvent) -> None:
        pf.logger.info("quiet")

    monkeypatch.setenv("PORTABLE_FN_LOG_LEVEL", "ERROR")
    log.set_level(None)
    try:
        event = pf.CloudEvent.create(type="t", source="/s")
        assert dispatch_event(app, "job", event, ctx("job", provider)).ok
    finally:
        monkeypatch.delenv("PORTABLE_FN_LOG_LEVEL")
        log.set_level(None)
    (metric,) = lines(capsys)
    assert metric["message"] == "portable-fn metrics"
    assert ("_aws" in metric) is (provider == "aws")


@pytest.mark.parametrize(("provider", "entry"), [("cloudflare", ""), ("aws", "entry")])
def test_metrics_name_the_function_that_ran_as_its_log_lines_do(
    metrics_on: None, app: pf.App, capsys: pytest.CaptureFixture[str], provider: str, entry: str
) -> None:
    """An adapter serving every route from one entry builds the context before routing (the
    Worker's ``fetch`` names no function): the metrics' ``function``, an EMF dimension on AWS,
    is the routed function, the one the invocation's log lines and span name."""
    context = pf.Context(provider=provider, function_name=entry, invocation_id="r-1")
    assert dispatch_http(app, http_request("POST", "/orders", json={}), context).status == 200
    logged = lines(capsys)
    metric = next(line for line in logged if line["message"] == "portable-fn metrics")
    handler_line = next(line for line in logged if line["message"] == "creating")
    assert metric["function"] == handler_line["function"] == "create"
    if provider == "aws":
        (dimensions,) = metric["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
        named = {name: metric[name] for name in dimensions}
        assert named == {"service": "obs", "function": "create"}


def test_two_traceparent_headers_start_a_new_trace(
    app: pf.App, capsys: pytest.CaptureFixture[str]
) -> None:
    """W3C trace-context's test suite (test_traceparent_duplicated): a request with two
    traceparent headers continues neither; the first was taken, with its tracestate."""
    other = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    request = pf.Request(method="POST", path="/orders", body=b"{}", headers=pf.Headers([
        ("content-type", "application/json"), ("traceparent", TRACE), ("traceparent", other),
        ("tracestate", "congo=t61rcWkgMzE")]))
    assert dispatch_http(app, request, ctx("create")).status == 200
    (line,) = lines(capsys)
    recorder = app.publisher
    assert isinstance(recorder, RecordingPublisher)
    sent = recorder.sent[0].event.extensions
    trace_id = _trace.trace_id(str(sent["traceparent"]))
    assert trace_id == line["trace_id"] and trace_id not in (TRACE_ID, other.split("-")[1])
    assert "tracestate" not in sent


def test_appended_keys_are_on_every_later_line_of_the_invocation_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Powertools' ``logger.append_keys(order_id=...)``: a key the handler learns goes on every
    line after it, the framework's own included (its "event handler failed" line is the one an
    operator reads), and not onto the next message's. ``bind`` returns a new logger, which the
    framework's lines never see."""
    from portable_fn import _batch

    app = pf.App("obs")

    @app.queue("jobs")
    def job(event: pf.CloudEvent) -> None:
        pf.logger.info("before")
        pf.logger.append_keys(order_id=event.data["order"])
        pf.logger.info("after")
        if event.data["order"] == "o-1":
            raise RuntimeError("payment declined")

    first = pf.CloudEvent.create(type="t", source="/s", data={"order": "o-1"})
    second = pf.CloudEvent.create(type="t", source="/s", data={"order": "o-2"})
    fn = app.function("job")
    with _batch.Batch(app, fn, ctx("job")) as batch:
        assert not batch.run(first, ctx("job")).ok
        assert batch.run(second, ctx("job")).ok
    before, after, failed, before2, after2 = lines(capsys)
    assert "order_id" not in before and "order_id" not in before2
    assert (after["order_id"], failed["order_id"], after2["order_id"]) == ("o-1", "o-1", "o-2")
    assert failed["message"].startswith("event handler failed")
    with pytest.raises(RuntimeError, match="inside a handler"):
        pf.logger.append_keys(order_id="x")


def test_append_keys_refuses_the_line_s_own_members() -> None:
    with pytest.raises(ValueError, match="level"):
        pf.logger.append_keys(level="DEBUG")
