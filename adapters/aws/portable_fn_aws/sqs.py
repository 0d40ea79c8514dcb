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

import json
from typing import Any, TypedDict

from portable_fn.events import CloudEvent
from portable_fn_aws import _nested
from portable_fn_aws._common import decode_error, epoch_millis

TRIGGER = "sqs"
TYPE = "com.amazonaws.sqs.message"
JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
_loads = json.loads


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
    # The hot path of every queue function: fields read once, no helper calls per field.
    try:
        body = record["body"]
        message_id = record["messageId"]
        source = record["eventSourceARN"]
    except KeyError as exc:
        raise decode_error(TRIGGER, str(exc.args[0]), "is missing") from None
    except TypeError:
        raise decode_error(TRIGGER, "record", "must be an object") from None
    if type(body) is not str:
        raise decode_error(TRIGGER, "body", "must be a string")
    data: Any = body
    content_type = TEXT
    first = body[:1]
    if first == "{" or first == "[":
        try:
            data = _loads(body)
            content_type = JSON
        except ValueError:
            pass  # not JSON after all: a text message
    if type(data) is dict:
        nested = _nested.from_object(data)
        if nested is not None:
            return nested
    attributes = record.get("attributes") or {}
    sent = attributes.get("SentTimestamp")
    event = CloudEvent(
        id=message_id,
        source=source,
        type=TYPE,
        time=epoch_millis(sent, TRIGGER, "attributes.SentTimestamp") if sent else None,
        datacontenttype=content_type,
        data=data,
    )
    group = attributes.get("MessageGroupId")
    if group:  # FIFO only: standard messages skip the extension validation entirely
        event = event.with_extensions(partitionkey=group, sequence=attributes.get("SequenceNumber"))
    return [event]


def batch_response(failed_ids: list[str]) -> BatchResponse:
    return {"batchItemFailures": [{"itemIdentifier": i} for i in failed_ids]}
