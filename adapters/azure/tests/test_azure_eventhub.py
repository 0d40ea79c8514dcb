# SPDX-License-Identifier: Apache-2.0
"""Event Hubs batches (cardinality many) with per-event metadata arrays, as the host sends them:
https://learn.microsoft.com/azure/azure-functions/functions-bindings-event-hubs-trigger
#event-metadata (``PartitionContext``; per event ``PropertiesArray``,
``SystemPropertiesArray``, ``PartitionKeyArray``, ``SequenceNumberArray``...)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

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
    assert dict(second.extensions) == {"sequence": "202"}
