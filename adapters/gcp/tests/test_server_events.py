# SPDX-License-Identifier: Apache-2.0
"""The real runtime, events: functions-framework (gunicorn) serving the generated ``main.py`` on
127.0.0.1, sent Google's published sample payloads as Eventarc sends them, in binary mode
(``ce-*`` headers) and structured mode. The probe handlers record the portable event they got."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import pytest
from conftest import Recorder, Servers, binary_headers, load, raw
from portable_fn.events import CloudEvent, to_json
from pubsub_endpoint import PublishEndpoint

from portable_fn_gcp.harness import published_envelope

STRUCTURED = {"content-type": "application/cloudevents+json; charset=utf-8"}


def only(recorder: Recorder, function: str) -> dict[str, Any]:
    records = [r for r in recorder.records() if r["function"] == function]
    assert len(records) == 1, records
    return records[0]


def post_binary(probe: Servers, target: str, fixture: str) -> tuple[int, bytes]:
    status, _, body = probe[target].request(body=raw(fixture), headers=binary_headers(fixture))
    return status, body


# -- Pub/Sub messagePublished ---------------------------------------------------------------------


def test_pubsub_text_message_binary_mode(probe: Servers, recorder: Recorder) -> None:
    status, _ = post_binary(probe, "on_message", "pubsub_text_data.json")
    assert status == 200
    event = only(recorder, "on_message")["event"]
    assert event["id"] == "message-id"
    assert event["source"] == "//pubsub.googleapis.com/projects/my-project/topics/my-topic"
    assert event["type"] == "google.cloud.pubsub.topic.v1.messagePublished"
    assert event["time"] == "2021-02-05T04:06:14.109000Z"
    assert event["data"] == "test message 3"
    assert event["datacontenttype"].startswith("text/plain")


def test_pubsub_binary_payload_stays_bytes(probe: Servers, recorder: Recorder) -> None:
    status, _ = post_binary(probe, "on_message", "pubsub_binary_data.json")
    assert status == 200
    event = only(recorder, "on_message")["event"]
    assert base64.b64decode(event["data_base64"]) == b"\x01\x02\x03\x04"
    assert event["datacontenttype"] == "application/octet-stream"


def test_pubsub_ordering_key_becomes_partitionkey(probe: Servers, recorder: Recorder) -> None:
    status, _ = post_binary(probe, "on_message", "pubsub_complex_data.json")
    assert status == 200
    event = only(recorder, "on_message")["event"]
    assert event["partitionkey"] == "ordering-key"
    assert event["data"] == "test message 3"


def test_pubsub_structured_mode(probe: Servers, recorder: Recorder) -> None:
    body = raw("pubsub_structured.json")
    status, _, _ = probe["on_message"].request(body=body, headers=STRUCTURED)
    assert status == 200
    event = only(recorder, "on_message")["event"]
    assert (event["id"], event["data"], event["partitionkey"]) == (
        "message-id",
        "test message 3",
        "ordering-key",
    )
    assert event["source"] == "//pubsub.googleapis.com/projects/test-project/topics/my-topic"


def _original() -> CloudEvent:
    return CloudEvent(
        id="order-42-created",
        source="/portable-fn/shop/create_order",
        type="com.example.order.created",
        subject="orders/42",
        time=datetime(2026, 11, 23, 12, 30, 15, 123000, tzinfo=timezone.utc),
        datacontenttype="application/json",
        data={"id": "42", "sku": "abc", "qty": 2},
        extensions={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
    )


def test_carried_cloudevent_binary_binding_arrives_as_published(
    probe: Servers, recorder: Recorder
) -> None:
    headers, body = published_envelope(_original(), "my-topic")
    status, _, _ = probe["on_message"].request(body=body, headers=headers)
    assert status == 200
    assert only(recorder, "on_message")["event"] == json.loads(to_json(_original()))


def test_carried_cloudevent_structured_binding(probe: Servers, recorder: Recorder) -> None:
    envelope = load("pubsub_text_data.json")
    envelope["message"]["data"] = base64.b64encode(to_json(_original())).decode()
    envelope["message"]["attributes"] = {"content-type": "application/cloudevents+json"}
    headers = binary_headers("pubsub_text_data.json")
    status, _, _ = probe["on_message"].request(body=json.dumps(envelope).encode(), headers=headers)
    assert status == 200
    assert only(recorder, "on_message")["event"] == json.loads(to_json(_original()))


def test_carried_cloudevent_with_ce_datacontenttype_attribute(
    probe: Servers, recorder: Recorder
) -> None:
    """A binary-mode message shaped like the Pub/Sub binding's own example (section 3.1.4 of
    https://github.com/googleapis/google-cloudevents/blob/main/docs/spec/pubsub.md): every
    attribute is ``ce-<name>``, datacontenttype too, and there is no ``content-type``."""
    envelope = load("pubsub_text_data.json")
    envelope["message"]["data"] = base64.b64encode(b"plain words").decode()
    envelope["message"]["attributes"] = {
        "ce-specversion": "1.0",
        "ce-type": "com.example.someevent",
        "ce-time": "2020-03-10T03:56:24Z",
        "ce-id": "1234-1234-1234",
        "ce-source": "/mycontext/subcontext",
        "ce-datacontenttype": "text/plain; charset=utf-8",
    }
    headers = binary_headers("pubsub_text_data.json")
    status, _, _ = probe["on_message"].request(body=json.dumps(envelope).encode(), headers=headers)
    assert status == 200
    event = only(recorder, "on_message")["event"]
    assert (event["id"], event["type"]) == ("1234-1234-1234", "com.example.someevent")
    assert event["datacontenttype"] == "text/plain; charset=utf-8"
    assert event["data"] == "plain words"


def test_handler_failure_is_500_json_and_attempt_is_read(
    probe: Servers, recorder: Recorder
) -> None:
    event = _original().replace(data={"fail": True})
    headers, body = published_envelope(event, "jobs")
    envelope = json.loads(body)
    envelope["deliveryAttempt"] = 3  # present when the subscription dead-letters
    status, resp_headers, resp = probe["on_job"].request(
        body=json.dumps(envelope).encode(), headers=headers
    )
    assert status == 500
    assert resp_headers["content-type"] == ["application/json"]
    assert json.loads(resp) == {"error": {"status": 500, "message": "event handler failed"}}
    assert only(recorder, "on_job")["attempt"] == 3


def test_non_retryable_goes_to_the_dead_letter_topic_at_once(
    probe: Servers, recorder: Recorder, pubsub_endpoint: PublishEndpoint
) -> None:
    event = _original().replace(id="reject-me", data={"reject": True})
    headers, body = published_envelope(event, "jobs")
    status, _, _ = probe["on_job"].request(body=body, headers=headers)
    assert status == 200  # acknowledged: it is on the dead-letter topic, not retried
    moved = pubsub_endpoint.wait_for(lambda m: m.attributes.get("ce-id") == "reject-me")
    assert moved.topic == "projects/test-project/topics/jobs-dlq"
    assert moved.attributes["portable-fn-error"] == "NonRetryable: job rejected on purpose"
    sent = json.loads(body)["message"]
    assert moved.data == base64.b64decode(sent["data"])
    assert {k: v for k, v in moved.attributes.items() if k != "portable-fn-error"} == sent[
        "attributes"
    ]
    assert len(recorder.records()) == 1  # run once, never again


@pytest.mark.parametrize(
    "message",
    [
        {"data": "%%%not-base64", "messageId": "1"},  # data is not base64
        {"data": "", "attributes": {"ce-specversion": "1.0", "ce-type": "t"}},  # no ce-id
    ],
)
def test_malformed_message_is_dead_lettered_and_not_run(
    probe: Servers, recorder: Recorder, pubsub_endpoint: PublishEndpoint, message: dict[str, Any]
) -> None:
    marker = str(uuid.uuid4())
    attributes = {**message.get("attributes", {}), "marker": marker}
    envelope = {
        "message": {**message, "messageId": marker, "attributes": attributes},
        "subscription": "projects/p/subs/s",
    }
    body = json.dumps(envelope).encode()
    headers = binary_headers("pubsub_text_data.json")
    status, _, _ = probe["on_message"].request(body=body, headers=headers)
    assert status == 200
    # As received when the message could be read, else the whole delivery as a CloudEvent.
    moved = pubsub_endpoint.wait_for(
        lambda m: (
            m.topic.endswith("/probe-on-message-dlq")
            and (m.attributes.get("marker") == marker or marker.encode() in m.data)
        )
    )
    assert moved.attributes["portable-fn-error"].startswith("EventDecodeError")
    # A function without retries (max_retries=0) dead-letters it too: it was a 400, which
    # Eventarc without --retry dropped.
    status, _, _ = probe["no_retries"].request(body=body, headers=headers)
    assert status == 200
    pubsub_endpoint.wait_for(
        lambda m: (
            m.topic.endswith("/probe-no-retries-dlq")
            and (m.attributes.get("marker") == marker or marker.encode() in m.data)
        )
    )
    assert recorder.records() == []


def _lines_naming(server: Any, value: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    return [line for line in lines if value in (line.get("message_id"), line.get("event_id"))]


@pytest.mark.parametrize(
    "damage",
    [{"ce-time": "yesterday"}, {"ce-specversion": ""}],
    ids=["time-not-rfc3339", "empty-specversion"],
)
def test_a_binary_event_with_a_bad_attribute_is_dead_lettered_with_an_error_line(
    probe: Servers, recorder: Recorder, pubsub_endpoint: PublishEndpoint, damage: dict[str, str]
) -> None:
    """A binary-mode delivery whose ``ce-*`` attributes are no valid CloudEvent (CloudEvents
    1.0.2 ``time`` is RFC 3339; ``specversion`` is required and non-empty) was answered 400 with
    no log line at all and left to Pub/Sub's redeliveries. It is a malformed delivery like any
    other: an ERROR line naming the message, and the Pub/Sub message it carries moved to the
    dead-letter topic as published.

    Request: google-cloudevents ``examples/binary/pubsub/MessagePublishedData-text.json``,
    ``damage`` applied.
    """
    marker = str(uuid.uuid4())
    body = load("pubsub_text_data.json")
    body["message"]["messageId"] = marker
    body["message"]["attributes"]["marker"] = marker
    headers = {**binary_headers("pubsub_text_data.json"), **damage}
    status, _, resp = probe["on_message"].request(body=json.dumps(body).encode(), headers=headers)
    assert status == 200, resp
    moved = pubsub_endpoint.wait_for(lambda m: m.attributes.get("marker") == marker)
    assert moved.topic == "projects/test-project/topics/probe-on-message-dlq"
    assert moved.data == b"test message 3"
    assert moved.attributes["portable-fn-error"].startswith("EventDecodeError")
    malformed, gone = _lines_naming(probe["on_message"], marker)
    assert (malformed["severity"], malformed["message"]) == ("ERROR", "malformed delivery")
    assert malformed["subscription"] == body["subscription"]
    assert gone["severity"] == "ERROR"
    assert gone["message"] == "message moved to the dead-letter topic"
    assert recorder.records() == []


def test_a_structured_event_with_a_time_past_year_9999_is_dead_lettered_as_sent(
    probe: Servers, recorder: Recorder, pubsub_endpoint: PublishEndpoint
) -> None:
    """A structured-mode event whose ``time`` (RFC 3339, so at most year 9999) cannot be read
    was a silent 400 too; it is moved to the dead-letter topic as it was sent, with an ERROR
    line naming it.

    Event: google-cloudevents ``examples/structured/pubsub/MessagePublishedData-complex.json``
    shape (data: the text sample's message), ``time`` replaced.
    """
    marker = str(uuid.uuid4())
    event = {
        "specversion": "1.0", "id": marker, "time": "10000-01-01T00:00:00Z",
        "source": "//pubsub.googleapis.com/projects/my-project/topics/my-topic",
        "type": "google.cloud.pubsub.topic.v1.messagePublished",
        "datacontenttype": "application/json", "data": load("pubsub_text_data.json"),
    }
    body = json.dumps(event).encode()
    status, _, resp = probe["on_message"].request(body=body, headers=STRUCTURED)
    assert status == 200, resp
    moved = pubsub_endpoint.wait_for(lambda m: marker.encode() in m.data)
    assert moved.topic == "projects/test-project/topics/probe-on-message-dlq"
    assert moved.data == body
    assert moved.attributes["content-type"] == STRUCTURED["content-type"]
    assert _lines_naming(probe["on_message"], marker)[0]["severity"] == "ERROR"
    assert recorder.records() == []


def test_not_a_cloudevent_at_all_is_4xx(probe: Servers, recorder: Recorder) -> None:
    status, _, _ = probe["on_message"].request(
        body=b'{"hello": "world"}', headers={"content-type": "application/json"}
    )
    assert 400 <= status < 500
    assert recorder.records() == []


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/cloudevents-batch+json; charset=utf-8", b'[{"specversion": "1.0"}]'),
        ("application/cloudevents+json; charset=utf-8", b"[]"),
    ],
)
def test_batch_or_array_cloudevent_is_a_json_400(
    probe: Servers, recorder: Recorder, content_type: str, body: bytes
) -> None:
    """HTTP binding 3.3 batched mode and a structured array: one event per delivery here, so a
    malformed delivery (400), not the framework's crash (500, retried)."""
    status, resp_headers, resp = probe["no_retries"].request(
        body=body, headers={"content-type": content_type}
    )
    assert (status, json.loads(resp)["error"]["status"]) == (400, 400)
    assert resp_headers["content-type"] == ["application/json"]
    assert recorder.records() == []


_AUDIT = b'"source": "/s", "type": "google.cloud.audit.log.v1.written"'


# MARK: a fresh marker each run, to find the message on the dead-letter topic.
@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        # Not UTF-8: the JSON format's bytes are UTF-8 (RFC 8259 section 8.1).
        ("application/cloudevents+json; charset=utf-8",
         b'{"specversion": "1.0", "id": "\xffMARK", ' + _AUDIT + b"}"),
        ("application/cloudevents+json; charset=iso-8859-1",
         b'{"specversion": "1.0", "id": "caf\xe9MARK", ' + _AUDIT + b"}"),
        # Valid JSON nested deeper than a JSON parser recurses.
        ("application/cloudevents+json",
         b'{"specversion": "1.0", "id": "MARK", ' + _AUDIT + b', "data": '
         + b"[" * 100_000 + b"]" * 100_000 + b"}"),
    ],
    ids=["not-utf8", "latin-1", "deep"],
)
def test_structured_event_the_framework_cannot_parse_is_dead_lettered(
    probe: Servers,
    recorder: Recorder,
    pubsub_endpoint: PublishEndpoint,
    content_type: str,
    body: bytes,
) -> None:
    """Structured content mode (CloudEvents HTTP binding 3.2, JSON format; RFC 8259 section 8.1:
    JSON between systems is UTF-8): a body that is no readable JSON is a malformed delivery,
    not the framework's CloudEvents SDK crashing (500, retried, traceback logged). As any
    malformed delivery, it is moved to the function's dead-letter topic as it was sent and
    acknowledged (it was a 400, which Pub/Sub redelivered until its own policy gave up)."""
    marker = str(uuid.uuid4()).encode()
    body = body.replace(b"MARK", marker)
    headers = {"content-type": content_type}
    status, _, resp = probe["on_audit"].request(body=body, headers=headers)
    assert status == 200, resp
    moved = pubsub_endpoint.wait_for(lambda m: marker in m.data)
    assert moved.topic == "projects/test-project/topics/probe-on-audit-dlq"
    assert moved.data == body
    assert moved.attributes["content-type"] == content_type
    assert moved.attributes["portable-fn-error"].startswith("EventDecodeError")
    assert recorder.records() == []


