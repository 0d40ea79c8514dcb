# SPDX-License-Identifier: Apache-2.0
"""Storage Queue trigger: ``QueueMessage`` as the worker builds it -> CloudEvent -> handler."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from portable_fn import App
from portable_fn.errors import EventDecodeError, NonRetryable
from portable_fn.testing import RecordingPublisher

from portable_fn_azure import function_app, storage_queue, worker


@pytest.mark.parametrize(("name", "golden"), [
    ("queue_plain_json", {
        "id": "b6f1bd79-5d3e-4dbf-b2e1-5a8ddf4a6f5e", "source": "/azure/storage/queues/jobs",
        "type": "com.microsoft.storage.queue.message", "datacontenttype": "application/json",
        "time": datetime(2026, 11, 23, 10, 15, 2, tzinfo=timezone.utc),
        "data": {"orderId": "1001", "sku": "blue-mug"}}),
    ("queue_plain_text", {
        "id": "4b0c4fb5-8a4f-4c06-9d8f-3f6e2b7a1c22",
        "datacontenttype": "text/plain; charset=utf-8",
        "time": datetime(2026, 11, 23, 10, 15, 2, 123456, tzinfo=timezone.utc),
        "data": "resize photos/cat.png"}),
    ("queue_bytes", {"datacontenttype": "application/octet-stream",
                     "data": b"\x00\x9f\x92\x96\xff"}),
    ("queue_cloudevent", {  # what pf.send wrote: the original event, unchanged
        "id": "5a5f4a84-6c1e-4b4e-9d5c-9f0d3c1c2b7a",
        "source": "/portable-fn/shop/request_fulfilment",
        "type": "com.example.fulfilment.requested", "data": {"id": "o-1", "sku": "blue-mug"},
        "extensions": {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}),
])
def test_golden_fields(event: Any, name: str, golden: dict[str, Any]) -> None:
    msg = worker.decode(event(name))
    ce = storage_queue.to_event(msg, queue="jobs")
    for attribute, value in golden.items():
        found = getattr(ce, attribute)
        assert (dict(found) if attribute == "extensions" else found) == value, attribute


def test_invalid_cloudevent_body_is_a_typed_decode_error(event: Any) -> None:
    msg = worker.decode(event("queue_bad_cloudevent"))
    with pytest.raises(EventDecodeError) as info:
        storage_queue.to_event(msg, queue="jobs")
    assert (info.value.provider, info.value.trigger) == ("azure", "queueTrigger")


def test_attempt_is_the_dequeue_count(event: Any) -> None:
    seen: list[int] = []

    test_app = App("attempts")
    test_app.use_publisher(RecordingPublisher())

    @test_app.queue("jobs")
    def job(ev: Any, ctx: Any) -> None:
        seen.append(ctx.attempt)

    worker.invoke(function_app(test_app), "job", event("queue_cloudevent"))
    assert seen == [2]


def test_shop_fulfil_succeeds_and_poison_raises(shop: Any, event: Any) -> None:
    app, _ = shop
    native = function_app(app)
    assert worker.invoke(native, "fulfil", event("queue_cloudevent")) is None
    doc = event("queue_cloudevent")
    doc["data"]["value"] = doc["data"]["value"].replace("blue-mug", "poison")
    with pytest.raises(ValueError, match="poison"):  # the host will redeliver
        worker.invoke(native, "fulfil", doc)


def test_non_retryable_without_storage_setting_raises_for_the_host(
        event: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AzureWebJobsStorage", raising=False)
    app = App("nonretry")
    app.use_publisher(RecordingPublisher())

    @app.queue("jobs")
    def job(ev: Any) -> None:
        raise NonRetryable("bad order")

    native = function_app(app)
    with pytest.raises(NonRetryable):
        worker.invoke(native, "job", event("queue_plain_json"))
    with pytest.raises(EventDecodeError):  # undecodable: never reaches the handler
        worker.invoke(native, "job", event("queue_bad_cloudevent"))


def test_cloudevent_time_with_a_one_digit_fraction(event: Any) -> None:
    doc = event("queue_cloudevent")
    doc["data"]["value"] = doc["data"]["value"].replace("10:15:01.500Z", "10:15:01.5Z")
    ce = storage_queue.to_event(worker.decode(doc), queue="jobs")
    assert ce.time == datetime(2026, 11, 23, 10, 15, 1, 500000, tzinfo=timezone.utc)


@pytest.mark.parametrize("name", ["queue_plain_json", "queue_cloudevent"])
def test_utf8_bom_before_json_is_ignored(event: Any, name: str) -> None:
    """RFC 8259 section 8.1 lets a JSON parser ignore a leading UTF-8 BOM, which .NET writers
    given ``Encoding.UTF8`` emit: the message is the same JSON data (or the same structured
    CloudEvent) as without it, as a Service Bus body declared ``application/json`` is."""
    plain = storage_queue.to_event(worker.decode(event(name)), queue="jobs")
    doc = event(name)
    doc["data"]["value"] = "\ufeff" + doc["data"]["value"]
    ce = storage_queue.to_event(worker.decode(doc), queue="jobs")
    assert (ce.id, ce.type, ce.source, ce.datacontenttype, ce.data) == (
        plain.id, plain.type, plain.source, plain.datacontenttype, plain.data)
    assert isinstance(ce.data, dict)


@pytest.mark.parametrize("text", ["NaN", "-Infinity", "1e999"])
def test_nan_and_infinity_are_text_not_numbers(event: Any, text: str) -> None:
    """RFC 8259 has no NaN or infinities: such a body is the text sent, as on AWS and GCP (a
    float nan in the data would also fail pf.publish when the handler passes it on)."""
    doc = event("queue_plain_text")
    doc["data"]["value"] = text
    ce = storage_queue.to_event(worker.decode(doc), queue="jobs")
    assert (ce.datacontenttype, ce.data) == ("text/plain; charset=utf-8", text)


def test_json_nested_past_the_parser_is_text_not_an_untyped_failure(event: Any) -> None:
    """RFC 8259 section 9 lets a parser limit nesting; a Storage Queue message (64 KiB of base64
    text, so 48 KiB of payload: functions-bindings-storage-queue-trigger) holds JSON 20,000 levels
    deep, past what CPython's parser recurses (3.10 to 3.13). It is read as a body that is not
    JSON we can read, its text (the README's mapping: JSON if it parses, else UTF-8 text), as the
    GCP adapter reads the same Pub/Sub body; not a RecursionError that skips the poison queue and
    spends every retry."""
    body = "[" * 20000 + "]" * 20000
    doc = event("queue_plain_text")
    doc["data"]["value"] = body
    ce = storage_queue.to_event(worker.decode(doc), queue="jobs")
    assert (ce.datacontenttype, ce.data) == ("text/plain; charset=utf-8", body)
    app, seen = App("deep"), []
    app.use_publisher(RecordingPublisher())

    @app.queue("jobs")
    def job(ev: Any) -> None:
        seen.append(ev.data)

    worker.invoke(function_app(app), "job", doc)
    assert seen == [body]


def test_utf8_bom_before_text_stays_in_the_text(event: Any) -> None:
    doc = event("queue_plain_text")
    doc["data"]["value"] = "\ufeffresize"
    ce = storage_queue.to_event(worker.decode(doc), queue="jobs")
    assert (ce.datacontenttype, ce.data) == ("text/plain; charset=utf-8", "\ufeffresize")


def test_the_queue_trigger_takes_the_message_as_bytes() -> None:
    """Without ``dataType`` the host binds a Storage Queue message as a string, decoding its
    bytes as strict UTF-8 (the WebJobs queue extension's ``StorageQueueMessageToStringConverter``
    calls ``Body.ToValidUTF8String()``): a message that is not UTF-8 fails binding in the host on
    every dequeue and goes to the poison queue unseen. ``dataType: binary`` hands the worker the
    bytes, which the adapter reads as it reads any body (JSON, text, else bytes)."""
    import json

    app = App("sq")
    app.use_publisher(RecordingPublisher())

    @app.queue("jobs")
    def jobs(ev: Any) -> None:
        pass

    trigger = json.loads(worker.index(function_app(app))["jobs"].get_function_json())["bindings"][0]
    assert trigger["type"] == "queueTrigger"
    # The library writes the enum's name; the host reads dataType ignoring case.
    assert str(trigger.get("dataType")).lower() == "binary"
