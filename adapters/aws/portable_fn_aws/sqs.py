# SPDX-License-Identifier: Apache-2.0
"""Amazon SQS messages (standard and FIFO) delivered to Lambda in batches.

Record: https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#example-standard-queue-message-event
FIFO: https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#sample-fifo-queues-message-event
Partial batch response: https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting
No official CloudEvents adapter exists; the project's mapping (docs, event-mapping 5.10):
``type`` = ``com.amazonaws.sqs.message``, ``source`` = eventSourceARN, ``id`` = messageId,
``time`` = SentTimestamp, ``partitionkey`` = MessageGroupId, ``sequence`` = SequenceNumber.
A body that is an envelope (structured CloudEvent, SNS notification, S3 or EventBridge event)
is unwrapped to the events it carries; so is a binary-mode CloudEvent in ``ce-*`` message
attributes (``_attributes``).
"""

from __future__ import annotations

from datetime import datetime
from types import MappingProxyType
from typing import Any, TypedDict

from portable_fn._json import loads
from portable_fn._value import setters
from portable_fn.events import SPECVERSION, CloudEvent
from portable_fn_aws import _attributes, _nested, sns
from portable_fn_aws._common import TEXT, decode_error, epoch_millis, text_payload

TRIGGER = "sqs"
TYPE = "com.amazonaws.sqs.message"
JSON = "application/json"


class BatchItemFailure(TypedDict):
    itemIdentifier: str


class BatchResponse(TypedDict):
    batchItemFailures: list[BatchItemFailure]


class SqsMessage(CloudEvent, view=True):
    """A standard-queue message with a JSON body as its CloudEvent, built for the per-message
    hot path: two slots set per message, ``data`` and one tuple of what the record said.

    ``id``, ``source`` and ``time`` are read from that tuple (the messageId, eventSourceARN and
    SentTimestamp, each checked when the record was decoded); ``time`` is converted on each read,
    since most handlers never ask. The attributes every SQS message shares are class constants.
    It equals, prints and pickles as the ``CloudEvent`` it stands for.
    """

    __slots__ = ("_message",)
    _message: tuple[str, str, str | int | None]
    specversion = SPECVERSION
    type = TYPE
    datacontenttype = JSON
    dataschema = None
    subject = None
    extensions = MappingProxyType({})

    @property  # type: ignore[misc]
    def id(self) -> str:
        return self._message[0]

    @property  # type: ignore[misc]
    def source(self) -> str:
        return self._message[1]

    @property  # type: ignore[misc]
    def time(self) -> datetime | None:
        sent = self._message[2]
        return None if sent is None else epoch_millis(sent, TRIGGER, "attributes.SentTimestamp")


class SqsTextMessage(SqsMessage, view=True):
    """``SqsMessage`` for a body that is not JSON: the text itself is the data."""

    __slots__ = ()
    datacontenttype = TEXT


_MAX_MILLIS = 253_402_300_800_000  # 10000-01-01T00:00:00Z
_new = object.__new__
(_set_data,) = setters(CloudEvent, "data")
(_set_message,) = setters(SqsMessage, "_message")
# Keys whose presence in a JSON body may mean an envelope (see _nested): one set test rules
# out a plain payload, instead of _nested's six lookups.
_ENVELOPE_KEYS = frozenset(
    ("specversion", "Type", "Records", "Event", "detail-type", "eventSource")
)


def matches_record(record: Any) -> bool:
    return isinstance(record, dict) and record.get("eventSource") == "aws:sqs"


def attempt(record: dict[str, Any]) -> int:
    """ApproximateReceiveCount: 1 on first delivery, and never less (a count of "0" or "-1",
    which SQS does not send, is no earlier delivery than the first)."""
    try:
        return max(1, int(record["attributes"]["ApproximateReceiveCount"]))
    except (KeyError, TypeError, ValueError, OverflowError):  # OverflowError: int(1e309)
        return 1


