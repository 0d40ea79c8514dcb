# SPDX-License-Identifier: Apache-2.0
"""The codecs in CPython: native Workers shapes (documented samples) to golden CloudEvents,
rates to crons, settlement decisions, request translation, naming and findings."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from pyodide_worker import load_fixture

import portable_fn as pf
from portable_fn.adapter import Outcome
from portable_fn.errors import EventDecodeError
from portable_fn.triggers import Retry, Schedule
from portable_fn_cloudflare import fetch, plan, queue, r2, scheduled
from portable_fn_cloudflare.adapter import adapter
from portable_fn_cloudflare.findings import findings
from portable_fn_cloudflare.native import batch_from_sample
from portable_fn_cloudflare.settle import MAX_DELAY_SECONDS, settle


def messages(sample: dict[str, Any]) -> list[queue.QueueMessage]:
    return [queue.QueueMessage.read(m) for m in batch_from_sample(sample).messages]


# -- queue messages --------------------------------------------------------------------------


def test_plain_message_golden_fields() -> None:
    first, second = messages(adapter.sample_events()["queue"])
    event = queue.to_event(first, "fulfilment")
    assert event.id == "6d8c7e6a1f0b4e2c9a3d5b7f1e2c3d4a"
    assert event.type == "com.cloudflare.queues.message"
    assert event.source == "cloudflare:queues/fulfilment"
    assert event.time == datetime(2024, 11, 23, 14, 0, tzinfo=timezone.utc)
    assert event.datacontenttype == "application/json"
    assert event.data == {"sku": "book-1", "id": "o-1"}
    text = queue.to_event(second, "fulfilment")
    assert text.datacontenttype == "text/plain; charset=utf-8" and text.data == "plain text body"
    assert second.attempts == 2


def test_structured_message_is_the_original_event() -> None:
    (msg,) = messages(adapter.sample_events()["queue_cloudevent"])
    event = queue.to_event(msg, "fulfilment")
    assert event.id == "4f5ae8a9-d777-4b75-9fa5-5768b93fc596"
    assert event.type == "com.example.fulfilment.requested"
    assert event.source == "/portable-fn/shop/request_fulfilment"
    assert event.extensions["traceparent"].startswith("00-4bf92f35")
    assert event.data == {"sku": "book-1", "id": "o-1"}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ({"a": 1}, "application/json"),
        ([1, 2], "application/json"),
        (7, "application/json"),
        (None, "application/json"),
        ("text", "text/plain; charset=utf-8"),
        (b"\x00\x01", "application/octet-stream"),
    ],
)
def test_body_variants(body: Any, content_type: str) -> None:
    msg = queue.QueueMessage(id="m", timestamp=None, body=body, attempts=1)
    event = queue.to_event(msg, "q")
    assert event.datacontenttype == content_type
    assert event.data == body


def test_structured_text_body_and_bytes_body() -> None:
    raw = '{"specversion":"1.0","id":"e","source":"/s","type":"t","data":{"x":1}}'
    for body in (raw, raw.encode()):
        msg = queue.QueueMessage(id="m", timestamp=None, body=body, attempts=1)
        assert queue.to_event(msg, "q").data == {"x": 1}


def test_broken_structured_event_is_a_typed_decode_error() -> None:
    msg = queue.QueueMessage(
        id="m", timestamp=None, body={"specversion": "1.0", "id": "x"}, attempts=1
    )
    with pytest.raises(EventDecodeError) as info:
        queue.to_event(msg, "q")
    assert info.value.provider == "cloudflare" and info.value.trigger == "queue"


def _consume(app: pf.App, function: str, body: Any, timestamp: datetime) -> None:
    """Deliver one message to ``function`` as the Worker's ``queue`` handler runs it."""
    import asyncio

    from portable_fn.testing import offline
    from portable_fn_cloudflare import native
    from portable_fn_cloudflare.runtime import WorkerRuntime

    (consumer,) = [c for c in plan.consumers(app) if c.function == function]
    message = native.MessageStandIn(id="m-1", body=body, timestamp=timestamp)
    batch = native.BatchStandIn(queue=consumer.queue, messages=[message])
    with offline(app):
        asyncio.run(WorkerRuntime(app).queue(batch, native.EnvStandIn({}), None))
    assert message.calls == [("ack", {})]