_DEEP = b"[" * 100_000 + b"]" * 100_000
_AUDIT_HEADERS = {
    "ce-specversion": "1.0",
    "ce-id": "deep-1",
    "ce-source": "//cloudaudit.googleapis.com/projects/p/logs/activity",
    "ce-type": "google.cloud.audit.log.v1.written",
}


def test_binary_event_with_json_nested_past_the_parser_is_dead_lettered(
    probe: Servers, recorder: Recorder, pubsub_endpoint: PublishEndpoint
) -> None:
    """Binary content mode (CloudEvents HTTP binding 3.1): data that is JSON nested deeper
    than a parser recurses cannot be read, a malformed delivery, not the framework's
    CloudEvents SDK crashing on it (500, retried, traceback logged): moved to the dead-letter
    topic as it was sent (the data, the ``ce-*`` and ``content-type`` headers as attributes)
    and acknowledged."""
    marker = str(uuid.uuid4())
    headers = {**_AUDIT_HEADERS, "ce-id": marker, "content-type": "application/json"}
    status, _, resp = probe["on_audit"].request(body=_DEEP, headers=headers)
    assert status == 200, resp
    moved = pubsub_endpoint.wait_for(lambda m: m.attributes.get("ce-id") == marker)
    assert moved.topic == "projects/test-project/topics/probe-on-audit-dlq"
    assert moved.data == _DEEP
    assert {k: v for k, v in moved.attributes.items() if k != "portable-fn-error"} == headers
    assert recorder.records() == []


