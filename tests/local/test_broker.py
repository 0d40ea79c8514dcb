"""Routing and the local Publisher, committing to a real SQLite store."""

from __future__ import annotations

import time
from pathlib import Path

import portable_fn as pf
from portable_fn._local.broker import LocalPublisher, Routes
from portable_fn._local.store import Store
from portable_fn.events import CloudEvent, from_json, to_json


def _app() -> pf.App:
    app = pf.App("routes")

    @app.topic("orders")
    def audit(event: pf.CloudEvent) -> None: ...

    @app.topic("orders")
    def mail(event: pf.CloudEvent) -> None: ...

    @app.queue("jobs")
    def work(event: pf.CloudEvent) -> None: ...

    @app.event("com.example.invoice.*")
    def any_invoice(event: pf.CloudEvent) -> None: ...

    @app.event("com.example.invoice.paid", source="/billing")
    def paid_from_billing(event: pf.CloudEvent) -> None: ...

    return app


def test_routes_fan_out_compete_and_match_types() -> None:
    routes = Routes.of(_app())
    assert routes.for_topic("orders") == ("audit", "mail")
    assert routes.for_topic("nobody") == ()
    assert routes.for_queue("jobs") == ("work",)
    paid = CloudEvent.create(type="com.example.invoice.paid", source="/billing")
    assert routes.for_event(paid) == ("any_invoice", "paid_from_billing")
    elsewhere = paid.replace(source="/shop")
    assert routes.for_event(elsewhere) == ("any_invoice",)
    assert routes.for_event(paid.replace(type="com.example.order.paid")) == ()


def test_publisher_commits_each_event_with_its_deliveries(tmp_path: Path) -> None:
    store = Store(tmp_path / "b.sqlite3")
    seen: list[tuple[str, str, tuple[str, ...]]] = []
    publisher = LocalPublisher(
        store, Routes.of(_app()), lambda kind, name, ev, fns: seen.append((kind, name, fns))
    )
    event = CloudEvent.create(type="t", source="/s", data={"n": 1})
    publisher.publish("orders", event)
    before_send = time.time()
    publisher.send("jobs", event, delay=30)
    publisher.emit(event.replace(type="com.example.invoice.sent"))
    publisher.publish("nobody", event)  # stored, delivered to no one, and reported
    assert seen == [
        ("topic", "orders", ("audit", "mail")),
        ("queue", "jobs", ("work",)),
        ("event", "com.example.invoice.sent", ("any_invoice",)),
        ("topic", "nobody", ()),
    ]
    rows = store.deliveries()
    assert [d.function for d in rows] == ["audit", "mail", "work", "any_invoice"]
    assert from_json(rows[0].event) == event  # id, type, source, data as published
    delayed = next(d for d in rows if d.function == "work")
    assert delayed.due >= before_send + 30  # however long the send took
    due_now = [d.function for d in store.claim_due(time.time(), 10)]
    assert due_now == ["audit", "mail", "any_invoice"]


def test_what_no_cloud_would_carry_is_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    """The ingress answers 413 to an event past the smallest cloud limit for its kind (48 KiB
    on a queue, an Azure Storage Queue message as the host base64-encodes it; 127 900 bytes on a
    topic, a Cloudflare Queues message), but a handler's pf.send / pf.publish of the same event
    went through locally and would fail at the first deploy."""
    import pytest

    from portable_fn._local.ingress import MAX_EVENT_BYTES, MAX_QUEUE_EVENT_BYTES
    from portable_fn.errors import PublishError

    store = Store(tmp_path / "b.sqlite3")
    seen: list[str] = []
    publisher = LocalPublisher(store, Routes.of(_app()), lambda kind, *_: seen.append(kind))

    def sized(limit: int, extra: int) -> CloudEvent:
        empty = CloudEvent.create(type="com.example.x", source="/s", id="e1", data="")
        return empty.replace(data="x" * (limit - len(to_json(empty)) + extra))

    publisher.send("jobs", sized(MAX_QUEUE_EVENT_BYTES, 0))  # exactly the limit: carried
    with pytest.raises(PublishError, match="49153 bytes"):
        publisher.send("jobs", sized(MAX_QUEUE_EVENT_BYTES, 1))
    publisher.publish("orders", sized(MAX_QUEUE_EVENT_BYTES, 1))  # a topic carries more
    for refused in (
        lambda: publisher.publish("orders", sized(MAX_EVENT_BYTES, 1)),
        lambda: publisher.emit(sized(MAX_EVENT_BYTES, 1).replace(type="com.example.invoice.x")),
    ):
        with pytest.raises(PublishError, match="stored object"):
            refused()
    assert seen == ["queue", "topic"]
    assert [d.function for d in store.deliveries()] == ["work", "audit", "mail"]


