# SPDX-License-Identifier: Apache-2.0
"""Event Hubs batches (cardinality many) with per-event metadata arrays, as the host sends them:
https://learn.microsoft.com/azure/azure-functions/functions-bindings-event-hubs-trigger
#event-metadata (``PartitionContext``; per event ``PropertiesArray``,
``SystemPropertiesArray``, ``PartitionKeyArray``, ``SequenceNumberArray``...)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from portable_fn import App
from portable_fn.testing import RecordingPublisher

from portable_fn_azure import function_app, worker


def _stream_app() -> tuple[App, list[Any]]:
    app = App("streams")
    app.use_publisher(RecordingPublisher())
    seen: list[Any] = []

    @app.stream("telemetry")
    def telemetry(ev: Any) -> None:
        seen.append(ev)

    return app, seen


def test_binary_mode_cloudevent_in_event_properties(event: Any) -> None:
    """The CloudEvents AMQP binding applies to Event Hubs as to Service Bus: attributes in the
    event's application properties (``cloudEvents:``/``cloudEvents_``), the body is ``data`` and
    the AMQP content-type its ``datacontenttype``.
    https://github.com/cloudevents/spec/blob/main/cloudevents/bindings/amqp-protocol-binding.md
    The other event of the batch, with plain properties, gets the adapter's mapping."""
    app, seen = _stream_app()
    worker.invoke(function_app(app), "telemetry", event("eventhub_amqp_binary"))
    first, second = seen
    assert (first.id, first.source, first.type, first.subject) == (
        "inv-42-paid", "/billing", "com.example.invoice.paid", "invoice/42")
    assert first.time == datetime(2026, 11, 23, 10, 15, tzinfo=timezone.utc)
    assert (first.datacontenttype, first.data) == ("application/json", {"invoice": 42})
    assert (second.id, second.type, second.data) == (
        "1:202", "com.microsoft.eventhub.event", {"reading": 21.5})
    assert dict(second.extensions) == {"sequence": "00000000000000000202"}


def test_batches_are_bound_as_bytes_so_events_that_are_not_json_are_delivered() -> None:
    """Without ``dataType``, the host binds a ``cardinality: many`` batch to objects through
    Json.NET and fails the whole batch, before any function code runs, when one event is not JSON
    ("Binding parameters to complex objects (such as 'Object') uses Json.NET serialization"):
    Azure/azure-webjobs-sdk#1830, Azure/azure-functions-eventhubs-extension#118,
    Azure/azure-functions-nodejs-library#187 (v4 model, 2023); MicrosoftDocs/azure-docs#126256
    documents ``dataType`` string or binary for input that is not JSON. ``binary`` keeps every
    byte (Avro, protobuf, text): the host then sends ``collection_bytes``, which the library
    decodes per event and the adapter reads as it reads any body."""
    import base64
    import json

    app, seen = _stream_app()
    native = function_app(app)
    trigger = json.loads(worker.index(native)["telemetry"].get_function_json())["bindings"][0]
    assert trigger["type"] == "eventHubTrigger"
    # The library writes the enum's name; the host reads dataType ignoring case.
    assert str(trigger.get("dataType")).lower() == "binary"

    bodies = [b'{"reading": 21.5}', b"plain text", b"\x00\x9f\x92\x96 avro"]
    doc = {
        "binding": "eventHubTrigger",
        "data": {"type": "collection_bytes",
                 "value": [base64.b64encode(body).decode() for body in bodies]},
        "metadata": {
            "SystemPropertiesArray": [
                {"SequenceNumber": 7 + i, "Offset": str(100 * i), "PartitionKey": None,
                 "EnqueuedTimeUtc": "2026-11-23T10:15:02Z"} for i in range(3)],
            "PropertiesArray": [{}, {}, {}],
            "PartitionContext": {"ConsumerGroup": "$Default", "EventHubName": "telemetry",
                                 "PartitionId": "0"},
        },
    }
    worker.invoke(native, "telemetry", doc)
    assert [(ev.id, ev.data) for ev in seen] == [
        ("0:7", {"reading": 21.5}), ("0:8", "plain text"), ("0:9", bodies[2])]