def test_binary_event_of_text_full_of_brackets_reaches_the_handler(
    probe: Servers, recorder: Recorder
) -> None:
    """Binary content mode with ``text/plain`` data: the text is the data, however many
    brackets it holds (the framework's SDK would try it as JSON and crash)."""
    headers = {**_AUDIT_HEADERS, "content-type": "text/plain; charset=utf-8"}
    status, _, _ = probe["on_audit"].request(body=_DEEP, headers=headers)
    assert status == 200
    event = only(recorder, "on_audit")["event"]
    assert (event["id"], event["data"]) == ("deep-1", _DEEP.decode())


def test_raw_push_subscription_body(probe: Servers, recorder: Recorder) -> None:
    # A push subscription pointed straight at the function sends the bare wrapper; the
    # framework converts it to messagePublished first.
    status, _, _ = probe["on_message"].request(
        body=raw("pubsub_text_data.json"), headers={"content-type": "application/json"}
    )
    assert status == 200
    event = only(recorder, "on_message")["event"]
    assert (event["id"], event["data"]) == ("message-id", "test message 3")


# -- Cloud Storage --------------------------------------------------------------------------------


def test_storage_finalized_binary(probe: Servers, recorder: Recorder) -> None:
    status, _ = post_binary(probe, "on_object", "storage_simple_data.json")
    assert status == 200
    event = only(recorder, "on_object")["event"]
    assert event["data"] == {
        "bucket": "sample-bucket",
        "key": "folder/Test.cs",
        "size": 352,
        "etag": "CNHZkbuF/ugCEAE=",
        "action": "created",
        "content_type": "text/plain",
    }
    assert event["subject"] == "folder/Test.cs"
    assert event["type"] == "google.cloud.storage.object.v1.finalized"
    assert event["source"] == "//storage.googleapis.com/projects/_/buckets/sample-bucket"


