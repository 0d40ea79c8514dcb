# SPDX-License-Identifier: Apache-2.0
"""Amazon SQS messages (standard and FIFO) delivered to Lambda in batches.

Record: https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#example-standard-queue-message-event
FIFO: https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#sample-fifo-queues-message-event
Partial batch response: https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting
No official CloudEvents adapter exists; the project's mapping (docs, event-mapping 5.10):
``type`` = ``com.amazonaws.sqs.message``, ``source`` = eventSourceARN, ``id`` = messageId,
``time`` = SentTimestamp, ``partitionkey`` = MessageGroupId, ``sequence`` = SequenceNumber.
A body that is an envelope (structured CloudEvent, SNS notification, S3 or EventBridge event)
is unwrapped to the events it carries.
"""

from __future__ import annotations

from typing import Any, TypedDict

from portable_fn.events import CloudEvent

from portable_fn_aws import _nested
from portable_fn_aws._common import decode_error, epoch_millis, require, text_payload

TRIGGER = "sqs"
TYPE = "com.amazonaws.sqs.message"


class BatchItemFailure(TypedDict):
    itemIdentifier: str


class BatchResponse(TypedDict):
    batchItemFailures: list[BatchItemFailure]


def matches_record(record: Any) -> bool:
    return isinstance(record, dict) and record.get("eventSource") == "aws:sqs"


def attempt(record: dict[str, Any]) -> int:
    """ApproximateReceiveCount: 1 on first delivery."""
    try:
        return int(record["attributes"]["ApproximateReceiveCount"])
    except (KeyError, TypeError, ValueError):
        return 1


def group_id(record: dict[str, Any]) -> str | None:
    attributes = record.get("attributes")
    return attributes.get("MessageGroupId") if type(attributes) is dict else None


def from_record(record: dict[str, Any]) -> list[CloudEvent]:
    body = require(record, "body", TRIGGER)
    if type(body) is not str:
        raise decode_error(TRIGGER, "body", "must be a string")
    data, content_type = text_payload(body)
    if type(data) is dict:
        nested = _nested.from_object(data)
        if nested is not None:
            return nested
    attributes = record.get("attributes") or {}
    sent = attributes.get("SentTimestamp")
    extensions: dict[str, str] = {}
    group = attributes.get("MessageGroupId")
    if group:
        extensions["partitionkey"] = group
    sequence = attributes.get("SequenceNumber")
    if sequence:
        extensions["sequence"] = sequence
    return [
        CloudEvent(
            id=require(record, "messageId", TRIGGER),
            source=require(record, "eventSourceARN", TRIGGER),
            type=TYPE,
            time=epoch_millis(sent, TRIGGER, "attributes.SentTimestamp") if sent else None,
            datacontenttype=content_type,
            data=data,
            extensions=extensions,
        )
    ]


def batch_response(failed_ids: list[str]) -> BatchResponse:
    return {"batchItemFailures": [{"itemIdentifier": i} for i in failed_ids]}
