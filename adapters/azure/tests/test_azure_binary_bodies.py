# SPDX-License-Identifier: Apache-2.0
"""A body without a content type that is bytes, not text, through every Azure message trigger
(``portable_fn.adapter.undeclared``): the same bytes are the same data as on GCP Pub/Sub."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from portable_fn import App
from portable_fn.testing import RecordingPublisher

from portable_fn_azure import AzureOptions, function_app, worker

# Google's binary Pub/Sub sample's data (googleapis/google-cloudevents,
# MessagePublishedData-binary.json), and a protobuf message that is valid UTF-8 by chance.
BODIES = [b"\x01\x02\x03\x04", b"\n\x05hello\x10\x01"]
WHEN = "2026-11-23T10:15:02Z"


def _app(seen: list[Any]) -> App:
    app = App("bin")
    app.use_publisher(RecordingPublisher())

    @app.queue("jobs")
    def jobs(event: Any) -> None:
        seen.append(event)

    @app.stream("telemetry")
    def telemetry(event: Any) -> None:
        seen.append(event)

    return app


@pytest.mark.parametrize("body", BODIES)
def test_control_characters_mean_bytes_on_every_message_trigger(body: bytes) -> None:
    """Event Hubs expects non-JSON payloads such as Avro or protobuf
    (https://learn.microsoft.com/azure/azure-functions/functions-bindings-event-hubs-trigger):
    UTF-8 that holds control characters reached the handler as a ``str`` here and as
    ``bytes`` on Pub/Sub. Service Bus, Storage Queue and Event Hubs bodies, as the Python
    worker hands them over (``type: bytes``, ``collection_bytes``)."""
    seen: list[Any] = []
    data = base64.b64encode(body).decode()
    worker.invoke(
        function_app(_app(seen), AzureOptions(queues="servicebus")), "jobs",
        {"binding": "serviceBusTrigger", "data": {"type": "bytes", "base64": data},
         "metadata": {"MessageId": "m", "DeliveryCount": 1, "EnqueuedTimeUtc": WHEN,
                      "SequenceNumber": 1, "UserProperties": {}, "ApplicationProperties": {}}},
    )
    worker.invoke(
        function_app(_app(seen)), "jobs",
        {"binding": "queueTrigger", "data": {"type": "bytes", "base64": data},
         "metadata": {"Id": "q", "DequeueCount": 1, "InsertionTime": WHEN}},
    )
    worker.invoke(
        function_app(_app(seen)), "telemetry",
        {"binding": "eventHubTrigger", "data": {"type": "collection_bytes", "value": [data]},
         "metadata": {"SystemPropertiesArray": [{"SequenceNumber": 1, "Offset": "0",
                                                 "PartitionKey": None, "EnqueuedTimeUtc": WHEN}],
                      "PartitionContext": {"PartitionId": "0"}}},
    )
    assert [(e.data, e.datacontenttype) for e in seen] == [
        (body, "application/octet-stream")
    ] * 3