def test_storage_deleted_binary(probe: Servers, recorder: Recorder) -> None:
    status, _ = post_binary(probe, "on_object", "storage_complex_data.json")
    assert status == 200
    data = only(recorder, "on_object")["event"]["data"]
    assert (data["key"], data["size"], data["action"]) == ("MyFile", 0, "deleted")


def test_storage_structured(probe: Servers, recorder: Recorder) -> None:
    status, _, _ = probe["on_object"].request(
        body=raw("storage_structured_workflows.json"), headers=STRUCTURED
    )
    assert status == 200
    event = only(recorder, "on_object")["event"]
    assert event["data"]["key"] == "MyFile"
    assert event["id"] == "1234567"


def test_storage_prefix_filter_acknowledges_without_running(
    probe: Servers, recorder: Recorder
) -> None:
    status, _ = post_binary(probe, "on_image", "storage_simple_data.json")  # folder/, not images/
    assert status == 200
    assert recorder.records() == []


# -- Eventarc (Cloud Audit Logs) ------------------------------------------------------------------


def test_eventarc_audit_structured(probe: Servers, recorder: Recorder) -> None:
    status, _, _ = probe["on_audit"].request(
        body=raw("audit_structured_bigquery.json"), headers=STRUCTURED
    )
    assert status == 200
    event = only(recorder, "on_audit")["event"]
    sample = load("audit_structured_bigquery.json")
    assert event["type"] == "google.cloud.audit.log.v1.written"
    assert event["data"] == sample["data"]
    assert event["subject"] == sample["subject"]
    assert event["methodname"] == "jobservice.jobcompleted"  # camelCase made spec-valid
    assert event["time"] == "2021-11-25T21:56:00.653866Z"