def test_plain_message_source_names_the_queue_or_topic_the_function_declared() -> None:
    """README mapping row "Queue message": ``source`` is ``cloudflare:queues/<name>`` with the
    name ``@app.queue``/``@app.topic`` declared, as Azure (``/azure/servicebus/<topic>``) and
    GCP (``.../topics/<topic>``) name the topic; not the per-subscriber queue
    ``<topic>--<function>`` that ``batch.queue`` says."""
    app = pf.App("shop")
    seen: list[pf.CloudEvent] = []

    @app.topic("order-events")
    def notify_customer(event: pf.CloudEvent) -> None:
        seen.append(event)

    at = datetime(2024, 5, 24, 19, 36, 44, 500000, tzinfo=timezone.utc)
    _consume(app, "notify_customer", {"order": 1}, at)
    (event,) = seen
    assert (event.source, event.id, event.time) == ("cloudflare:queues/order-events", "m-1", at)


def _subscription(kind: str, source: dict[str, Any], payload: Any) -> dict[str, Any]:
    """An event-subscription message as Cloudflare's event schemas show them
    (https://developers.cloudflare.com/queues/event-subscriptions/events-schemas/, and each
    product's "Event subscriptions" page: KV, R2, Workflows, Workers AI)."""
    return {
        "type": kind,
        "source": source,
        "payload": payload,
        "metadata": {
            "accountId": "f9f79265f388666de8122cfb508d7776",
            "eventSubscriptionId": "1830c4bb612e43c3af7f4cada31fbf3f",
            "eventSchemaVersion": 1,
            "eventTimestamp": "2025-05-01T02:48:57.132Z",
        },
    }


@pytest.mark.parametrize(
    ("body", "source"),
    [
        (_subscription("cf.kv.namespace.created", {"type": "kv"},
                       {"id": "ns-1", "name": "my-kv-namespace"}), "cloudflare:kv"),
        (_subscription("cf.workflows.workflow.instance.queued",
                       {"type": "workflows.workflow", "workflowName": "my-workflow"},
                       {"versionId": "v1", "instanceId": "inst-1"}),
         "cloudflare:workflows.workflow/my-workflow"),
        (_subscription("cf.workersAi.model.batch.queued",
                       {"type": "workersAi.model", "modelName": "@cf/baai/bge-base-en-v1.5"},
                       {"requestId": "req-1"}),
         "cloudflare:workersAi.model/@cf/baai/bge-base-en-v1.5"),
    ],
)
def test_event_subscription_message_is_the_event_it_announces(
    body: dict[str, Any], source: str
) -> None:
    """A Cloudflare product's event (event subscriptions deliver it to a queue) is an event of
    its own ``type``, at its ``eventTimestamp``, with its ``payload`` as data: it was a plain
    ``com.cloudflare.queues.message`` whose data was the whole envelope, so an
    ``@app.event("cf.kv.namespace.created")`` function never matched it."""
    sent = datetime(2025, 5, 1, 2, 49, tzinfo=timezone.utc)
    msg = queue.QueueMessage(id="m-1", timestamp=sent, body=body, attempts=1)
    event = queue.to_event(msg, "account-events")
    assert (event.id, event.type, event.source) == ("m-1", body["type"], source)
    assert event.time == datetime(2025, 5, 1, 2, 48, 57, 132000, tzinfo=timezone.utc)
    assert (event.data, event.datacontenttype) == (body["payload"], "application/json")
    assert event.extensions["cfsubscription"] == "1830c4bb612e43c3af7f4cada31fbf3f"
    # Without a usable timestamp it is the message's; a body that only looks alike stays plain.
    body = {**body, "metadata": {**body["metadata"], "eventTimestamp": "soon"}}
    assert queue.to_event(queue.QueueMessage("m-1", sent, body, 1), "q").time == sent
    plain = {"type": "cf.custom", "payload": 1}
    assert queue.to_event(queue.QueueMessage("m-2", sent, plain, 1), "q").type == queue.TYPE