def test_stream_records_are_numbered_in_their_stream_as_kinesis_and_event_hubs_do(
    tmp_path: Path,
) -> None:
    """Kinesis and Event Hubs give each record a ``sequence`` (docs/event-mapping.md); so does
    the local stream, in the order its consumers get the records: per stream, zero-padded to
    20 digits (the spec compares sequences as strings), counting on after a restart, a
    sender's ``partitionkey`` kept and a sender's own ``sequence`` replaced."""
    app = pf.App("streams")

    @app.stream("clicks")
    def clicks(event: pf.CloudEvent) -> None: ...

    @app.stream("views")
    def views(event: pf.CloudEvent) -> None: ...

    seen: list[CloudEvent] = []
    store = Store(tmp_path / "b.sqlite3")
    publisher = LocalPublisher(store, Routes.of(app), lambda kind, name, ev, fns: seen.append(ev))
    click = CloudEvent.create(type="t", source="/web", data={"n": 1})
    publisher.put_record("clicks", click.with_extensions(partitionkey="user-1"))
    publisher.put_record("views", click)
    publisher.put_record("clicks", click.with_extensions(sequence="9"))
    store.close()
    store = Store(tmp_path / "b.sqlite3")
    LocalPublisher(store, Routes.of(app), lambda *_: None).put_record("clicks", click)
    stored = [(d.function, from_json(d.event).extensions) for d in store.deliveries()]
    assert stored == [
        ("clicks", {"partitionkey": "user-1", "sequence": "00000000000000000001"}),
        ("views", {"sequence": "00000000000000000001"}),
        ("clicks", {"sequence": "00000000000000000002"}),
        ("clicks", {"sequence": "00000000000000000003"}),
    ]
    assert [e.extensions.get("sequence") for e in seen] == ["0" * 19 + "1", "0" * 19 + "1",
                                                            "0" * 19 + "2"]


def test_a_delay_past_the_smallest_cloud_limit_is_refused_here_too(tmp_path: Path) -> None:
    """SQS delays a message at most 900 s (API_SendMessage): ``pf.send(delay=3600)`` worked
    under ``dev`` and in the test recorder, then failed at the first deploy to AWS. Refused
    here now, as a message past the smallest size limit is."""
    import pytest

    from portable_fn.errors import PublishError
    from portable_fn.testing import RecordingPublisher

    store = Store(tmp_path / "b.sqlite3")
    publisher = LocalPublisher(store, Routes.of(_app()), lambda *_: None)
    recorder = RecordingPublisher()
    event = CloudEvent.create(type="com.example.x", source="/s", data={})
    for sink in (publisher, recorder):
        sink.send("jobs", event, delay=900)  # the limit itself: carried
        with pytest.raises(PublishError, match="900 s"):
            sink.send("jobs", event, delay=900.5)
    assert [p.delay for p in recorder.sent] == [900]


def test_a_delay_to_a_queue_the_app_declares_fifo_is_refused_here_too(tmp_path: Path) -> None:
    """SQS FIFO queues take no per-message delay (API_SendMessage): a delayed send to one
    worked under ``dev`` and in the test recorder, then failed on AWS. The queue's FIFO-ness
    is its consumer's declaration, so only a queue the app declares FIFO is known to be."""
    import pytest

    from portable_fn.errors import PublishError
    from portable_fn.testing import invoke, recording

    app = pf.App("books")

    @app.queue("ledger", fifo=True)
    def post(event: pf.CloudEvent) -> None: ...

    @app.queue("entries")
    def enter(event: pf.CloudEvent) -> None:
        pf.send("ledger", event.data, delay=event.data["delay"])

    publisher = LocalPublisher(Store(tmp_path / "b.sqlite3"), Routes.of(app), lambda *_: None)
    event = CloudEvent.create(type="com.example.x", source="/s", data={"delay": 30})
    with pytest.raises(PublishError, match="FIFO"):
        publisher.send("ledger", event, delay=30)
    publisher.send("ledger", event)  # no delay: carried
    publisher.send("entries", event, delay=30)  # a standard queue keeps its delays
    with recording(app) as recorder:
        outcome = invoke(app, "enter", event)
        assert not outcome.ok and isinstance(outcome.error, PublishError), outcome
        assert invoke(app, "enter", event.replace(data={"delay": 0})).ok
    assert [(p.name, p.delay) for p in recorder.sent] == [("ledger", 0)]
