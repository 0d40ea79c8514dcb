# SPDX-License-Identifier: Apache-2.0
"""Amazon Kinesis Data Streams records, for ``@app.stream``.

Record: https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html#services-kinesis-event-example
Partial batch response (sequence numbers): https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html
Project mapping (event-mapping 5.10): ``type`` = ``com.amazonaws.kinesis.record``,
``source`` = eventSourceARN as the stream's ARN (an enhanced fan-out consumer's ARN,
``<stream ARN>/consumer/<name>:<epoch>``, names the reader, not where the event happened, and
changes when the consumer is registered again), ``id`` = eventID (shard id + sequence number),
``time`` = approximateArrivalTimestamp, ``partitionkey`` = partitionKey,
``sequence`` = sequenceNumber. Data is base64 on the wire: JSON when it parses, text when it
is UTF-8, else bytes; a structured CloudEvent is that event.

A record the Kinesis Producer Library aggregated (``_kpl``; format:
https://github.com/awslabs/amazon-kinesis-producer/blob/master/aggregation-format.md) is one
event per user record, in order, each mapped as a record of its own except: ``id`` = eventID
``:`` the user record's index (a plain eventID has one colon, so the two never collide, and a
redelivery numbers the same bytes the same way), ``partitionkey`` = the user record's own key,
and the extension ``subsequence`` = that index (an Integer; the KCL's "subsequence number").
All of them share the record's ``sequence``, the only position Lambda can checkpoint.
"""

from __future__ import annotations

import binascii
from base64 import b64decode
from typing import Any

from portable_fn.adapter import undeclared
from portable_fn.events import CloudEvent, ExtensionValue, from_dict
from portable_fn_aws._common import decode_error, epoch_seconds, require

TRIGGER = "kinesis"
TYPE = "com.amazonaws.kinesis.record"


def matches_record(record: Any) -> bool:
    return isinstance(record, dict) and record.get("eventSource") == "aws:kinesis"


def sequence_number(record: dict[str, Any]) -> str:
    return str(require(require(record, "kinesis", TRIGGER), "sequenceNumber", TRIGGER))


def _data(raw: bytes) -> tuple[Any, str | None]:
    """JSON when it parses, else UTF-8 text without control characters, else bytes: the rule
    of every transport that carries bytes (``portable_fn.adapter.undeclared``), so a protobuf
    record that happens to be valid UTF-8 is bytes, as on Pub/Sub and Event Hubs."""
    return undeclared(raw)


_KPL_MAGIC = b"\xf3\x89\x9a\xc2"  # _kpl.MAGIC, the aggregation format's first bytes


def from_record(record: dict[str, Any]) -> list[CloudEvent]:
    """The record's event; one per user record when a KPL producer aggregated it."""
    kinesis = require(record, "kinesis", TRIGGER)
    try:
        raw = b64decode(require(kinesis, "data", TRIGGER), validate=True)
    except (binascii.Error, ValueError):
        raise decode_error(TRIGGER, "kinesis.data", "is not base64") from None
    if not raw.startswith(_KPL_MAGIC):
        return [_event(record, kinesis, raw, None, None)]
    # Aggregated records come only from KPL producers: the decoder loads (and ships, see
    # target.py) only for apps with stream functions.
    from portable_fn_aws import _kpl

    try:
        users = _kpl.deaggregate(raw)
    except _kpl.AggregateError as exc:
        raise decode_error(TRIGGER, "kinesis.data", f"malformed KPL aggregate: {exc}") from None
    if users is None:
        return [_event(record, kinesis, raw, None, None)]
    return [_event(record, kinesis, u.data, u.partition_key, i) for i, u in enumerate(users)]


def _event(
    record: dict[str, Any],
    kinesis: Any,
    raw: bytes,
    partition_key: str | None,
    subsequence: int | None,
) -> CloudEvent:
    """One event: a plain record's (``subsequence`` None) or one user record's of an aggregate."""
    data, content_type = _data(raw)
    if type(data) is dict and "specversion" in data:
        return from_dict(data)
    event_id = require(record, "eventID", TRIGGER)
    if partition_key is None:
        partition_key = str(require(kinesis, "partitionKey", TRIGGER))
    extensions: dict[str, ExtensionValue] = {
        "partitionkey": partition_key,
        "sequence": sequence_number(record),
    }
    if subsequence is not None:
        event_id = f"{event_id}:{subsequence}"
        extensions["subsequence"] = subsequence
    arrival = kinesis.get("approximateArrivalTimestamp")
    source = str(require(record, "eventSourceARN", TRIGGER))
    return CloudEvent(
        id=event_id,
        source=source.partition("/consumer/")[0],  # the stream's ARN (module docstring)
        type=TYPE,
        time=epoch_seconds(arrival, TRIGGER, "approximateArrivalTimestamp") if arrival else None,
        datacontenttype=content_type,
        data=data,
        extensions=extensions,
    )