def from_record(record: dict[str, Any]) -> list[CloudEvent]:
    """The events one SQS record carries: one, or what an envelope in its body holds."""
    attributes = record.get("attributes") if type(record) is dict else None
    decoded = message(record, attributes)
    return decoded if type(decoded) is list else [decoded]  # type: ignore[list-item]


def message(record: dict[str, Any], attributes: Any) -> CloudEvent | list[CloudEvent]:
    """``from_record`` without the list for the one event of a plain message: the hot path of
    every queue function, so each field is read once and no helper is called per field.
    ``attributes`` is ``record.get("attributes")``, which the batch loop has read already."""
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
    if type(message_id) is not str or not message_id:
        raise decode_error(TRIGGER, "messageId", "must be a non-empty string")
    if type(source) is not str or not source:
        raise decode_error(TRIGGER, "eventSourceARN", "must be a non-empty string")
    message_attributes = record.get("messageAttributes")
    if message_attributes and _attributes.carries_event(message_attributes):
        return [_attributes.from_attributes(message_attributes, body, TRIGGER)]
    if not attributes:
        sent = group = None
    elif type(attributes) is dict:
        sent = attributes.get("SentTimestamp") or None
        group = attributes.get("MessageGroupId")
    else:
        raise decode_error(TRIGGER, "attributes", "must be an object")
    # Checked now, converted when first read: digits, and at most 15 of them (epoch
    # milliseconds up to the year 9999, datetime's last), so reading `time` cannot fail later.
    if sent is not None and not (
        (type(sent) is str and sent.isdecimal() and len(sent) <= 15)
        or (type(sent) is int and 0 <= sent < _MAX_MILLIS)
    ):
        raise decode_error(
            TRIGGER, "attributes.SentTimestamp", f"not an epoch-milliseconds timestamp: {sent!r}"
        )
    data: Any = body
    event: CloudEvent
    first = body[:1]
    if first == "{" or first == "[":
        try:
            data = loads(body, strict=True)  # no NaN: text, as on Azure and Pub/Sub
        except (ValueError, RecursionError):  # RecursionError: see text_payload
            event = _new(SqsTextMessage)  # not JSON after all: a text message
        else:
            if type(data) is dict and not _ENVELOPE_KEYS.isdisjoint(data):
                nested = _nested.from_object(data)
                if nested is not None:
                    return _ordered(nested, group, attributes) if group else nested
            event = _new(SqsMessage)
    else:  # a JSON number, string or literal, a byte order mark or whitespace first, or text
        data, content_type = text_payload(body)
        if content_type is TEXT:
            event = _new(SqsTextMessage)
        else:
            if type(data) is dict and not _ENVELOPE_KEYS.isdisjoint(data):  # BOM/space first
                nested = _nested.from_object(data)
                if nested is not None:
                    return _ordered(nested, group, attributes) if group else nested
            event = _new(SqsMessage)
    _set_data(event, data)
    _set_message(event, (message_id, source, sent))
    if group:  # FIFO: the ordering attributes are extensions, validated as such
        return event.with_extensions(
            partitionkey=group, sequence=attributes.get("SequenceNumber")
        )
    return event


def _ordered(events: list[CloudEvent], group: Any, attributes: Any) -> list[CloudEvent]:
    """What an SNS FIFO topic's notification in a FIFO queue carried, in the queue's order: the
    notification's event takes the message's group and sequence number, as a plain message of
    the queue does. An event portable-fn published arrives as itself (mapping rule 1)."""
    sequence = attributes.get("SequenceNumber")
    return [
        event.with_extensions(partitionkey=group, sequence=sequence)
        if event.type.startswith(sns.TYPE_PREFIX)
        else event
        for event in events
    ]


def batch_response(failed_ids: list[str]) -> BatchResponse:
    return {"batchItemFailures": [{"itemIdentifier": i} for i in failed_ids]}
