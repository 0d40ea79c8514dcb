"""pf.publish / pf.send / pf.emit: the events they build and where they go."""

from __future__ import annotations

import pytest

import portable_fn as pf
from portable_fn.errors import PublishError
from portable_fn.testing import RecordingPublisher, http_request, invoke

TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_publish_inside_a_handler_carries_source_type_and_trace() -> None:
    app = pf.App("shop")
    recorder = RecordingPublisher()
    app.use_publisher(recorder)

    @app.http("/orders", methods=["POST"])
    def create(req: pf.Request) -> pf.Response:
        pf.publish("order-events", req.json(), type="com.example.order.created")
        pf.send("fulfilment", {"sku": "a"}, delay=5)
        pf.emit("com.example.invoice.paid", "paid")
        pf.publish("raw", b"\x00")
        return pf.Response.json({"ok": True}, status=202)

    request = http_request("POST", "/orders", json={"sku": "a"})
    ctx = pf.Context(provider="test", function_name="create", invocation_id="1",
                     traceparent=TRACE)
    from portable_fn.adapter import dispatch_http

    assert dispatch_http(app, request, ctx).status == 202
    topic, queue, bus, raw = recorder.sent
    assert (topic.kind, topic.name) == ("topic", "order-events")
    assert topic.event.type == "com.example.order.created"
    assert topic.event.source == "/portable-fn/shop/create"
    assert topic.event.data == {"sku": "a"}
    assert topic.event.datacontenttype == "application/json"
    sent_trace = str(topic.event.extensions["traceparent"])
    assert sent_trace.split("-")[1] == TRACE.split("-")[1]  # the same trace ...
    assert sent_trace.split("-")[2] != TRACE.split("-")[2]  # ... a new span
    assert (queue.kind, queue.name, queue.delay, queue.event.type) == (
        "queue", "fulfilment", 5, "shop.fulfilment"
    )
    assert (bus.kind, bus.event.type, bus.event.datacontenttype) == (
        "bus", "com.example.invoice.paid", "text/plain; charset=utf-8"
    )
    assert raw.event.datacontenttype == "application/octet-stream"


def test_publish_outside_an_invocation() -> None:
    app = pf.App("shop")
    with pytest.raises(PublishError, match="no app"):
        pf.publish("orders", {})
    with pytest.raises(PublishError, match="no publisher"):
        pf.publish("orders", {}, app=app)
    recorder = RecordingPublisher()
    app.use_publisher(recorder)
    event = pf.publish("orders", {"a": 1}, app=app, id="fixed", source="/script")
    assert (event.id, event.source) == ("fixed", "/script")
    assert recorder.to("orders") == [event]


def test_send_refuses_a_negative_or_non_finite_delay_everywhere() -> None:
    """SQS and Cloudflare Queues refuse a negative delay (or one that is not a number); the
    local broker delivered such a message at once and the recorder kept it, so the mistake
    surfaced only after deploying."""
    app = pf.App("shop")
    recorder = RecordingPublisher()
    app.use_publisher(recorder)
    for delay in (-1, -0.5, float("nan"), float("inf"), "5", True):
        with pytest.raises(PublishError, match="delay"):
            pf.send("jobs", {}, delay=delay, app=app)
    assert recorder.sent == []
    pf.send("jobs", {}, delay=0, app=app)
    pf.send("jobs", {}, delay=30.5, app=app)
    assert [p.delay for p in recorder.sent] == [0, 30.5]


def test_publish_error_fails_the_request_cleanly() -> None:
    app = pf.App("shop")

    @app.http("/x")
    def x(req: pf.Request) -> None:
        pf.publish("orders", {})

    response = invoke(app, "x", http_request("GET", "/x"))
    assert isinstance(response, pf.Response) and response.status == 500


def _fan_out_app(extension: str) -> tuple[pf.App, RecordingPublisher]:
    """An HTTP function publishing to a topic whose subscriber sends on to a queue and
    publishes an audit event with its own ``extension`` set to ``"mine"``."""
    app = pf.App("shop")
    recorder = RecordingPublisher()
    app.use_publisher(recorder)

    @app.http("/orders", methods=["POST"])
    def create(req: pf.Request) -> None:
        pf.publish("order-events", {"n": 1})

    @app.topic("order-events")
    def fan_out(event: pf.CloudEvent) -> None:
        pf.send("fulfilment", event.data)
        pf.publish("audit", {}, extensions={extension: "mine"})

    return app, recorder


