# SPDX-License-Identifier: Apache-2.0
"""Service Bus trigger: the three shapes a message arrives in (plain, structured CloudEvent,
AMQP-binding binary CloudEvent)."""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from typing import Any

import pytest
from portable_fn import App
from portable_fn.errors import EventDecodeError
from portable_fn.testing import RecordingPublisher

from portable_fn_azure import function_app, servicebus, worker


@pytest.mark.parametrize(("name", "golden"), [
    ("servicebus_plain", {
        "id": "87c66eaf88e84119b66a26278a7b4149", "source": "/azure/servicebus/orders",
        "type": "com.microsoft.servicebus.message", "subject": "Microsoft.Azure.ServiceBus",
        "time": datetime(2020, 6, 18, 5, 39, 12, 170000, tzinfo=timezone.utc),
        "datacontenttype": "application/json", "data": {"lucky_number": 23},
        "extensions": {"partitionkey": "customer-7", "sequence": "00000000000000000003"}}),
    ("servicebus_structured", {
        "id": "5a5f4a84-6c1e-4b4e-9d5c-9f0d3c1c2b7a",
        "type": "com.example.fulfilment.requested",
        "source": "/portable-fn/shop/request_fulfilment", "data": {"id": "o-1", "sku": "blue-mug"},
        "extensions": {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}),
    ("servicebus_amqp_binary", {
        "id": "inv-42-paid", "source": "/billing", "type": "com.example.invoice.paid",
        "subject": "invoice/42", "datacontenttype": "application/json", "data": {"invoice": 42},
        "time": datetime(2026, 11, 23, 10, 15, tzinfo=timezone.utc), "extensions": {}}),
])
def test_golden_fields(event: Any, name: str, golden: dict[str, Any]) -> None:
    ce = servicebus.to_event(worker.decode(event(name)), entity="orders")
    for attribute, value in golden.items():
        found = getattr(ce, attribute)
        assert (dict(found) if attribute == "extensions" else found) == value, attribute


def test_structured_content_type_with_a_non_event_body_fails_typed(event: Any) -> None:
    doc = event("servicebus_structured")
    doc["data"]["value"] = '{"hello": "world"}'
    with pytest.raises(EventDecodeError):
        servicebus.to_event(worker.decode(doc), entity="orders")


def test_topic_subscription_function_gets_the_published_event(shop: Any, event: Any) -> None:
    app, recorder = shop
    native = function_app(app)
    worker.invoke(native, "request_fulfilment", event("servicebus_structured"))
    [sent] = recorder.sent
    assert (sent.kind, sent.name) == ("queue", "fulfilment")
    assert sent.event.data == {"id": "o-1", "sku": "blue-mug"}
    # The trace carried by the incoming event travels on what the handler sends.
    assert sent.event.extensions.get("traceparent", "").split("-")[1] == (
        "0af7651916cd43dd8448eb211c80319c")


def test_delivery_count_is_the_attempt(event: Any) -> None:
    app = App("sb")
    app.use_publisher(RecordingPublisher())
    seen: list[int] = []

    @app.topic("news")
    def news(ev: Any, ctx: Any) -> None:
        seen.append(ctx.attempt)

    worker.invoke(function_app(app), "news", event("servicebus_structured"))
    assert seen == [4]


def test_a_message_without_a_body_has_no_data(event: Any) -> None:
    doc = event("servicebus_plain")
    doc["data"] = {"type": "string", "value": ""}
    doc["metadata"]["ContentType"] = ""
    ce = servicebus.to_event(worker.decode(doc), entity="orders")
    assert (ce.data, ce.datacontenttype) == (None, None)


def test_correlation_id_is_the_correlation_extension(event: Any) -> None:
    """A message another client sent with ``CorrelationId`` (trigger metadata ``CorrelationId``,
    https://learn.microsoft.com/azure/azure-functions/functions-bindings-service-bus-trigger
    #message-metadata) carries it as ``correlationid``, the CloudEvents correlation extension
    (https://github.com/cloudevents/spec/blob/main/cloudevents/extensions/correlation.md).
    Application properties, reply-to, time-to-live and the scheduled enqueue time stay on the
    native message (``ctx.native``), as SQS message attributes do on AWS."""
    doc = event("servicebus_plain")
    doc["metadata"]["CorrelationId"] = "order-1001"
    doc["metadata"]["ApplicationProperties"] = {"tenant": "eu-1"}
    ce = servicebus.to_event(worker.decode(doc), entity="orders")
    assert dict(ce.extensions) == {
        "partitionkey": "customer-7", "sequence": "00000000000000000003",
        "correlationid": "order-1001"}


def test_binary_mode_datacontenttype_from_the_property_without_a_content_type(
        event: Any) -> None:
    """The AMQP binding maps ``datacontenttype`` to the message's content-type; a producer that
    left that empty and sent ``cloudEvents:datacontenttype`` as an application property still
    declared the data's type, so the JSON body is JSON data, not bytes.
    https://github.com/cloudevents/spec/blob/main/cloudevents/bindings/amqp-protocol-binding.md"""
    doc = event("servicebus_amqp_binary")
    del doc["metadata"]["ContentType"]
    for name in ("ApplicationProperties", "UserProperties"):
        doc["metadata"][name]["cloudEvents_datacontenttype"] = "application/json"
    ce = servicebus.to_event(worker.decode(doc), entity="orders")
    assert (ce.datacontenttype, ce.data) == ("application/json", {"invoice": 42})


def test_binary_mode_without_a_specversion_is_refused_as_on_every_transport(
        event: Any) -> None:
    """``specversion`` is REQUIRED (spec 3.1.1; the AMQP binding maps it to
    ``cloudEvents:specversion``): a message without it was read as a 1.0 event here, where the
    HTTP, SQS, SNS and Pub/Sub readers refuse the same attributes."""
    doc = event("servicebus_amqp_binary")
    for name in ("ApplicationProperties", "UserProperties"):
        props = doc["metadata"][name]
        for key in [k for k in props if k.endswith("specversion")]:
            del props[key]
    with pytest.raises(EventDecodeError, match="specversion"):
        servicebus.to_event(worker.decode(doc), entity="orders")


@pytest.mark.parametrize("content_type", ["", "application/json"])
def test_utf8_bom_before_json_is_json_with_or_without_a_content_type(
        event: Any, content_type: str) -> None:
    """RFC 8259 section 8.1 lets a JSON parser ignore a leading UTF-8 BOM (.NET writers given
    ``Encoding.UTF8`` emit one): a body declared ``application/json`` already parsed through
    ``decode_data``; one without a content type is the same JSON."""
    doc = event("servicebus_plain")
    doc["data"] = {"type": "bytes", "base64": base64.b64encode(
        b'\xef\xbb\xbf{"lucky_number": 23}').decode()}
    doc["metadata"]["ContentType"] = content_type
    ce = servicebus.to_event(worker.decode(doc), entity="orders")
    assert (ce.type, ce.datacontenttype, ce.data) == (
        "com.microsoft.servicebus.message", "application/json", {"lucky_number": 23})


@pytest.mark.parametrize("content_type", ["", "application/json", "application/cloudevents+json"])
def test_utf8_bom_before_a_structured_cloudevent_is_that_event(
        event: Any, content_type: str) -> None:
    doc = event("servicebus_structured")
    body = b"\xef\xbb\xbf" + doc["data"]["value"].encode("utf-8")
    doc["data"] = {"type": "bytes", "base64": base64.b64encode(body).decode()}
    doc["metadata"]["ContentType"] = content_type
    ce = servicebus.to_event(worker.decode(doc), entity="orders")
    assert (ce.id, ce.type, ce.data) == (
        "5a5f4a84-6c1e-4b4e-9d5c-9f0d3c1c2b7a", "com.example.fulfilment.requested",
        {"id": "o-1", "sku": "blue-mug"})



def test_service_bus_triggers_take_the_body_as_bytes(event: Any) -> None:
    """Without ``dataType`` the host hands a non-.NET worker the body as a string and decodes it
    as UTF-8 first, so a binary body (Avro, protobuf, gzip) arrives with U+FFFD in place of its
    bytes: Azure/azure-functions-host#3125 (open; "binary data being corrupted into python
    servicebus trigger", 2024), Azure/azure-sdk-for-js#19759. ``dataType: binary`` makes the host
    send the bytes as they are (Azure/azure-functions-nodejs-worker#684, the maintainers' answer
    for the same host); the library's converter takes ``bytes`` and the adapter reads the body as
    it reads any (ContentType honoured, else JSON, text or bytes)."""
    import base64
    import json

    app = App("sb")
    app.use_publisher(RecordingPublisher())
    seen: list[Any] = []

    @app.topic("news")
    def news(ev: Any) -> None:
        seen.append(ev)

    @app.queue("orders")
    def orders(ev: Any) -> None:
        seen.append(ev)

    from portable_fn_azure.options import AzureOptions

    native = function_app(app, AzureOptions(queues="servicebus"))
    for name in ("news", "orders"):
        trigger = json.loads(worker.index(native)[name].get_function_json())["bindings"][0]
        assert trigger["type"] == "serviceBusTrigger"
        assert str(trigger.get("dataType")).lower() == "binary", name

    avro = b"Obj\x01\x04\x14avro.codec\x08null\x00\x9f\x92\x96\xff"
    doc = event("servicebus_plain")
    doc["data"] = {"type": "bytes", "base64": base64.b64encode(avro).decode()}
    doc["metadata"]["ContentType"] = "avro/binary"
    worker.invoke(native, "news", doc)
    doc["data"] = {"type": "bytes", "base64": base64.b64encode(b'{"lucky_number": 23}').decode()}
    doc["metadata"]["ContentType"] = "application/json"
    worker.invoke(native, "orders", doc)
    assert [(ev.datacontenttype, ev.data) for ev in seen] == [
        ("avro/binary", avro), ("application/json", {"lucky_number": 23})]


def test_a_message_without_message_id_is_identified_by_its_sequence_number(event: Any) -> None:
    """An AMQP sender that sets no ``message-id``, and IoT Hub message routing to a Service Bus
    endpoint, deliver messages without ``MessageId``: the host then leaves ``MessageId`` out of
    the trigger metadata (functions-bindings-service-bus-trigger#message-metadata). The broker's
    ``SequenceNumber`` is "a unique 64-bit integer ... and functions as its internal identifier",
    the same on every delivery of the message; on a partitioned entity its top 16 bits are the
    partition, so it is still unique in the entity
    (https://learn.microsoft.com/azure/service-bus-messaging/message-sequencing). So it is the
    id (as the ``sequence`` text), and such a message runs instead of being dead-lettered."""
    app = App("sb")
    app.use_publisher(RecordingPublisher())
    seen: list[Any] = []

    @app.topic("telemetry")
    def telemetry(ev: Any) -> None:
        seen.append(ev)

    native = function_app(app)
    partitioned = (3 << 48) + 17  # partition 3, 17th message of that partition
    for sequence, delivery in ((5, 1), (5, 2), (partitioned, 1)):
        doc = event("servicebus_plain")
        del doc["metadata"]["MessageId"]
        doc["metadata"]["SequenceNumber"] = sequence
        doc["metadata"]["DeliveryCount"] = delivery
        worker.invoke(native, "telemetry", doc)
    assert [ev.id for ev in seen] == [
        "00000000000000000005", "00000000000000000005", "00000844424930131985"]
    assert [ev.data for ev in seen] == [{"lucky_number": 23}] * 3


def test_a_message_without_message_id_or_sequence_number_fails_typed(event: Any) -> None:
    doc = event("servicebus_plain")
    del doc["metadata"]["MessageId"]
    del doc["metadata"]["SequenceNumber"]
    with pytest.raises(EventDecodeError) as info:
        servicebus.to_event(worker.decode(doc), entity="orders")
    assert info.value.field == "MessageId"
