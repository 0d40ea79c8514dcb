# SPDX-License-Identifier: Apache-2.0
"""Amazon Kinesis Data Streams records, for ``@app.stream``.

Record: https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html#services-kinesis-event-example
Partial batch response (sequence numbers): https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html
Project mapping (event-mapping 5.10): ``type`` = ``com.amazonaws.kinesis.record``,
``source`` = eventSourceARN, ``id`` = eventID (shard id + sequence number),
``time`` = approximateArrivalTimestamp, ``partitionkey`` = partitionKey,
``sequence`` = sequenceNumber. Data is base64 on the wire: JSON when it parses, text when it
is UTF-8, else bytes; a structured CloudEvent is that event.
"""

from __future__ import annotations

import binascii
import json
from base64 import b64decode
from typing import Any

from portable_fn.events import CloudEvent, from_dict
from portable_fn_aws._common import decode_error, epoch_seconds, require

TRIGGER = "kinesis"
TYPE = "com.amazonaws.kinesis.record"


def matches_record(record: Any) -> bool:
    return isinstance(record, dict) and record.get("eventSource") == "aws:kinesis"


def sequence_number(record: dict[str, Any]) -> str:
    return str(require(require(record, "kinesis", TRIGGER), "sequenceNumber", TRIGGER))


def _data(raw: bytes) -> tuple[Any, str]:
    if raw[:1] in (b"{", b"["):
        try:
            return json.loads(raw), "application/json"
        except ValueError:
            pass
    try:
        return raw.decode("utf-8"), "text/plain; charset=utf-8"
    except UnicodeDecodeError:
        return raw, "application/octet-stream"


def from_record(record: dict[str, Any]) -> list[CloudEvent]:
    kinesis = require(record, "kinesis", TRIGGER)
    try:
        raw = b64decode(require(kinesis, "data", TRIGGER), validate=True)
    except (binascii.Error, ValueError):
        raise decode_error(TRIGGER, "kinesis.data", "is not base64") from None
    data, content_type = _data(raw)
    if type(data) is dict and "specversion" in data:
        return [from_dict(data)]
    arrival = kinesis.get("approximateArrivalTimestamp")
    event = CloudEvent(
        id=require(record, "eventID", TRIGGER),
        source=require(record, "eventSourceARN", TRIGGER),
        type=TYPE,
        time=epoch_seconds(arrival, TRIGGER, "approximateArrivalTimestamp") if arrival else None,
        datacontenttype=content_type,
        data=data,
        extensions={
            "partitionkey": str(require(kinesis, "partitionKey", TRIGGER)),
            "sequence": sequence_number(record),
        },
    )
    return [event]