def test_publish_carries_the_invocations_correlation_id() -> None:
    # One id to search every hop's logs by: the request's X-Correlation-Id (or an incoming
    # event's correlationid) travels on what the handler publishes, as traceparent does.
    app, recorder = _fan_out_app("correlationid")
    invoke(app, "create", http_request("POST", "/orders", headers={"X-Correlation-Id": "c-42"}))
    (published,) = recorder.to("order-events")
    assert published.extensions["correlationid"] == "c-42"
    invoke(app, "fan_out", published)
    assert recorder.to("fulfilment")[0].extensions["correlationid"] == "c-42"
    assert recorder.to("audit")[0].extensions["correlationid"] == "mine"  # the caller's wins
    # Without one, nothing is added: the trace id (shared through traceparent) serves.
    recorder.sent.clear()
    invoke(app, "create", http_request("POST", "/orders"))
    assert "correlationid" not in recorder.to("order-events")[0].extensions


@pytest.mark.parametrize(
    "sent", ["x" * 129, "c-42\nlevel=ERROR forged", "caf\u00e9", "\u0000"]
)
def test_a_correlation_id_a_client_could_not_mean_is_not_carried(sent: str) -> None:
    """A client's X-Correlation-Id lands on every log line and published event of the
    invocation: one too long to be an id, or not printable ASCII (a newline to forge lines), is
    not taken; the trace id serves, as when none is sent."""
    app, recorder = _fan_out_app("correlationid")
    invoke(app, "create", http_request("POST", "/orders", headers={"X-Correlation-Id": sent}))
    assert "correlationid" not in recorder.to("order-events")[0].extensions


def test_publish_names_the_event_that_caused_it() -> None:
    # The CloudEvents correlation extension's causationid: "the id value of the causing event"
    # (cloudevents/spec cloudevents/extensions/correlation.md). A fan-out chain can then be
    # walked event by event; an HTTP request is no event, so what it publishes has none.
    app, recorder = _fan_out_app("causationid")
    invoke(app, "create", http_request("POST", "/orders"))
    (published,) = recorder.to("order-events")
    assert "causationid" not in published.extensions
    invoke(app, "fan_out", published)
    (sent,) = recorder.to("fulfilment")
    assert sent.extensions["causationid"] == published.id != sent.id
    assert recorder.to("audit")[0].extensions["causationid"] == "mine"  # the caller's wins


def test_an_event_handler_retried_publishes_the_same_ids() -> None:
    """Delivery is at least once, and a handler that fails after publishing runs again: its
    events went out once per attempt, each with a new random id, so a consumer could not tell
    a retry's copy from a new event (source + id is the spec's duplicate rule, and what
    ``idempotent=True`` keys on; SQS FIFO and Service Bus de-duplicate by it too). Inside an
    event handler an event's default id is derived from the triggering event, the function,
    the destination and its order among that destination's publishes: the same on every
    attempt, distinct otherwise."""
    from portable_fn.adapter import dispatch_event

    app = pf.App("shop")
    recorder = RecordingPublisher()
    app.use_publisher(recorder)

    @app.queue("orders")
    def take(event: pf.CloudEvent) -> None:
        pf.send("emails", {"to": event.data["to"]})
        pf.send("emails", {"to": "audit"})
        pf.publish("order-events", event.data)
        pf.emit("com.example.taken", event.data)
        pf.send("emails", {"to": "given"}, id="mine")
        raise RuntimeError("fails after publishing")

    order = pf.CloudEvent.create(type="t", source="/s", data={"to": "a@b.c"})
    other = pf.CloudEvent.create(type="t", source="/s", data={"to": "a@b.c"})
    ctx = pf.Context(provider="test", function_name="take", invocation_id="1")
    for event in (order, order, other):
        assert not dispatch_event(app, "take", event, ctx).ok
    ids = [[sent.event.id for sent in recorder.sent[n:n + 5]] for n in (0, 5, 10)]
    first, retry, another = ids
    assert first == retry  # the retry's copies are the same events
    assert len(set(first)) == 5 and first[4] == "mine"
    assert not set(first[:4]) & set(another[:4])  # another triggering event: other ids
    assert all(len(i) == 36 and i.count("-") == 4 for i in first[:4])  # UUID-shaped


def test_an_http_handler_publishes_new_ids() -> None:
    """A request carries no id that is the same on a client's retry: random ids, as before."""
    app = pf.App("shop")
    recorder = RecordingPublisher()
    app.use_publisher(recorder)

    @app.http("/orders", methods=["POST"])
    def create(req: pf.Request) -> str:
        pf.send("emails", {"to": "x"})
        return "ok"

    for _ in range(2):
        invoke(app, "create", http_request("POST", "/orders"))
    first, second = recorder.sent
    assert first.event.id != second.event.id