def test_a_retried_batch_reports_its_attempt(event: Any) -> None:
    """Event Hubs redelivers nothing itself: a failed batch is rerun by the function's retry
    policy, and the worker says which run this is in ``context.retry_context.retry_count``
    (0 on the first run; https://learn.microsoft.com/azure/azure-functions/functions-reference-python#context,
    functions-bindings-error-pages#retries). ``ctx.attempt`` counts from 1, as the Storage Queue
    ``DequeueCount`` and the Service Bus ``DeliveryCount`` do."""
    app = App("streams")
    app.use_publisher(RecordingPublisher())
    attempts: list[int] = []

    @app.stream("telemetry")
    def telemetry(ev: Any, ctx: Any) -> None:
        attempts.append(ctx.attempt)

    native = function_app(app)
    worker.invoke(native, "telemetry", event("eventhub_many"))
    assert attempts == [1, 1, 1]
    context = worker.InvocationContext("telemetry")
    context.retry_context.retry_count = 2
    context.retry_context.max_retry_count = 5
    attempts.clear()
    worker.invoke(native, "telemetry", event("eventhub_many"), context=context)
    assert attempts == [3, 3, 3]


def test_a_cardinality_one_invocation_runs_as_a_batch_of_one() -> None:
    """An invocation document of ``cardinality: one``, the single-event shape the trigger page
    documents (https://learn.microsoft.com/azure/azure-functions/functions-bindings-event-hubs-trigger
    #event-metadata: ``SystemProperties``, ``Properties``, ``PartitionContext``; the library's
    converter then passes one ``EventHubEvent``, not a list), runs as a batch of one through
    ``portable-fn invoke``, instead of failing inside the runner with a ``TypeError``. Its
    application properties are read as the batch's are (AMQP binary mode here)."""
    import base64

    app, seen = _stream_app()
    system = {"x-opt-sequence-number": 5, "x-opt-offset": "480",
              "x-opt-enqueued-time": "2026-11-23T10:15:02Z", "SequenceNumber": 5,
              "Offset": "480", "PartitionKey": "sensor-1",
              "EnqueuedTimeUtc": "2026-11-23T10:15:02Z"}
    partition = {"ConsumerGroup": "$Default", "EventHubName": "telemetry",
                 "FullyQualifiedNamespace": "example.servicebus.windows.net", "PartitionId": "2"}
    one = {
        "binding": "eventHubTrigger",
        "data": {"type": "bytes", "base64": base64.b64encode(b'{"reading": 21.5}').decode()},
        "metadata": {"SystemProperties": system, "Properties": {}, "PartitionContext": partition,
                     "EnqueuedTimeUtc": "2026-11-23T10:15:02Z", "SequenceNumber": 5,
                     "Offset": "480", "PartitionKey": "sensor-1"},
    }
    native = function_app(app)
    worker.invoke(native, "telemetry", one)
    [ev] = seen
    assert (ev.id, ev.type, ev.data) == ("2:5", "com.microsoft.eventhub.event", {"reading": 21.5})
    assert dict(ev.extensions) == {"sequence": "00000000000000000005", "partitionkey": "sensor-1"}

    seen.clear()
    one["metadata"]["Properties"] = {  # type: ignore[index]
        "cloudEvents:specversion": "1.0", "cloudEvents:id": "inv-42-paid",
        "cloudEvents:source": "/billing", "cloudEvents:type": "com.example.invoice.paid"}
    worker.invoke(native, "telemetry", one)
    assert [(e.id, e.type) for e in seen] == [("inv-42-paid", "com.example.invoice.paid")]