def test_eventarc_audit_binary(probe: Servers, recorder: Recorder) -> None:
    status, _ = post_binary(probe, "on_audit", "audit_pubsub_create_topic_data.json")
    assert status == 200
    event = only(recorder, "on_audit")["event"]
    assert event["servicename"] == "pubsub.googleapis.com"
    assert event["data"] == load("audit_pubsub_create_topic_data.json")


def test_binary_attribute_sent_as_raw_utf8_reads_as_utf8(
    probe: Servers, recorder: Recorder
) -> None:
    """The HTTP binding wants non-ASCII ``ce-*`` values percent-encoded (3.1.3.2), but Go, curl
    and Node clients send raw UTF-8, whose bytes WSGI hands over decoded as latin-1
    (PEP 3333): read as UTF-8, as the local runtime's ingress reads them
    (``portable_fn/_local/ingress.py``). A percent-encoded value still decodes as before.

    Headers: ``binary_headers.json`` for the Pub/Sub CreateTopic audit sample, topic renamed.
    """
    headers = binary_headers("audit_pubsub_create_topic_data.json")
    topic = "projects/test-project/topics/café-主题"
    headers["ce-resourcename"] = topic.encode("utf-8").decode("latin-1")  # bytes on the wire
    headers["ce-subject"] = "pubsub.googleapis.com/" + quote(topic, safe="/")
    status, _, _ = probe["on_audit"].request(
        body=raw("audit_pubsub_create_topic_data.json"), headers=headers
    )
    assert status == 200
    event = only(recorder, "on_audit")["event"]
    assert event["resourcename"] == topic
    assert event["subject"] == "pubsub.googleapis.com/" + topic


