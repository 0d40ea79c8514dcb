# SPDX-License-Identifier: Apache-2.0
"""Moving a message to the function's dead-letter topic (``dead_letter``): under the real
functions-framework server with the generated ``main.py`` (its Pub/Sub publisher reaching the
gRPC endpoint), and the function itself where no request is at hand."""

from __future__ import annotations

import json
import uuid
from typing import Any

import portable_fn as pf
from conftest import Recorder, Servers, load
from portable_fn.events import CloudEvent
from pubsub_endpoint import PublishEndpoint, Received

from portable_fn_gcp.dead_letter import forward
from portable_fn_gcp.publisher import PubSubPublisher

# JSON text Python's json.loads reads (as NaN) and json.dumps(allow_nan=False) cannot write.
NAN = b"NaN"


def _moved(
    probe: Servers, pubsub_endpoint: PublishEndpoint, function: str, marker: str,
    body: bytes, headers: dict[str, str],
) -> Received:
    """Post ``body`` to ``function``, acknowledged, and the message the dead-letter topic got
    for it (found by ``marker``)."""
    status, _, resp = probe[function].request(body=body, headers=headers)
    assert status == 200, resp
    return pubsub_endpoint.wait_for(lambda m: marker.encode() in m.data)


def _rejected(marker: str) -> bytes:
    return b'{"reject": true, "marker": "' + marker.encode() + b'", "amount": ' + NAN + b"}"


def test_a_rejected_event_whose_data_json_cannot_write_is_dead_lettered_as_sent(
    probe: Servers, recorder: Recorder, pubsub_endpoint: PublishEndpoint
) -> None:
    """A structured CloudEvent whose JSON data holds ``NaN`` (read, leniently, with the
    envelope) refused with ``pf.NonRetryable``: re-encoding it for the dead-letter topic failed,
    so the function crashed (a 500, redelivered until Pub/Sub's own policy gave up). It goes to
    the dead-letter topic as the request carried it, and is acknowledged. (In binary mode such a
    body is not JSON, RFC 8259 section 6, but its text, which writes again.)

    Request: CloudEvents HTTP binding 3.2
    (https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md).
    """
    marker = str(uuid.uuid4())
    body = (b'{"specversion": "1.0", "id": "' + marker.encode() + b'", "source": "/billing",'
            b' "type": "com.example.invoice.paid", "datacontenttype": "application/json",'
            b' "data": ' + _rejected(marker) + b"}")
    headers = {"content-type": "application/cloudevents+json; charset=utf-8"}
    moved = _moved(probe, pubsub_endpoint, "on_job", marker, body, headers)
    assert moved.topic == "projects/test-project/topics/jobs-dlq"
    assert moved.data == body
    assert {k: v for k, v in moved.attributes.items() if k != "portable-fn-error"} == headers
    assert moved.attributes["portable-fn-error"] == "NonRetryable: job rejected on purpose"
    assert len(recorder.records()) == 1  # it ran once


def test_an_undecodable_event_whose_data_json_cannot_write_is_dead_lettered_as_sent(
    probe: Servers, recorder: Recorder, pubsub_endpoint: PublishEndpoint
) -> None:
    """A Cloud Storage event whose ``size`` is ``NaN``: malformed, so dead-lettered at once;
    writing it again failed as above. It goes as sent.

    Event: google-cloudevents ``examples/structured/storage/StorageObjectData-workflows.json``,
    ``size`` replaced.
    """
    marker = str(uuid.uuid4())
    event = load("storage_structured_workflows.json")
    event["id"] = marker
    event["data"]["size"] = float("nan")
    body = json.dumps(event).encode()
    assert NAN in body
    headers = {"content-type": "application/cloudevents+json"}
    moved = _moved(probe, pubsub_endpoint, "on_object", marker, body, headers)
    assert moved.topic == "projects/test-project/topics/probe-on-object-dlq"
    assert moved.data == body
    assert moved.attributes["content-type"] == "application/cloudevents+json"
    assert moved.attributes["portable-fn-error"].startswith("EventDecodeError")
    assert recorder.records() == []


class _Log:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def error(self, message: str, **fields: Any) -> None:
        self.lines.append(("ERROR", message, fields))

    def warning(self, message: str, **fields: Any) -> None:
        self.lines.append(("WARNING", message, fields))


def test_an_event_with_no_request_that_cannot_be_written_is_left_to_pubsub() -> None:
    """With no request to forward (functions-framework's CloudEvent, outside its Flask app),
    such an event cannot be forwarded: an ERROR line, and False, so the caller answers non-2xx
    and Pub/Sub's own dead-letter policy takes over
    (https://cloud.google.com/pubsub/docs/handling-failures); never an exception."""
    app = pf.App("dl")

    @app.queue("dl-jobs")
    def job(event: pf.CloudEvent) -> None: ...

    sent: list[str] = []
    publisher = PubSubPublisher(bus_topic="b", project="p")
    publisher.forward = lambda topic, data, attributes: sent.append(topic)  # type: ignore[method-assign]
    app.use_publisher(publisher)
    event = CloudEvent.create(
        type="t", source="/s", datacontenttype="application/json", data={"n": float("nan")}
    )
    log = _Log()
    assert forward(app, "job", event, "NonRetryable: no", log) is False
    assert sent == []
    [(level, message, fields)] = log.lines
    assert level == "ERROR" and "leaving it to Pub/Sub" in message
    assert fields["topic"] == "dl-jobs-dlq"