def test_sequence_extension_orders_as_text_across_digit_counts(event: Any) -> None:
    """The CloudEvents sequence extension requires values a consumer can order as strings
    ("lexicographically-orderable ... padding the values with leading zeros",
    https://github.com/cloudevents/spec/blob/main/cloudevents/extensions/sequence.md). Event
    Hubs sequence numbers are 64-bit integers per partition (functions-bindings-event-hubs-trigger
    #event-metadata, ``SequenceNumberArray``): 9 then 10 must stay in that order as text."""
    doc = event("eventhub_many")
    doc["data"] = {"type": "collection_string", "value": ['{"n": 1}', '{"n": 2}']}
    doc["metadata"]["SystemPropertiesArray"] = [
        {"SequenceNumber": 9, "Offset": "100", "EnqueuedTimeUtc": "2026-11-23T10:15:02Z"},
        {"SequenceNumber": 10, "Offset": "200", "EnqueuedTimeUtc": "2026-11-23T10:15:03Z"}]
    app, seen = _stream_app()
    worker.invoke(function_app(app), "telemetry", doc)
    sequences = [ev.extensions["sequence"] for ev in seen]
    assert sequences == sorted(sequences) == ["00000000000000000009", "00000000000000000010"]
    assert [ev.id for ev in seen] == ["3:9", "3:10"]


def test_an_event_nested_past_the_parser_does_not_fail_its_batch() -> None:
    """One event of a batch (collection_bytes, as the host sends ``dataType`` binary:
    functions-bindings-event-hubs-trigger#event-metadata) whose body is JSON nested deeper than
    the parser recurses is its text, as any body that does not parse; before, its RecursionError
    escaped the batch dispatch, so the whole batch failed on every run and the events after it
    never ran, even on the last run, where the checkpoint moves past them."""
    import base64

    app, seen = _stream_app()
    deep = "[" * 20000 + "]" * 20000
    bodies = [b'{"reading": 1}', deep.encode(), b'{"reading": 3}']
    props = [{"SequenceNumber": n, "Offset": str(n * 100), "PartitionKey": None,
              "EnqueuedTimeUtc": "2026-11-23T10:15:02Z"} for n in (1, 2, 3)]
    worker.invoke(function_app(app), "telemetry", {
        "binding": "eventHubTrigger",
        "data": {"type": "collection_bytes",
                 "value": [base64.b64encode(b).decode() for b in bodies]},
        "metadata": {"SystemPropertiesArray": props,
                     "PartitionContext": {"PartitionId": "0", "EventHubName": "telemetry"}}})
    assert [ev.data for ev in seen] == [{"reading": 1}, deep, {"reading": 3}]


def test_an_undecodable_event_is_logged_with_where_to_replay_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An event that cannot be decoded fails for good, and Event Hubs has no dead-letter: the
    checkpoint moves past it and the ERROR line is all that is left of it. That line named only
    the function and the batch's invocation: now it gives the partition, sequence number and
    offset to replay the event from while the hub retains it. The rest of the batch runs."""
    import base64
    import json

    app, seen = _stream_app()
    bodies = [b'{"reading": 1}', b'{"specversion": "1.0", "id": "x"}', b'{"reading": 3}']
    props = [{"SequenceNumber": n, "Offset": str(n * 4096), "PartitionKey": None,
              "EnqueuedTimeUtc": "2026-11-23T10:15:02Z"} for n in (101, 102, 103)]
    worker.invoke(function_app(app), "telemetry", {
        "binding": "eventHubTrigger",
        "data": {"type": "collection_bytes",
                 "value": [base64.b64encode(b).decode() for b in bodies]},
        "metadata": {"SystemPropertiesArray": props,
                     "PartitionContext": {"PartitionId": "3", "EventHubName": "telemetry"}}})
    assert [ev.id for ev in seen] == ["3:101", "3:103"]
    [line] = [json.loads(out) for out in capsys.readouterr().out.splitlines()
              if '"ERROR"' in out]
    assert "partition 3, sequence 102, offset 417792" in line["error"]
    assert line["error"].startswith("azure eventHubTrigger field 'source': Event Hubs event")