def test_r2_notification_without_event_time_takes_the_message_timestamp() -> None:
    """The message format as first published on developers.cloudflare.com/r2/buckets/
    event-notifications/ has no ``eventTime``: ``time`` is then the queue message's
    ``timestamp`` (README mapping row "R2 notification")."""
    app = pf.App("shop")
    seen: list[pf.CloudEvent] = []

    @app.storage("my-bucket")
    def on_upload(event: pf.CloudEvent) -> None:
        seen.append(event)

    body = {
        "account": "3f4b7e3dcab231cbfdaa90a6a28bd548",
        "action": "PutObject",
        "bucket": "my-bucket",
        "object": {
            "key": "my-new-object",
            "size": 65536,
            "eTag": "c846ff7a18f28c2e262116d6e8719ef0",
        },
    }
    at = datetime(2024, 5, 24, 19, 36, 45, tzinfo=timezone.utc)
    _consume(app, "on_upload", body, at)
    (event,) = seen
    assert (event.subject, event.time) == ("my-new-object", at)


# -- R2 notifications ------------------------------------------------------------------------


def test_r2_documented_samples() -> None:
    put, copy, delete = messages(load_fixture("r2_notifications.json"))
    event = r2.to_event(put)
    assert event.type == "com.cloudflare.r2.object.PutObject"
    assert event.source == "cloudflare:r2/uploads"
    assert event.subject == "images/cat.png"
    assert event.id == "9a8b7c6d5e4f40312a1b2c3d4e5f6a7b"
    assert event.time == datetime(2024, 5, 24, 19, 36, 44, 379000, tzinfo=timezone.utc)
    assert event.data == {
        "bucket": "uploads",
        "key": "images/cat.png",
        "size": 65536,
        "etag": "c846ff7a18f28c2e262116d6e8719ef0",
        "action": "created",
    }
    assert r2.to_event(copy).data["action"] == "created"
    gone = r2.to_event(delete)
    assert gone.type == "com.cloudflare.r2.object.DeleteObject"
    assert gone.data == {
        "bucket": "uploads",
        "key": "images/old.png",
        "size": None,
        "etag": None,
        "action": "deleted",
    }


@pytest.mark.parametrize(
    ("action", "expected"),
    [("CompleteMultipartUpload", "created"), ("LifecycleDeletion", "deleted")],
)
def test_r2_other_actions(action: str, expected: str) -> None:
    body = {
        "account": "a",
        "action": action,
        "bucket": "b-1",
        "object": {"key": "k"},
        "eventTime": "2024-05-24T19:36:44Z",
    }
    msg = queue.QueueMessage(id="m", timestamp=None, body=body, attempts=1)
    assert r2.to_event(msg).data["action"] == expected


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "Nope", "bucket": "b", "object": {"key": "k"}}, "action"),
        ({"action": "PutObject", "bucket": "b", "object": {}}, "object.key"),
        ({"action": "PutObject", "bucket": "", "object": {"key": "k"}}, "bucket"),
        (
            {"action": "PutObject", "bucket": "b", "object": {"key": "k", "size": "big"}},
            "object.size",
        ),
        (
            {
                "action": "PutObject",
                "bucket": "b",
                "object": {"key": "k"},
                "eventTime": "yesterday",
            },
            "eventTime",
        ),
        ({"hello": "world"}, "body"),
    ],
)
def test_r2_malformed_fails_typed(body: dict[str, Any], field: str) -> None:
    msg = queue.QueueMessage(id="m", timestamp=None, body=body, attempts=1)
    with pytest.raises(EventDecodeError) as info:
        r2.to_event(msg)
    assert info.value.field == field


