# SPDX-License-Identifier: Apache-2.0
"""Golden CloudEvent fields for every non-HTTP fixture, whatever path the event took."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from portable_fn.errors import EventDecodeError, InvalidCloudEventError
from portable_fn.events import CloudEvent
from portable_fn_aws import dynamodb, eventbridge, kinesis, s3, sns, sqs

from aws_fixtures import load

UTC = timezone.utc
KINESIS_SEQ = "49545115243490985018280067714973144582180062593244200961"
# request id "." id-2, then "/" the key as sent and "/" the sequencer (s3.py: unique per object)
S3_ID = (
    "EXAMPLE123456789.EXAMPLE123/5678abcdefghijklambdaisawesome/mnopqrstuvwxyzABCDEFGH"
    "/photos/cat%20picture.jpg/0A1B2C3D4E5F678901"
)
PUBLISHED = {  # what portable-fn published (sqs_cloudevent.json, sqs_sns_cloudevent.json)
    "id": "6f1c2a1e-5b7d-4c41-9a55-0f3e6b1d2c9a",
    "source": "/portable-fn/shop/create_order",
    "type": "com.example.order.created",
    "datacontenttype": "application/json",
    "time": datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
    "data": {"order_id": "o-1", "sku": "book"},
    "extensions": {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
}
UPLOAD = {
    "id": S3_ID,
    "source": "aws:s3.us-east-1.uploads",
    "type": "com.amazonaws.s3.ObjectCreated:Put",
    "subject": "photos/cat picture.jpg",
    "time": datetime(1970, 1, 1, tzinfo=UTC),
    "data": {
        "bucket": "uploads",
        "key": "photos/cat picture.jpg",
        "size": 1024,
        "etag": "0123456789abcdef0123456789abcdef",
        "action": "created",
    },
    "extensions": {"sequence": "0A1B2C3D4E5F678901"},
}


def _check(event: CloudEvent, golden: dict[str, Any]) -> None:
    for name, value in golden.items():
        assert getattr(event, name) == value, name


def _sqs(fixture: str, index: int = 0) -> list[CloudEvent]:
    return sqs.from_record(load(fixture)["Records"][index])


@pytest.mark.parametrize(
    ("events", "golden"),
    [
        (
            lambda: _sqs("sam_sqs.json"),
            {
                "id": "19dd0b57-b21e-4ac1-bd88-01bbb068cb78",
                "source": "arn:aws:sqs:us-east-1:123456789012:MyQueue",
                "type": "com.amazonaws.sqs.message",
                "time": datetime(2018, 4, 9, tzinfo=UTC),
                "datacontenttype": "text/plain; charset=utf-8",
                "data": "Hello from SQS!",
                "extensions": {},
            },
        ),
        (
            lambda: _sqs("sqs_fifo.json", 1),
            {
                "id": "22d6ee51-4cc7-4302-9e22-7cd8afdaadf5",
                "source": "arn:aws:sqs:us-east-2:123456789012:fulfilment.fifo",
                "datacontenttype": "application/json",
                "data": {"sku": "poison", "n": 2},
                "extensions": {"partitionkey": "customer-2", "sequence": "18849496460467696129"},
            },
        ),
        (lambda: _sqs("sqs_cloudevent.json"), PUBLISHED),
        # SNS -> SQS wraps the published event twice; it still arrives as itself.
        (lambda: _sqs("sqs_sns_cloudevent.json"), PUBLISHED),
        (lambda: _sqs("sqs_s3.json"), UPLOAD),
        (lambda: sns.from_record(load("sns_s3.json")["Records"][0]), UPLOAD),
        (lambda: [s3.from_record(load("sam_s3_put.json")["Records"][0])], UPLOAD),
        (
            lambda: sns.from_record(load("sam_sns.json")["Records"][0]),
            {
                "id": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                "source": "arn:aws:sns:us-east-1::ExampleTopic",
                "type": "com.amazonaws.sns.Notification",
                "subject": "example subject",
                "time": datetime(1970, 1, 1, tzinfo=UTC),
                "data": "example message",
            },
        ),
        (
            lambda: [s3.from_record(load("sam_s3_delete.json")["Records"][0])],
            {
                "type": "com.amazonaws.s3.ObjectRemoved:Delete",
                "subject": "photos/old.jpg",
                "data": {
                    "bucket": "uploads",
                    "key": "photos/old.jpg",
                    "size": None,
                    "etag": None,
                    "action": "deleted",
                },
            },
        ),
        (
            lambda: [eventbridge.to_event(load("eventbridge_s3_object_created.json"))],
            {
                "id": "17793124-05d4-b198-2fde-7ededc63b103",
                "source": "aws.s3",
                "type": "Object Created",
                "subject": "photos/cat.jpg",
                "time": datetime(2021, 11, 12, tzinfo=UTC),
                "data": {
                    "bucket": "uploads",
                    "key": "photos/cat.jpg",
                    "size": 5,
                    "etag": "b1946ac92492d2347c6235b4d2611184",
                    "action": "created",
                },
            },
        ),
        (
            lambda: [eventbridge.to_event(load("eventbridge_s3_object_deleted.json"))],
            {
                "type": "Object Deleted",
                "data": {
                    "bucket": "uploads",
                    "key": "photos/old.jpg",
                    "size": None,
                    "etag": None,
                    "action": "deleted",
                },
            },
        ),
        (
            lambda: [eventbridge.to_event(load("eventbridge_custom.json"))],
            {
                "id": "0d079340-135a-c8c6-95c2-41fb8f496c53",
                "source": "billing.example.com",
                "type": "com.example.invoice.paid",
                "time": datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
                "data": {"invoice_id": "inv-9", "amount": 1250, "currency": "EUR"},
            },
        ),
        (
            lambda: [eventbridge.to_event(load("eventbridge_cloudevent.json"))],
            {
                "id": "9b2f6a7c-3d1e-4f5a-8b6c-7d8e9f0a1b2c",
                "source": "/portable-fn/billing/settle",
                "type": "com.example.invoice.paid",
                "data": {"invoice_id": "inv-9", "amount": 1250},
            },
        ),
        (
            lambda: [eventbridge.schedule_event(load("sam_scheduled.json"), "rate(1 day)")],
            {
                "id": "cdc73f9d-aea9-11e3-9d5a-835b769c0d9c",
                "source": "aws.events",
                "type": "Scheduled Event",
                "subject": "arn:aws:events:us-east-1:123456789012:rule/ExampleRule",
                "data": {"expression": "rate(1 day)", "scheduled_time": "1970-01-01T00:00:00Z"},
            },
        ),
        (
            lambda: kinesis.from_record(load("sam_kinesis.json")["Records"][0]),
            {
                "id": "shardId-000000000000:" + KINESIS_SEQ,
                "source": "arn:aws:kinesis:EXAMPLE",
                "type": "com.amazonaws.kinesis.record",
                "time": datetime(2015, 4, 9, tzinfo=UTC),
                "data": "Hello, this is a test 123.",
                "extensions": {
                    "partitionkey": "partitionKey-03",
                    "sequence": "49545115243490985018280067714973144582180062593244200961",
                },
            },
        ),
        (
            lambda: dynamodb.from_record(load("sam_dynamodb.json")["Records"][1]),
            {
                "id": "c81e728d9d4c2f636f067f89cc14862c",
                "type": "com.amazonaws.dynamodb.MODIFY",
                "subject": '{"Id":101}',
                "data": {
                    "keys": {"Id": 101},
                    "new_image": {"Message": "This item has changed", "Id": 101},
                    "old_image": {"Message": "New item!", "Id": 101},
                },
                "extensions": {"sequence": "4421584500000000017450439092"},
            },
        ),
    ],
    ids=[
        "sqs",
        "sqs-fifo",
        "sqs-cloudevent",
        "sns-sqs-cloudevent",
        "s3-via-sqs",
        "s3-via-sns",
        "s3-put",
        "sns",
        "s3-delete",
        "eb-s3-created",
        "eb-s3-deleted",
        "eb-custom",
        "eb-cloudevent",
        "eb-schedule",
        "kinesis",
        "dynamodb",
    ],
)
def test_golden_fields(events: Any, golden: dict[str, Any]) -> None:
    (event,) = events()
    _check(event, golden)


def test_s3_test_event_delivers_nothing() -> None:
    assert _sqs("sqs_s3_test_event.json") == []
    # On the bus it is not a storage event (no action), but a bus event by AWS's recipe.
    restore = eventbridge.to_event(load("eventbridge_s3_restore.json"))
    assert restore.type == "Object Restore Initiated" and "action" not in restore.data


def _restored(**changes: Any) -> dict[str, Any]:
    """An ``ObjectRestore:Completed`` record as the S3 notification docs show one (event
    structure 2.1+, ``glacierEventData``):
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html"""
    record = load("sam_s3_put.json")["Records"][0]
    record["eventVersion"] = "2.1"
    record["eventName"] = "ObjectRestore:Completed"
    record["glacierEventData"] = {
        "restoreEventData": {
            "lifecycleRestorationExpiryTime": "1970-01-08T00:00:00.000Z",
            "lifecycleRestoreStorageClass": "Standard",
        }
    }
    record.update(changes)
    return record


def test_s3_events_other_than_created_and_deleted_are_the_record_as_data() -> None:
    """Restore, replication, tagging, ACL, transition and Intelligent-Tiering notifications
    (the S3 event types besides ObjectCreated/ObjectRemoved/LifecycleExpiration) reach a queue
    or topic function S3 notifies through SQS or SNS; they were acknowledged unrun. Mapped by
    the CloudEvents S3 adapter (type com.amazonaws.s3.<eventName>), the record as data."""
    record = _restored()
    event = s3.from_record(record)
    assert event.type == "com.amazonaws.s3.ObjectRestore:Completed"
    assert (event.source, event.subject) == ("aws:s3.us-east-1.uploads", "photos/cat picture.jpg")
    # The object's id and the event's name: one request notifies its restore twice (Post,
    # then Completed), and an idempotent consumer must not take the second for the first.
    put = s3.from_record(load("sam_s3_put.json")["Records"][0])
    assert event.id == f"{put.id}/ObjectRestore:Completed"
    assert event.data == record and event.datacontenttype == "application/json"
    assert event.extensions["sequence"] == "0A1B2C3D4E5F678901"
    # A service's own event may carry no request ids nor sequencer: its name and time.
    bare = _restored(responseElements={})
    del bare["s3"]["object"]["sequencer"]
    assert s3.from_record(bare).id == (
        "uploads/photos/cat picture.jpg/ObjectRestore:Completed/1970-01-01T00:00:00.000Z"
    )


def test_s3_key_plus_means_space() -> None:
    record = load("sam_s3_put.json")["Records"][0]
    record["s3"]["object"]["key"] = "a+b%2Bc.txt"
    event = s3.from_record(record)
    assert event is not None and event.subject == "a b+c.txt"


def test_s3_without_response_elements_uses_the_sequencer() -> None:
    record = load("sam_s3_put.json")["Records"][0]
    del record["responseElements"]
    event = s3.from_record(record)
    assert event is not None
    assert event.id == "uploads/photos/cat picture.jpg/0A1B2C3D4E5F678901"


def test_sns_envelope_without_unsubscribe_link_falls_back_to_topic_arn() -> None:
    (event,) = sns.from_envelope(
        {
            "Type": "Notification",
            "MessageId": "m-1",
            "TopicArn": "arn:t",
            "Message": "hi",
            "Timestamp": "2026-01-01T00:00:00Z",
        }
    )
    assert event.source == "arn:t" and event.data == "hi"


def test_json_array_body_is_json_data() -> None:
    record = load("sam_sqs.json")["Records"][0]
    record["body"] = "[1, 2]"
    (event,) = sqs.from_record(record)
    assert event.data == [1, 2] and event.datacontenttype == "application/json"


# A body with no declared content type, as Azure's queues and Pub/Sub read it too: any JSON
# value (a byte order mark first ignored, RFC 8259 section 8.1), else the text as sent.
BODIES = [
    ("42", 42, "application/json"),
    ('"quoted"', "quoted", "application/json"),
    ("true", True, "application/json"),
    ("null", None, "application/json"),
    ('\ufeff{"n": 1}', {"n": 1}, "application/json"),
    ("\ufeff[1]", [1], "application/json"),
    ("NaN", "NaN", "text/plain; charset=utf-8"),
    ("-Infinity", "-Infinity", "text/plain; charset=utf-8"),
    ("false alarm", "false alarm", "text/plain; charset=utf-8"),
    ("\ufeffplain", "\ufeffplain", "text/plain; charset=utf-8"),
    ("2024-01-01", "2024-01-01", "text/plain; charset=utf-8"),
    # RFC 8259 section 2: JSON-text = ws value ws, ws being space, tab, LF and CR. Leading
    # whitespace made text on AWS what Azure and Google Cloud (json.loads) read as JSON.
    ('\n{"n": 1}', {"n": 1}, "application/json"),
    ("\r\n[1]\r\n", [1], "application/json"),
    (" 42", 42, "application/json"),
    ('\ufeff\t"x"', "x", "application/json"),
    ("   ", "   ", "text/plain; charset=utf-8"),
    (" plain", " plain", "text/plain; charset=utf-8"),
    # Python's json.dumps writes NaN and Infinity, which are not JSON (RFC 8259 section 6):
    # Azure's and Google Cloud's queues keep such a body as text, and AWS read it as a dict
    # holding a float NaN (which pf.publish then refuses to encode).
    ('{"v": NaN}', '{"v": NaN}', "text/plain; charset=utf-8"),
    ("[1, -Infinity]", "[1, -Infinity]", "text/plain; charset=utf-8"),
    ('{"v": 1e999}', '{"v": 1e999}', "text/plain; charset=utf-8"),
    ('{"v": 1.5}', {"v": 1.5}, "application/json"),
]


@pytest.mark.parametrize(("body", "data", "content_type"), BODIES)
def test_a_body_is_any_json_value_else_text_on_sqs_sns_and_kinesis(
    body: str, data: Any, content_type: str
) -> None:
    """Only objects and arrays were read as JSON (a body of 42 was the text "42", which Azure
    and Google Cloud read as the number), and a byte order mark made JSON text."""
    import base64

    record = load("sam_sqs.json")["Records"][0]
    (event,) = sqs.from_record({**record, "body": body})
    assert (event.data, event.datacontenttype) == (data, content_type)
    (notified,) = sns.from_envelope(
        {"Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:t", "Message": body}
    )
    assert (notified.data, notified.datacontenttype) == (data, content_type)
    streamed = load("sam_kinesis.json")["Records"][0]
    streamed["kinesis"]["data"] = base64.b64encode(body.encode()).decode()
    (event,) = kinesis.from_record(streamed)
    assert (event.data, event.datacontenttype) == (data, content_type)


def test_a_structured_cloudevent_after_a_byte_order_mark_is_that_event() -> None:
    record = load("sam_sqs.json")["Records"][0]
    ce = '\ufeff{"specversion":"1.0","id":"k1","source":"/s","type":"t","data":{"a":1}}'
    (event,) = sqs.from_record({**record, "body": ce})
    assert (event.id, event.source, event.data) == ("k1", "/s", {"a": 1})


def test_envelopes_after_leading_whitespace_are_unwrapped() -> None:
    """A body JSON-parsers accept (RFC 8259 section 2 allows leading whitespace) that holds a
    structured CloudEvent or an SNS envelope is that event on SQS, as ``sniff_structured`` (which
    strips it) and Azure's and Google Cloud's queues read it; it was a text message."""
    record = load("sam_sqs.json")["Records"][0]
    ce = '\n  {"specversion":"1.0","id":"k1","source":"/s","type":"t","data":{"a":1}}'
    (event,) = sqs.from_record({**record, "body": ce})
    assert (event.id, event.source, event.data) == ("k1", "/s", {"a": 1})
    envelope = '\r\n{"Type":"Notification","MessageId":"m-1","TopicArn":"arn:t","Message":"hi"}'
    (event,) = sqs.from_record({**record, "body": envelope})
    assert (event.id, event.type, event.data) == ("m-1", "com.amazonaws.sns.Notification", "hi")


def test_kinesis_binary_and_cloudevent_payloads() -> None:
    import base64

    record = load("sam_kinesis.json")["Records"][0]
    record["kinesis"]["data"] = base64.b64encode(b"\xff\x00").decode()
    assert [e.data for e in kinesis.from_record(record)] == [b"\xff\x00"]
    # A protobuf record that happens to be valid UTF-8 is bytes too, as on Pub/Sub and Event
    # Hubs (portable_fn.adapter.undeclared): it was text here.
    record["kinesis"]["data"] = base64.b64encode(b"\n\x05hello\x10\x01").decode()
    (event,) = kinesis.from_record(record)
    assert (event.data, event.datacontenttype) == (
        b"\n\x05hello\x10\x01", "application/octet-stream"
    )
    ce = b'{"specversion":"1.0","id":"k1","source":"/s","type":"t","data":{"a":1}}'
    record["kinesis"]["data"] = base64.b64encode(ce).decode()
    (event,) = kinesis.from_record(record)
    assert (event.id, event.data) == ("k1", {"a": 1})


def test_dynamodb_attribute_types() -> None:
    value = {
        "M": {
            "s": {"S": "x"},
            "n": {"N": "1.5"},
            "b": {"B": "AAE="},
            "ok": {"BOOL": True},
            "none": {"NULL": True},
            "l": {"L": [{"N": "2"}]},
            "ss": {"SS": ["a"]},
            "ns": {"NS": ["3"]},
            "bs": {"BS": ["AQ=="]},
        }
    }
    assert dynamodb.attribute(value) == {
        "s": "x",
        "n": 1.5,
        "b": b"\x00\x01",
        "ok": True,
        "none": None,
        "l": [2],
        "ss": ["a"],
        "ns": [3],
        "bs": [b"\x01"],
    }
    with pytest.raises(EventDecodeError):
        dynamodb.attribute({"Q": "?"})


@pytest.mark.parametrize(
    ("decode", "field"),
    [
        (lambda: sqs.from_record({"messageId": "m", "eventSourceARN": "arn"}), "body"),
        (lambda: sqs.from_record({"body": "x", "eventSourceARN": "arn"}), "messageId"),
        (
            lambda: sqs.from_record({"body": "x", "messageId": "", "eventSourceARN": "a"}),
            "messageId",
        ),
        (
            lambda: sqs.from_record({"body": "x", "messageId": "m", "eventSourceARN": 7}),
            "eventSourceARN",
        ),
        (
            lambda: sqs.from_record(
                {
                    "body": "x",
                    "messageId": "m",
                    "eventSourceARN": "a",
                    "attributes": {"SentTimestamp": "soon"},
                }
            ),
            "attributes.SentTimestamp",
        ),
        (  # digits, but past datetime's last year: refused now, not when .time is read
            lambda: sqs.from_record(
                {
                    "body": "x",
                    "messageId": "m",
                    "eventSourceARN": "a",
                    "attributes": {"SentTimestamp": "999999999999999999"},
                }
            ),
            "attributes.SentTimestamp",
        ),
        (
            lambda: sqs.from_record(
                {"body": "x", "messageId": "m", "eventSourceARN": "a", "attributes": ["x"]}
            ),
            "attributes",
        ),
        (lambda: sns.from_record({"EventSource": "aws:sns"}), "Sns"),
        (lambda: s3.from_record({"eventName": "ObjectCreated:Put", "s3": {}}), "bucket"),
        (lambda: kinesis.from_record({"kinesis": {"data": "!!"}}), "kinesis.data"),
        (lambda: dynamodb.from_record({"dynamodb": {}}), "Keys"),
        (lambda: eventbridge.to_event({"source": "x", "detail-type": "y"}), "id"),
    ],
)
def test_malformed_records_raise_typed_decode_errors(decode: Any, field: str) -> None:
    with pytest.raises(EventDecodeError) as info:
        decode()
    assert info.value.field == field and info.value.provider == "aws"


def test_structured_body_that_breaks_the_spec_is_invalid() -> None:
    with pytest.raises(InvalidCloudEventError):
        _sqs("sqs_malformed.json", 1)


def test_a_standard_queue_message_is_the_cloudevent_it_stands_for() -> None:
    """The SQS codec builds a lazily-read view; nothing downstream may tell it from the eager
    CloudEvent: equality both ways, repr, JSON, replace and pickling."""
    import pickle

    from portable_fn.events import to_json

    record = {
        "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "body": '{"sku": "book", "n": 2}',
        "attributes": {"SentTimestamp": "1545082649183", "ApproximateReceiveCount": "1"},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:my-queue",
    }
    (view,) = sqs.from_record(record)
    eager = CloudEvent(
        id="059f36b4-87a3-44ab-83d2-661975830a7d",
        source="arn:aws:sqs:us-east-2:123456789012:my-queue",
        type="com.amazonaws.sqs.message",
        time=datetime(2018, 12, 17, 21, 37, 29, 183000, tzinfo=timezone.utc),
        datacontenttype="application/json",
        data={"sku": "book", "n": 2},
    )
    assert view == eager and eager == view and repr(view) == repr(eager)
    assert to_json(view) == to_json(eager)
    assert type(view.replace(subject="s")) is CloudEvent
    assert view.replace(subject="s") == eager.replace(subject="s")
    assert pickle.loads(pickle.dumps(view)) == eager
    with pytest.raises(AttributeError):
        view.id = "other"  # type: ignore[misc]
    (untimed,) = sqs.from_record({**record, "attributes": {}})
    assert untimed.time is None and untimed.extensions == {}


def test_every_plain_sqs_body_shape_is_the_cloudevent_it_stands_for() -> None:
    """Text bodies, bodies that only look like JSON, JSON that is not an object and FIFO
    messages: each view equals the eagerly built event (content type, data, extensions)."""
    base = {
        "messageId": "m-1",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
        "attributes": {"SentTimestamp": "1545082649183"},
    }
    sent = datetime(2018, 12, 17, 21, 37, 29, 183000, tzinfo=timezone.utc)

    def eager(data: Any, content_type: str, **extensions: Any) -> CloudEvent:
        return CloudEvent(
            id="m-1",
            source="arn:aws:sqs:us-east-1:123456789012:q",
            type="com.amazonaws.sqs.message",
            time=sent,
            datacontenttype=content_type,
            data=data,
            extensions=extensions,
        )

    text = "text/plain; charset=utf-8"
    for body, data, content_type in [
        ("plain words", "plain words", text),
        ("{not json", "{not json", text),
        ("[1, 2]", [1, 2], "application/json"),
        ('{"Type": "not an SNS envelope"}', {"Type": "not an SNS envelope"}, "application/json"),
        ("", "", text),
    ]:
        (event,) = sqs.from_record({**base, "body": body})
        assert event == eager(data, content_type) and repr(event) == repr(
            eager(data, content_type)
        ), body
    fifo = {
        **base,
        "body": '{"n": 1}',
        "attributes": {
            "SentTimestamp": "1545082649183",
            "MessageGroupId": "g-1",
            "SequenceNumber": "18849496460467696128",
        },
    }
    (event,) = sqs.from_record(fifo)
    assert event == eager(
        {"n": 1}, "application/json", partitionkey="g-1", sequence="18849496460467696128"
    )