# -- Cloud Scheduler ----------------------------------------------------------------------------


def test_scheduler_http_target(probe: Servers, recorder: Recorder) -> None:
    status, _, _ = probe["at_night"].request(
        headers={
            "X-CloudScheduler": "true",
            "X-CloudScheduler-JobName": "at-night",
            "X-CloudScheduler-ScheduleTime": "2026-11-23T03:30:00.000Z",
            "User-Agent": "Google-Cloud-Scheduler",
        }
    )
    assert status == 200
    event = only(recorder, "at_night")["event"]
    assert event["data"] == {"expression": "30 3 * * *", "scheduled_time": "2026-11-23T03:30:00Z"}
    assert event["id"] == "at-night@2026-11-23T03:30:00Z"
    assert event["type"] == "google.cloud.scheduler.job.v1.executed"


def test_scheduler_pubsub_target(probe: Servers, recorder: Recorder) -> None:
    # A Pub/Sub-target job pushed through Eventarc: the run is the message's publishTime.
    status, _ = post_binary(probe, "at_night", "pubsub_text_data.json")
    assert status == 200
    event = only(recorder, "at_night")["event"]
    assert event["data"]["scheduled_time"] == "2021-02-05T04:06:14.109000Z"


# -- Legacy (gen1 "background") event bodies, converted by functions-framework --------------------
# Shapes: GoogleCloudPlatform/functions-framework-conformance docs/mapping.md


def test_legacy_pubsub_background_event(probe: Servers, recorder: Recorder) -> None:
    body = {
        "context": {
            "eventId": "1215011316659232",
            "timestamp": "2020-05-18T12:13:19.209Z",
            "eventType": "google.pubsub.topic.publish",
            "resource": {
                "service": "pubsub.googleapis.com",
                "name": "projects/sample-project/topics/gcf-test",
                "type": "type.googleapis.com/google.pubsub.v1.PubsubMessage",
            },
        },
        "data": {
            "@type": "type.googleapis.com/google.pubsub.v1.PubsubMessage",
            "attributes": {"attr1": "attr1-value"},
            "data": "dGVzdCBtZXNzYWdlIDM=",
        },
    }
    status, _, _ = probe["on_message"].request(
        body=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    assert status == 200
    event = only(recorder, "on_message")["event"]
    assert (event["id"], event["data"]) == ("1215011316659232", "test message 3")
    assert event["source"] == "//pubsub.googleapis.com/projects/sample-project/topics/gcf-test"


def test_legacy_storage_background_event(probe: Servers, recorder: Recorder) -> None:
    body = {
        "context": {
            "eventId": "1147091835525187",
            "timestamp": "2020-04-23T07:38:57.772Z",
            "eventType": "google.storage.object.finalize",
            "resource": {
                "service": "storage.googleapis.com",
                "name": "projects/_/buckets/sample-bucket/objects/folder/Test.cs",
                "type": "storage#object",
            },
        },
        "data": load("storage_simple_data.json"),
    }
    status, _, _ = probe["on_object"].request(
        body=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    assert status == 200
    event = only(recorder, "on_object")["event"]
    assert (event["subject"], event["data"]["size"], event["data"]["action"]) == (
        "folder/Test.cs",
        352,
        "created",
    )