# -- cron ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "cron", "approximate"),
    [
        ("rate(1 minute)", "* * * * *", False),
        ("rate(5 minutes)", "*/5 * * * *", False),
        ("rate(1 hour)", "0 * * * *", False),
        ("rate(6 hours)", "0 */6 * * *", False),
        ("rate(1 day)", "0 0 * * *", False),
        ("rate(7 days)", "0 0 * * 1", False),
        ("rate(3 days)", "0 0 */3 * *", True),
        ("rate(7 minutes)", None, True),
        ("rate(45 days)", None, True),  # "*/45" is no Cloudflare cron
        # Cloudflare weekdays are 1-7 from Sunday: Monday-Friday is 2-6, Sunday (0 or 7) is 1
        ("0 9 * * 1-5", "0 9 * * 2-6", False),
        ("0 9 * * MON-FRI", "0 9 * * 2-6", False),
        ("0 12 * * 0", "0 12 * * 1", False),
        ("0 12 * * 7", "0 12 * * 1", False),
        ("0 0 * * 5-7", "0 0 * * 1,6-7", False),
        ("cron(30 6 ? jan *)", "30 6 * JAN *", False),
        ("0  3 * * *", "0 3 * * *", False),
    ],
)
def test_cron_for(expression: str, cron: str | None, approximate: bool) -> None:
    got, note = scheduled.cron_for(Schedule(expression=expression))
    assert got == cron
    assert (note is not None) == approximate


def test_scheduled_event_golden_fields() -> None:
    sample = adapter.sample_events()["scheduled"]

    class Controller:
        cron = sample["cron"]
        scheduledTime = sample["scheduledTime"]

    cron, when = scheduled.read_controller(Controller())
    event = scheduled.to_event(
        app_name="shop",
        function="nightly",
        cron=cron,
        scheduled_time=when,
        schedule=Schedule(expression="rate(1 day)"),
    )
    assert event.type == "com.cloudflare.workers.scheduled"
    assert event.source == "cloudflare:workers/shop"
    assert event.id == "shop/nightly/1732320000000"
    assert event.subject == "0 0 * * *"
    assert event.time == datetime(2024, 11, 23, tzinfo=timezone.utc)
    assert event.data == {"expression": "rate(1 day)", "scheduled_time": "2024-11-23T00:00:00Z"}


def test_controller_without_cron_fails_typed() -> None:
    with pytest.raises(EventDecodeError):
        scheduled.read_controller(object())


# -- settlement ------------------------------------------------------------------------------


def test_settle_ack_retry_dead_letter_drop() -> None:
    retry = Retry(max_retries=3, initial_backoff=2, max_backoff=20, jitter=False)
    assert settle(Outcome(True), attempts=1, retry=retry, dead_letter=None).action == "ack"
    delays = [
        settle(Outcome(False, ValueError()), attempts=n, retry=retry, dead_letter=None)
        for n in (1, 2, 3, 4, 5)
    ]
    assert [d.action for d in delays] == ["retry"] * 5
    assert [d.delay_seconds for d in delays] == [2, 4, 8, 16, 20]
    fatal = Outcome(False, pf.NonRetryable("no"), retryable=False)
    assert settle(fatal, attempts=1, retry=retry, dead_letter="dlq").action == "dead_letter"
    assert settle(fatal, attempts=1, retry=retry, dead_letter=None).action == "drop"


def test_settle_jitter_and_cap() -> None:
    retry = Retry(max_retries=100, initial_backoff=1, max_backoff=86_400)
    rand = random.Random(7)
    for attempts in (1, 5, 10, 30):
        d = settle(
            Outcome(False, ValueError()),
            attempts=attempts,
            retry=retry,
            dead_letter=None,
            rand=rand,
        ).delay_seconds
        assert d is not None and 1 <= d <= MAX_DELAY_SECONDS


# -- HTTP ------------------------------------------------------------------------------------


def test_request_from_parts() -> None:
    req = fetch.request_from_parts(
        "post",
        "https://w.example/a%20b/c?x=1&x=2&y=",
        [("content-type", "application/json"), ("cf-connecting-ip", "198.51.100.1")],
        b"{}",
    )
    assert req.method == "POST" and req.path == "/a b/c"
    assert req.query.getall("x") == ["1", "2"] and req.query.get("y") == ""
    assert req.client_ip == "198.51.100.1" and req.json() == {}


