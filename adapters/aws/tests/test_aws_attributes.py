# SPDX-License-Identifier: Apache-2.0
"""Binary-mode CloudEvents in SQS and SNS message attributes (``_attributes``).

Codec cases use the record shapes AWS documents for Lambda (SQS ``messageAttributes`` with
``stringValue``/``dataType``; SNS ``MessageAttributes`` with ``Type``/``Value``). The round trip
runs a third-party producer (plain boto3, no portable-fn) against moto's server on 127.0.0.1:
SNS to SQS with raw delivery (attributes become SQS message attributes) and without it (they
travel inside the SNS envelope in the body).
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

import portable_fn as pf
from portable_fn.errors import EventDecodeError
from portable_fn_aws import lambda_handler, sns, sqs

from aws_fixtures import FakeLambdaContext

QUEUE_ARN = "arn:aws:sqs:us-east-2:123456789012:my-queue"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:sns-lambda"


def sqs_attribute(value: str, kind: str = "String") -> dict[str, Any]:
    return {"stringValue": value, "stringListValues": [], "binaryListValues": [], "dataType": kind}


def sqs_record(body: str, attributes: dict[str, Any]) -> dict[str, Any]:
    return {
        "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1545082649183",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1545082649185",
        },
        "messageAttributes": attributes,
        "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "us-east-2",
    }


BINARY = {
    "ce-specversion": "1.0",
    "ce-id": "order-42",
    "ce-source": "/billing/orders",
    "ce-type": "com.example.order.created",
    "ce-time": "2024-03-12T19:03:58Z",
    "ce-subject": "orders/42",
    "ce-correlationid": "c-7",
    "content-type": "application/json",
}


def test_sqs_binary_mode_message_is_the_event_it_carries() -> None:
    attributes = {name: sqs_attribute(value) for name, value in BINARY.items()}
    attributes["unrelated"] = sqs_attribute("kept out")
    (event,) = sqs.from_record(sqs_record('{"sku": "book"}', attributes))
    assert (event.id, event.source, event.type, event.subject) == (
        "order-42",
        "/billing/orders",
        "com.example.order.created",
        "orders/42",
    )
    assert event.time is not None and event.time.isoformat() == "2024-03-12T19:03:58+00:00"
    assert event.datacontenttype == "application/json" and event.data == {"sku": "book"}
    assert dict(event.extensions) == {"correlationid": "c-7"}


def test_underscore_names_and_no_content_type() -> None:
    attributes = {
        name.replace("ce-", "ce_"): sqs_attribute(value)
        for name, value in BINARY.items()
        if name != "content-type"
    }
    attributes["ce_attempt"] = sqs_attribute("3", "Number")
    (json_body,) = sqs.from_record(sqs_record('{"n": 1}', attributes))
    (text_body,) = sqs.from_record(sqs_record("plain words", attributes))
    assert json_body.id == "order-42" and json_body.data == {"n": 1}
    assert json_body.datacontenttype is None  # as the producer left it
    assert text_body.data == "plain words"
    assert json_body.extensions["attempt"] == "3"


def test_binary_typed_attributes_are_not_context_attributes() -> None:
    attributes = {name: sqs_attribute(value) for name, value in BINARY.items()}
    attributes["ce-blob"] = {"binaryValue": "AAEC", "dataType": "Binary"}
    (event,) = sqs.from_record(sqs_record("{}", attributes))
    assert "blob" not in event.extensions


def test_an_invalid_binary_event_fails_that_message_naming_the_attribute() -> None:
    attributes = {
        name: sqs_attribute(value) for name, value in BINARY.items() if name != "ce-id"
    }
    with pytest.raises(EventDecodeError) as missing:
        sqs.from_record(sqs_record("{}", attributes))
    assert missing.value.field == "messageAttributes.ce-id"
    attributes = {name: sqs_attribute(value) for name, value in BINARY.items()}
    # A JSON content type over a body that is not JSON: its text, as the official SDKs read it.
    (event,) = sqs.from_record(sqs_record("{not json", attributes))
    assert event.data == "{not json"


def test_content_type_attribute_declaring_structured_mode_reads_the_body() -> None:
    body = json.dumps(
        {"specversion": "1.0", "id": "s-1", "source": "/s", "type": "t.s", "data": {"k": 1}}
    )
    attributes = {"content-type": sqs_attribute("application/cloudevents+json; charset=UTF-8")}
    (event,) = sqs.from_record(sqs_record(body, attributes))
    assert (event.id, event.data) == ("s-1", {"k": 1})


def test_messages_without_ce_attributes_keep_the_sqs_mapping() -> None:
    (event,) = sqs.from_record(sqs_record('{"a": 1}', {"myAttribute": sqs_attribute("myValue")}))
    assert event.type == "com.amazonaws.sqs.message" and event.data == {"a": 1}


def test_sns_record_with_binary_mode_attributes() -> None:
    record = {
        "EventVersion": "1.0",
        "EventSubscriptionArn": f"{TOPIC_ARN}:21be56ed-a058-49f5-8c98-aedd2564c486",
        "EventSource": "aws:sns",
        "Sns": {
            "SignatureVersion": "1",
            "Timestamp": "2019-01-02T12:45:07.000Z",
            "Signature": "tcc6faL2yUC6dgZdmrwh1Y4cGa/ebXEkAi6RibDsvpi+tE/1+82j...65r==",
            "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService.pem",
            "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
            "Message": '{"sku": "book"}',
            "MessageAttributes": {
                **{name: {"Type": "String", "Value": value} for name, value in BINARY.items()},
                "TestBinary": {"Type": "Binary", "Value": "TestBinary"},
            },
            "Type": "Notification",
            "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
            "TopicArn": TOPIC_ARN,
            "Subject": "TestInvoke",
        },
    }
    (event,) = sns.from_record(record)
    assert (event.id, event.type, event.data) == (
        "order-42",
        "com.example.order.created",
        {"sku": "book"},
    )


def _lambda_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """A received SQS message as Lambda's event source mapping hands it over (the API's
    ``StringValue``/``DataType`` become ``stringValue``/``dataType``)."""
    attributes = {
        name: {
            "stringValue": value.get("StringValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value["DataType"],
        }
        for name, value in message.get("MessageAttributes", {}).items()
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": attributes,
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": "us-east-1",
    }


@pytest.mark.parametrize("raw", [True, False], ids=["raw-delivery", "sns-envelope"])
def test_third_party_binary_events_through_sns_and_sqs(aws_env: dict[str, str], raw: bool) -> None:
    sns_client, sqs_client = boto3.client("sns"), boto3.client("sqs")
    topic = sns_client.create_topic(Name="orders")["TopicArn"]
    url = sqs_client.create_queue(QueueName="orders-in")["QueueUrl"]
    arn = sqs_client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    queue_arn = arn["Attributes"]["QueueArn"]
    sns_client.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true" if raw else "false"},
    )
    sns_client.publish(
        TopicArn=topic,
        Message=json.dumps({"sku": "book", "qty": 2}),
        MessageAttributes={
            name: {"DataType": "String", "StringValue": value} for name, value in BINARY.items()
        },
    )
    received = sqs_client.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=2
    )["Messages"]

    app = pf.App("orders")
    seen: list[pf.CloudEvent] = []

    @app.queue("orders-in")
    def take(event: pf.CloudEvent) -> None:
        seen.append(event)

    handler = lambda_handler(app, "take")
    event = {"Records": [_lambda_record(m, queue_arn) for m in received]}
    assert handler(event, FakeLambdaContext()) == {"batchItemFailures": []}
    (got,) = seen
    assert (got.id, got.source, got.type, got.subject) == (
        "order-42",
        "/billing/orders",
        "com.example.order.created",
        "orders/42",
    )
    assert got.data == {"sku": "book", "qty": 2} and got.extensions["correlationid"] == "c-7"


def test_a_batch_mode_content_type_alone_leaves_the_message_plain() -> None:
    """Batch mode has no place in a one-event message: without ce-* attributes such a message
    is an ordinary SQS message (its JSON array body as data), as before the binding existed."""
    attributes = {"content-type": sqs_attribute("application/cloudevents-batch+json")}
    (event,) = sqs.from_record(sqs_record('[{"a": 1}]', attributes))
    assert event.type == "com.amazonaws.sqs.message" and event.data == [{"a": 1}]


def test_dead_lettered_messages_keep_their_message_attributes(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message moved to the dead-letter queue by the function (``pf.NonRetryable``) keeps its
    message attributes, as SQS's own redrive keeps them: a binary-mode event's ``ce-*``
    attributes are its id, type and source, and a producer's other attributes (a Binary one
    among them, sent back as the bytes Lambda handed over base64) are its data too. Record shape:
    https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#example-standard-queue-message-event
    """
    from aws_fixtures import dead_letter_queue, dead_letters

    dlq_url = dead_letter_queue(monkeypatch, "orders-dlq")
    app = pf.App("orders")
    seen: list[pf.CloudEvent] = []

    @app.queue("orders-in")
    def take(event: pf.CloudEvent) -> None:
        seen.append(event)
        raise pf.NonRetryable("unknown customer")

    attributes = {name: sqs_attribute(value) for name, value in BINARY.items()}
    attributes["blob"] = {
        "binaryValue": "AAEC/w==",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "Binary",
    }
    record = sqs_record('{"sku": "book"}', attributes)
    assert lambda_handler(app, "take")({"Records": [record]}, FakeLambdaContext()) == {
        "batchItemFailures": []
    }
    (dead,) = dead_letters(dlq_url)
    kept = dead["MessageAttributes"]
    assert {name: kept[name]["StringValue"] for name in BINARY} == BINARY
    assert kept["blob"] == {"BinaryValue": b"\x00\x01\x02\xff", "DataType": "Binary"}
    assert "unknown customer" in kept["pf-failure-reason"]["StringValue"]
    # Redriven, it is the same event again.
    (original,) = seen
    (again,) = sqs.from_record(sqs_record(dead["Body"], attributes))
    assert (again.id, again.type, again.source) == (original.id, original.type, original.source)


def test_a_dead_lettered_message_with_ten_attributes_keeps_them_all(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQS takes at most 10 message attributes: a message that has 10 moves with its own, and
    the failure reason (in the log either way) gives way, rather than SendMessage refusing it."""
    from aws_fixtures import dead_letter_queue, dead_letters

    dlq_url = dead_letter_queue(monkeypatch, "full-dlq")
    app = pf.App("orders")

    @app.queue("orders-in")
    def take(event: pf.CloudEvent) -> None:
        raise pf.NonRetryable("no")

    attributes = {f"a{i}": sqs_attribute(str(i), "Number") for i in range(10)}
    record = sqs_record("plain", attributes)
    assert lambda_handler(app, "take")({"Records": [record]}, FakeLambdaContext()) == {
        "batchItemFailures": []
    }
    (dead,) = dead_letters(dlq_url)
    assert {n: v["StringValue"] for n, v in dead["MessageAttributes"].items()} == {
        f"a{i}": str(i) for i in range(10)
    }
