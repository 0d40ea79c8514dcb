# SPDX-License-Identifier: Apache-2.0
"""Event Grid events that Event Grid delivered to a Storage Queue or a Service Bus queue (its
event handlers https://learn.microsoft.com/azure/event-grid/handler-storage-queues and
https://learn.microsoft.com/azure/event-grid/handler-service-bus): the message body is the event.
A CloudEvents-schema body is a structured CloudEvent already; an Event Grid-schema body is read
as the Event Grid trigger reads it, so ``@app.queue`` sees the same event either way (as the AWS
adapter unwraps S3 and EventBridge events from SQS bodies)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from portable_fn_azure import eventgrid, servicebus, storage_queue, worker


def _queue_doc(body: str) -> dict[str, Any]:
    return {"binding": "queueTrigger", "data": {"type": "string", "value": body},
            "metadata": {"Id": "0f3c5b1e-9c1d-4a57-8c1e-6a8f2f0d9b11", "DequeueCount": 1,
                         "InsertionTime": "2026-11-23T10:15:02+00:00"}}


def _servicebus_doc(body: str) -> dict[str, Any]:
    return {"binding": "serviceBusTrigger", "data": {"type": "string", "value": body},
            "metadata": {"MessageId": "5f1a0c2e8a4b4c3f9e2d7b6a5c4d3e2f", "DeliveryCount": 1,
                         "EnqueuedTimeUtc": "2026-11-23T10:15:02Z", "SequenceNumber": 9,
                         "ContentType": "application/json",
                         "UserProperties": {}, "ApplicationProperties": {}}}


@pytest.mark.parametrize("name", ["eventgrid_blob_created", "eventgrid_adls_renamed",
                                  "eventgrid_custom"])
def test_an_event_grid_schema_body_is_that_event(event: Any, name: str) -> None:
    native_doc = event(name)
    expected = eventgrid.to_event(worker.decode(native_doc))
    body = json.dumps(native_doc["data"]["value"])
    assert storage_queue.to_event(worker.decode(_queue_doc(body)), queue="jobs") == expected
    assert servicebus.to_event(worker.decode(_servicebus_doc(body)), entity="jobs") == expected


def test_an_offsetless_event_time_is_utc(event: Any) -> None:
    """``Microsoft.Storage.LifecyclePolicyCompleted`` is documented with an ``eventTime`` that has
    no offset (``2022-05-26T00:00:40.1880331``); Event Grid writes UTC."""
    doc = event("eventgrid_custom")["data"]["value"]
    doc["eventTime"] = "2022-05-26T00:00:40.1880331"
    ce = storage_queue.to_event(worker.decode(_queue_doc(json.dumps(doc))), queue="jobs")
    assert ce.time is not None and ce.time.isoformat() == "2022-05-26T00:00:40.188033+00:00"


def test_a_payload_that_only_shares_some_names_stays_the_payload() -> None:
    body = json.dumps({"id": "o-1", "eventType": "order", "amount": 3})
    ce = storage_queue.to_event(worker.decode(_queue_doc(body)), queue="jobs")
    assert ce.type == storage_queue.TYPE
    assert ce.data == {"id": "o-1", "eventType": "order", "amount": 3}