def test_response_parts_null_body_statuses() -> None:
    assert fetch.response_parts(pf.Response(status=204, body=b"x"))[2] is None
    status, headers, body = fetch.response_parts(pf.Response.json({"a": 1}, status=201))
    assert status == 201 and body == b'{"a":1}' and ("content-type", "application/json") in headers


# -- naming and findings ---------------------------------------------------------------------


def test_queue_names_are_valid_and_stable() -> None:
    long = plan.queue_name("t" * 40, "some_function_with_a_long_name")
    assert len(long) <= 63 and long == plan.queue_name("t" * 40, "some_function_with_a_long_name")
    assert plan.queue_name("Order_Events", "notify") == "order-events--notify"
    assert plan.binding_name("order-events--notify") == "Q_ORDER_EVENTS__NOTIFY"


def test_findings_for_what_workers_cannot_honour() -> None:
    app = pf.App("odd")

    @app.queue("ordered", fifo=True)
    def ordered(event: pf.CloudEvent) -> None: ...

    @app.schedule("rate(7 minutes)")
    def odd_rate(event: pf.CloudEvent) -> None: ...

    @app.stream("clicks")
    def clicks(event: pf.CloudEvent) -> None: ...

    @app.http("/admin", methods=["GET"])  # auth="function", the default
    def admin(req: pf.Request) -> None: ...

    @app.http("/", methods=["GET"], auth="anonymous")
    def home(req: pf.Request) -> None: ...

    levels = {(f.function, f.level) for f in findings(app)}
    assert ("ordered", "unsupported") in levels
    assert ("odd_rate", "unsupported") in levels
    assert ("clicks", "unsupported") in levels
    # Closed to unauthenticated callers on the other three, public here: loud, not a warning.
    assert ("admin", "unsupported") in levels
    assert not [f for f in findings(app) if f.function == "home"]


def test_a_failed_cron_run_is_reported_as_not_retried() -> None:
    # Cron Triggers take no retry setting and have no dead-letter: a failed run is only
    # recorded in the Worker's Cron Events and logs (runtime-apis/handlers/scheduled).
    app = pf.App("crons")

    @app.schedule(cron="0 3 * * *")
    def nightly(event: pf.CloudEvent) -> None: ...

    [warned] = [f.message for f in findings(app)
                if f.function == "nightly" and f.level == "warning"]
    assert "not retried" in warned and "no dead-letter" in warned
    assert "Cron Events" in warned


def test_findings_report_names_and_queues_cloudflare_refuses() -> None:
    app = pf.App("refused")

    @app.storage("logs.example.com")  # R2: [a-z0-9-] only (wrangler refuses the config)
    def dotted(event: pf.CloudEvent) -> None: ...

    @app.storage("plain-bucket")
    def plain(event: pf.CloudEvent) -> None: ...

    @app.queue("jobs")
    def first(event: pf.CloudEvent) -> None: ...

    @app.queue("jobs")  # a queue has one consumer: only one of the two can receive
    def second(event: pf.CloudEvent) -> None: ...

    found = findings(app)
    unsupported = {f.function: f.message for f in found if f.level == "unsupported"}
    assert set(unsupported) == {"dotted", "first"}
    assert "logs.example.com" in unsupported["dotted"]
    assert "'second'" in unsupported["first"]


def test_timestamps_from_the_sdk_are_utc() -> None:
    naive_local = datetime.fromtimestamp(1732370400)  # what the SDK makes of a JS Date
    msg = queue.QueueMessage.read(
        type("M", (), {"id": "x", "timestamp": naive_local, "body": 1, "attempts": 1})()
    )
    assert msg.timestamp == datetime(2024, 11, 23, 14, 0, tzinfo=timezone.utc)
    assert msg.timestamp - datetime(2024, 11, 23, 14, 0, tzinfo=timezone.utc) == timedelta(0)
