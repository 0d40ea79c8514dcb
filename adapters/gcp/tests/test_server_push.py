# SPDX-License-Identifier: Apache-2.0
"""The real runtime, Pub/Sub push forms functions-framework's CloudEvent view refuses by itself
(400/415, the function never called): an attribute-only message, and payload unwrapping. The
generated ``main.py`` takes them first (``intake``)."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from conftest import Recorder, Servers, load
from portable_fn.events import CloudEvent, to_dict
from pubsub_endpoint import PublishEndpoint

from portable_fn_gcp.binding import to_message

JSON = {"content-type": "application/json"}


def only(recorder: Recorder, function: str) -> dict[str, Any]:
    records = [r for r in recorder.records() if r["function"] == function]
    assert len(records) == 1, records
    return records[0]


def test_attribute_only_push_message_reaches_the_handler(
    probe: Servers, recorder: Recorder
) -> None:
    """A message may carry attributes and no data
    (https://cloud.google.com/pubsub/docs/reference/rest/v1/PubsubMessage: "must contain either
    a non-empty data field, or at least one attribute"); its push body then has no ``data``.

    Body: https://cloud.google.com/pubsub/docs/push#receive_push , ``data`` removed.
    """
    body = load("push_documented.json")
    del body["message"]["data"]
    body["deliveryAttempt"] = 2
    status, _, _ = probe["on_message"].request(body=json.dumps(body).encode(), headers=JSON)
    assert status == 200
    record = only(recorder, "on_message")
    event = record["event"]
    assert event["id"] == "2070443601311540"
    assert event["type"] == "google.cloud.pubsub.topic.v1.messagePublished"
    assert event["source"] == (
        "//pubsub.googleapis.com/projects/myproject/subscriptions/mysubscription"
    )
    assert event["time"] == "2021-02-26T19:13:55.749000Z"
    assert "data" not in event and "data_base64" not in event
    assert record["attempt"] == 2


def test_documented_push_body_keeps_its_data(probe: Servers, recorder: Recorder) -> None:
    """The documented push body as is: https://cloud.google.com/pubsub/docs/push#receive_push"""
    body = load("push_documented.json")
    status, _, _ = probe["on_message"].request(body=json.dumps(body).encode(), headers=JSON)
    assert status == 200
    event = only(recorder, "on_message")["event"]
    assert event["data"] == "Hello Cloud Pub/Sub! Here is my message!"
    assert event["id"] == "2070443601311540"


def test_unwrapped_push_with_metadata_headers(probe: Servers, recorder: Recorder) -> None:
    """Payload unwrapping with write metadata: the body is the message data, the metadata is in
    ``x-goog-pubsub-*`` headers and the attributes are headers of their own names.

    https://cloud.google.com/pubsub/docs/payload-unwrapping ;
    https://cloud.google.com/pubsub/docs/reference/rest/v1/projects.subscriptions#nowrapper
    """
    sample = load("push_unwrapped.json")
    status, _, _ = probe["on_message"].request(
        body=sample["body"].encode(), headers=sample["headers"]
    )
    assert status == 200
    event = only(recorder, "on_message")["event"]
    assert event["id"] == "2070443601311540"
    assert event["data"] == {"status": "Hello there"}
    assert event["datacontenttype"] == "application/json"
    assert event["partitionkey"] == "some-key"
    assert event["time"] == "2021-02-26T19:13:55.749000Z"
    assert event["source"] == "//pubsub.googleapis.com/projects/my-project/subscriptions/mysub"


def test_unwrapped_push_of_text_is_not_refused(probe: Servers, recorder: Recorder) -> None:
    """functions-framework answers 415 to an unwrapped non-JSON body; the function takes it.

    Headers: https://cloud.google.com/pubsub/docs/payload-unwrapping
    """
    headers = {
        k: v for k, v in load("push_unwrapped.json")["headers"].items() if k != "Content-Type"
    }
    headers["content-type"] = "text/plain; charset=utf-8"
    status, _, _ = probe["on_message"].request(body=b"plain words", headers=headers)
    assert status == 200
    assert only(recorder, "on_message")["event"]["data"] == "plain words"


def test_unwrapped_storage_notification_reaches_a_storage_function(
    probe: Servers, recorder: Recorder
) -> None:
    """A Cloud Storage notification pushed unwrapped: its attributes (``eventType``,
    ``bucketId``, ``objectId``, https://cloud.google.com/storage/docs/pubsub-notifications#attributes)
    arrive as headers, so lower-cased; the body is the object resource (JSON_API_V1).

    Object: google-cloudevents ``examples/binary/storage/StorageObjectData-simple.json``.
    """
    obj = load("storage_simple_data.json")
    headers = {
        **{k: v for k, v in load("push_unwrapped.json")["headers"].items() if "ordering" not in k},
        "eventType": "OBJECT_FINALIZE",
        "bucketId": obj["bucket"],
        "objectId": obj["name"],
        "payloadFormat": "JSON_API_V1",
        "eventTime": "2020-04-23T07:38:57.230Z",
    }
    status, _, _ = probe["on_object"].request(body=json.dumps(obj).encode(), headers=headers)
    assert status == 200
    event = only(recorder, "on_object")["event"]
    assert event["data"]["key"] == obj["name"]
    assert event["data"]["action"] == "created"
    assert event["data"]["size"] == 352


def test_unwrapped_push_attributes_keep_their_utf8_text(
    probe: Servers, recorder: Recorder
) -> None:
    """Attribute values are UTF-8 strings (PubsubMessage.attributes, ``map<string, string>``)
    and an object name may hold any Unicode (https://cloud.google.com/storage/docs/objects#naming).
    Unwrapped, an attribute is a header whose bytes WSGI hands over decoded as latin-1
    (PEP 3333), so ``objectId`` must be read back as the UTF-8 it was sent as.

    Headers: https://cloud.google.com/pubsub/docs/payload-unwrapping and
    https://cloud.google.com/storage/docs/pubsub-notifications#attributes ; object:
    google-cloudevents ``examples/binary/storage/StorageObjectData-simple.json``, renamed.
    """
    key = "photos/café ü 写真.jpg"
    obj = {**load("storage_simple_data.json"), "name": key}
    headers = {
        **{k: v for k, v in load("push_unwrapped.json")["headers"].items() if "ordering" not in k},
        "eventType": "OBJECT_FINALIZE",
        "bucketId": obj["bucket"],
        # The UTF-8 bytes on the wire (urllib writes a header value as latin-1).
        "objectId": key.encode("utf-8").decode("latin-1"),
        "payloadFormat": "JSON_API_V1",
    }
    status, _, _ = probe["on_object"].request(body=json.dumps(obj).encode(), headers=headers)
    assert status == 200
    event = only(recorder, "on_object")["event"]
    assert (event["subject"], event["data"]["key"]) == (key, key)


_LONG = "x" * 70  # an extension name past the 64 characters the HTTP reader keeps here


@pytest.mark.parametrize(
    "event",
    [
        # Binary mode: ce-* attributes, values as published (no percent-encoding).
        CloudEvent.create(
            type="probe.jobs", source="/portable-fn/probe/go", id="inv%2F42",
            subject='say "hi"', datacontenttype="application/json", data={"n": 1},
            extensions={"tag": "50%25off", _LONG: "kept"},
        ),
        CloudEvent.create(
            type="probe.jobs", source="/portable-fn/probe/go", subject="100%ff",
            datacontenttype="application/json", data={"n": 2},
        ),
        # Structured mode (an Integer extension, which attributes cannot carry as one).
        CloudEvent.create(
            type="probe.jobs", source="/portable-fn/probe/go", id="inv%2F43",
            datacontenttype="application/json", data={"n": 3},
            extensions={"count": 7, _LONG: "kept"},
        ),
    ],
    ids=["binary-percent-quotes-long-name", "binary-stray-percent", "structured"],
)
def test_unwrapped_push_of_a_published_event_arrives_as_published(
    probe: Servers, recorder: Recorder, event: CloudEvent
) -> None:
    """``pf.send``/``pf.publish`` write the CloudEvents Pub/Sub binding: ``ce-*`` attributes
    whose values are carried as they are (``binding.to_message``). Unwrapped with write
    metadata, those attributes arrive as headers; they were read as the HTTP binding's
    (percent-decoded: ``inv%2F42`` became ``inv/42``, ``100%ff`` a 400; quoted strings
    stripped; a long extension name dropped), so the event differed from the one published
    and from the same message pushed wrapped. It is read as the Pub/Sub message it is.

    Headers: https://cloud.google.com/pubsub/docs/payload-unwrapping ; binding:
    https://github.com/googleapis/google-cloudevents/blob/main/docs/spec/pubsub.md
    """
    data, attributes = to_message(event)
    headers = {
        **{k: v for k, v in load("push_unwrapped.json")["headers"].items()
           if k != "Content-Type"},
        "x-goog-pubsub-message-id": str(uuid.uuid4()),
        **attributes,
    }
    status, _, resp = probe["on_message"].request(body=data, headers=headers)
    assert status == 200, resp
    assert only(recorder, "on_message")["event"] == to_dict(event)


def test_malformed_push_fails_that_message_alone_into_the_dead_letter_topic(
    probe: Servers, recorder: Recorder, pubsub_endpoint: PublishEndpoint
) -> None:
    """Data that is not base64 is that message's failure: no handler run, the delivery moved
    to the function's dead-letter topic (with max_retries=0 as well) and acknowledged.

    Body: https://cloud.google.com/pubsub/docs/push#receive_push , ``data`` corrupted.
    """
    marker = str(uuid.uuid4())
    body = load("push_documented.json")
    body["message"]["data"] = "not base64!"
    body["message"]["attributes"]["marker"] = marker
    status, _, _ = probe["no_retries"].request(body=json.dumps(body).encode(), headers=JSON)
    assert status == 200
    moved = pubsub_endpoint.wait_for(lambda m: marker.encode() in m.data)
    assert moved.topic == "projects/test-project/topics/probe-no-retries-dlq"
    assert moved.attributes["portable-fn-error"].startswith("EventDecodeError")
    assert recorder.records() == []


def test_binary_push_data_round_trips(probe: Servers, recorder: Recorder) -> None:
    """Bytes that are not text stay bytes through a push body.

    Body: https://cloud.google.com/pubsub/docs/push#receive_push , data replaced.
    """
    body = load("push_documented.json")
    body["message"]["data"] = base64.b64encode(b"\x00\xff\x01").decode()
    status, _, _ = probe["on_message"].request(body=json.dumps(body).encode(), headers=JSON)
    assert status == 200
    event = only(recorder, "on_message")["event"]
    assert base64.b64decode(event["data_base64"]) == b"\x00\xff\x01"


@pytest.mark.parametrize(
    "damage",
    [
        {"publishTime": "yesterday", "publish_time": "yesterday"},  # not RFC 3339
        {"messageId": None, "message_id": None},  # no message id
    ],
)
def test_undecodable_push_is_dead_lettered_like_an_eventarc_delivery(
    probe: Servers, recorder: Recorder, pubsub_endpoint: PublishEndpoint, damage: dict[str, Any]
) -> None:
    """A push message that cannot be read is published to the function's dead-letter topic as
    it came and acknowledged, not refused for Pub/Sub to spend its attempts on (README,
    Failures), a function without retries (``max_retries=0``) as well.

    Body: https://cloud.google.com/pubsub/docs/push#receive_push , ``damage`` applied.
    """
    marker = str(uuid.uuid4())
    body = load("push_documented.json")
    body["message"]["attributes"]["marker"] = marker
    body["message"].update(damage)
    body["message"] = {k: v for k, v in body["message"].items() if v is not None}
    sent = json.dumps(body).encode()
    status, _, _ = probe["on_message"].request(body=sent, headers=JSON)
    assert status == 200
    moved = pubsub_endpoint.wait_for(lambda m: m.attributes.get("marker") == marker)
    assert moved.topic == "projects/test-project/topics/probe-on-message-dlq"
    assert moved.data == base64.b64decode(body["message"]["data"])
    assert moved.attributes["portable-fn-error"].startswith("EventDecodeError")
    status, _, _ = probe["no_retries"].request(body=sent, headers=JSON)
    assert status == 200
    again = pubsub_endpoint.wait_for(
        lambda m: m.attributes.get("marker") == marker and m.topic.endswith("no-retries-dlq"))
    assert again.topic == "projects/test-project/topics/probe-no-retries-dlq"
    assert recorder.records() == []


def test_undecodable_unwrapped_push_is_dead_lettered(
    probe: Servers, recorder: Recorder, pubsub_endpoint: PublishEndpoint
) -> None:
    """The same for payload unwrapping with write metadata: the body is the data, the headers
    other than metadata the attributes (https://cloud.google.com/pubsub/docs/payload-unwrapping).
    """
    marker = str(uuid.uuid4())
    sample = load("push_unwrapped.json")
    headers = {**sample["headers"], "x-goog-pubsub-publish-time": "yesterday", "marker": marker}
    status, _, _ = probe["on_message"].request(body=sample["body"].encode(), headers=headers)
    assert status == 200
    moved = pubsub_endpoint.wait_for(lambda m: m.attributes.get("marker") == marker)
    assert moved.topic == "projects/test-project/topics/probe-on-message-dlq"
    assert moved.data == sample["body"].encode()
    assert recorder.records() == []


def _lines_naming(server: Any, message_id: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("message_id") == message_id]


@pytest.mark.parametrize("wrapped", [True, False], ids=["wrapped", "unwrapped"])
def test_a_malformed_push_is_logged_at_error_naming_its_message(
    probe: Servers, recorder: Recorder, wrapped: bool
) -> None:
    """A malformed message, and its move to the dead-letter topic, are ERROR lines (a message
    lost to its handler, as AWS, Azure and Cloudflare log a decode failure) that name the
    Pub/Sub message and subscription, so it can be found on the dead-letter topic or in Pub/Sub's
    redeliveries; they were WARNING lines naming neither.

    Requests: https://cloud.google.com/pubsub/docs/push#receive_push and
    https://cloud.google.com/pubsub/docs/payload-unwrapping , publish time damaged.
    """
    message_id = str(uuid.uuid4())
    if wrapped:
        body = load("push_documented.json")
        body["message"].update(messageId=message_id, publishTime="yesterday")
        del body["message"]["message_id"], body["message"]["publish_time"]
        sent, headers = json.dumps(body).encode(), JSON
        subscription = body["subscription"]
    else:
        sample = load("push_unwrapped.json")
        headers = {**sample["headers"], "x-goog-pubsub-message-id": message_id,
                   "x-goog-pubsub-publish-time": "yesterday"}
        sent, subscription = sample["body"].encode(), headers["x-goog-pubsub-subscription-name"]
    status, _, _ = probe["on_message"].request(body=sent, headers=headers)
    assert status == 200  # answered once the message was on the dead-letter topic
    malformed, moved = _lines_naming(probe["on_message"], message_id)
    assert (malformed["severity"], malformed["message"]) == ("ERROR", "malformed delivery")
    assert malformed["field"] == "message.publishTime"
    assert (moved["severity"], moved["message"]) == (
        "ERROR", "message moved to the dead-letter topic"
    )
    assert moved["topic"] == "probe-on-message-dlq"
    assert malformed["subscription"] == moved["subscription"] == subscription
    assert recorder.records() == []


@pytest.mark.parametrize("data", [b'[{"status": "Hello there"}]', b'"Hello there"'])
def test_unwrapped_push_of_a_json_array_or_string_without_metadata_is_a_json_400(
    probe: Servers, recorder: Recorder, data: bytes
) -> None:
    """An unwrapped push without write metadata carries no message id and is refused with a
    JSON 4xx (README), as the framework refuses a JSON object body. A JSON array or string
    body crashed the framework's legacy-event conversion instead (``BackgroundEvent(**body)``):
    a 500 and a traceback in the log for every redelivery.

    Request: the unwrapped example of https://cloud.google.com/pubsub/docs/payload-unwrapping
    (``Content-Type: application/json`` attribute as the header, no ``x-goog-pubsub-*``
    headers), its message an array or a string.
    """
    crashes = probe["on_message"].output().count("Traceback")
    status, headers, resp = probe["on_message"].request(body=data, headers=JSON)
    assert status == 400
    assert headers["content-type"] == ["application/json"]
    assert json.loads(resp)["error"]["status"] == 400
    assert probe["on_message"].output().count("Traceback") == crashes
    assert recorder.records() == []


@pytest.mark.parametrize(
    ("target", "dead_letter"),
    [("on_message", "probe-on-message-dlq"), ("no_retries", "probe-no-retries-dlq"),
     ("at_night", None)],
)
def test_a_push_body_nested_past_the_parser_is_a_malformed_delivery(
    probe: Servers, recorder: Recorder, pubsub_endpoint: PublishEndpoint, target: str,
    dead_letter: str | None,
) -> None:
    """Valid JSON nested deeper than the parser recurses, POSTed as a push body
    (https://cloud.google.com/pubsub/docs/push#receive_push, ``message`` replaced): reading it
    raised RecursionError, a 500 with a traceback on every redelivery, from the push intake
    of an event function and from a schedule function alike. It is a malformed delivery, no
    handler run, as a deep CloudEvent is (``test_native``): moved to an event function's
    dead-letter topic as it was sent, and acknowledged; a JSON 400 from a schedule function,
    which has no dead-letter topic."""
    marker = str(uuid.uuid4()).encode()
    deep = b'{"message": ' + b"[" * 100_000 + b"]" * 100_000 + b', "subscription": "'
    deep += marker + b'"}'
    crashes = probe[target].output().count("Traceback")
    status, headers, resp = probe[target].request(body=deep, headers=JSON)
    assert probe[target].output().count("Traceback") == crashes
    assert recorder.records() == []
    if dead_letter is None:
        assert status == 400
        assert headers["content-type"] == ["application/json"]
        assert json.loads(resp)["error"]["status"] == 400
        return
    assert status == 200
    moved = pubsub_endpoint.wait_for(lambda m: marker in m.data)
    assert moved.topic == f"projects/test-project/topics/{dead_letter}"
    assert moved.data == deep
    assert moved.attributes["content-type"] == "application/json"
    assert moved.attributes["portable-fn-error"].startswith("EventDecodeError")


def test_a_failure_without_retries_is_dead_lettered_not_dropped(
    probe: Servers, recorder: Recorder, pubsub_endpoint: PublishEndpoint
) -> None:
    """max_retries=0 deployed with --no-retry: Eventarc dropped the message the handler failed
    (https://cloud.google.com/functions/docs/bestpractices/retries), where every other provider
    dead-letters it after its one attempt. The function moves it to its dead-letter topic and
    acknowledges it; the delivery's own data and attributes go there as received.

    Body: https://cloud.google.com/pubsub/docs/push#receive_push , data replaced.
    """
    marker = str(uuid.uuid4())
    body = load("push_documented.json")
    body["message"]["data"] = base64.b64encode(b'{"fail": true}').decode()
    body["message"]["attributes"]["marker"] = marker
    status, _, _ = probe["no_retries"].request(body=json.dumps(body).encode(), headers=JSON)
    assert status == 200
    moved = pubsub_endpoint.wait_for(lambda m: m.attributes.get("marker") == marker)
    assert moved.topic == "projects/test-project/topics/probe-no-retries-dlq"
    assert moved.data == b'{"fail": true}'
    assert "strict failed on purpose" in moved.attributes["portable-fn-error"]
    assert [r["function"] for r in recorder.records()] == ["no_retries"]  # it ran, once


def test_a_failure_at_the_last_declared_attempt_is_dead_lettered_then(
    probe: Servers, recorder: Recorder, pubsub_endpoint: PublishEndpoint
) -> None:
    """Pub/Sub numbers deliveries (deliveryAttempt) under a dead-letter policy; the function
    moves a message that failed its last declared attempt (``on_job``: max_retries=6, so 7)
    itself, and answers an earlier failure with a 500 for Pub/Sub to deliver again."""
    marker = str(uuid.uuid4())
    body = load("push_documented.json")
    body["message"]["data"] = base64.b64encode(b'{"fail": true}').decode()
    body["message"]["attributes"]["marker"] = marker
    body["deliveryAttempt"] = 6
    status, _, _ = probe["on_job"].request(body=json.dumps(body).encode(), headers=JSON)
    assert status == 500
    body["deliveryAttempt"] = 7
    status, _, _ = probe["on_job"].request(body=json.dumps(body).encode(), headers=JSON)
    assert status == 200
    moved = pubsub_endpoint.wait_for(lambda m: m.attributes.get("marker") == marker)
    assert moved.topic == "projects/test-project/topics/jobs-dlq"