def test_a_retry_that_publishes_something_else_gets_another_id() -> None:
    """A derived id names what was published: a retry that publishes another type or other data
    (the first attempt said "accepted", the second "rejected") is another event, which no
    consumer may drop as a copy; nor may another app's function of the same name, triggered by
    the same event (SQS FIFO and Service Bus de-duplicate by the id alone)."""
    from portable_fn.adapter import dispatch_event

    def build(name: str) -> tuple[pf.App, RecordingPublisher]:
        app = pf.App(name)
        recorder = RecordingPublisher()
        app.use_publisher(recorder)
        attempts: list[int] = []

        @app.queue("orders")
        def handle(event: pf.CloudEvent) -> None:
            attempts.append(1)
            verdict = "com.x.accepted" if len(attempts) == 1 else "com.x.rejected"
            pf.send("outcomes", event.data, type=verdict)
            pf.send("audit", {"attempt": len(attempts)})

        return app, recorder

    order = pf.CloudEvent.create(type="t", source="/s", data={"n": 1})
    ctx = pf.Context(provider="test", function_name="handle", invocation_id="1")
    app, recorder = build("one")
    other_app, other = build("two")
    for _ in range(2):
        dispatch_event(app, "handle", order, ctx)
    dispatch_event(other_app, "handle", order, ctx)
    accepted, audit1, rejected, audit2 = (sent.event.id for sent in recorder.sent)
    assert len({accepted, audit1, rejected, audit2}) == 4
    assert other.sent[0].event.id != accepted


def test_events_that_differ_only_in_what_the_handler_gave_besides_data_get_other_ids() -> None:
    """One event per SKU, told apart by ``subject`` only (the data the same): the derived id
    ignored the subject, so the n-th publish of an attempt got the n-th id whatever its subject.
    A redelivery that published the SKUs in another order (a set's order changes with the
    process) gave ``sku-B`` the id ``sku-D`` had had, and a consumer dropped it as a copy. Now
    the subject (and a given source, content type, extensions) is part of what the id names;
    what varies per attempt (trace, causation) is not."""
    from portable_fn.adapter import dispatch_event

    app = pf.App("shop")
    recorder = RecordingPublisher()
    app.use_publisher(recorder)
    orders: list[list[str]] = [["sku-D", "sku-B"], ["sku-B", "sku-D"]]

    @app.queue("orders")
    def take(event: pf.CloudEvent) -> None:
        for sku in orders.pop(0):
            pf.send("stock", {"n": 1}, subject=sku)
        pf.send("stock", {"n": 1}, extensions={"tenant": "a"})
        pf.send("stock", {"n": 1}, extensions={"tenant": "b"})

    order = pf.CloudEvent.create(type="t", source="/s", data={})
    ctx = pf.Context(provider="test", function_name="take", invocation_id="1")
    for _ in range(2):
        assert dispatch_event(app, "take", order, ctx).ok
    first = {(s.event.subject, s.event.extensions.get("tenant")): s.event.id
             for s in recorder.sent[:4]}
    retry = {(s.event.subject, s.event.extensions.get("tenant")): s.event.id
             for s in recorder.sent[4:]}
    assert first == retry  # each event keeps its id, in whatever order it is published
    assert len(set(first.values())) == 4


def test_a_publish_that_failed_and_is_sent_again_keeps_its_id() -> None:
    """A send that raised (a timeout the service may have outlived: the message may be there)
    and that the handler sends again got the next id, so the copy could not be recognised; a
    failed publish now gives its id's place back. Bytes in a memoryview name the event by the
    bytes (its repr, with an address, gave a new id on every attempt)."""
    from portable_fn.adapter import dispatch_event
    from portable_fn.errors import PublishError

    class Flaky(RecordingPublisher):
        def __init__(self) -> None:
            super().__init__()
            self.failures = 1
            self.tried: list[str] = []

        def send(self, queue: str, event: pf.CloudEvent, *, delay: float | None = None) -> None:
            self.tried.append(event.id)
            if self.failures:
                self.failures -= 1
                raise PublishError("read timeout")
            super().send(queue, event, delay=delay)

    app = pf.App("shop")
    publisher = Flaky()
    app.use_publisher(publisher)

    @app.queue("orders")
    def take(event: pf.CloudEvent) -> None:
        for _ in range(2):
            try:
                pf.send("scans", memoryview(b"\x89PNG"))
                return
            except PublishError:
                continue

    order = pf.CloudEvent.create(type="t", source="/s", data={})
    ctx = pf.Context(provider="test", function_name="take", invocation_id="1")
    assert dispatch_event(app, "take", order, ctx).ok
    failed, sent = publisher.tried
    assert failed == sent
    assert dispatch_event(app, "take", order, ctx).ok  # a redelivery: the same event again
    assert publisher.tried[-1] == sent
