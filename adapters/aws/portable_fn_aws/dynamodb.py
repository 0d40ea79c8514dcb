# SPDX-License-Identifier: Apache-2.0
"""Amazon DynamoDB Streams records, for ``@app.stream`` on a table's stream.

Record: https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html#services-ddb-event-example
Attribute values: https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_AttributeValue.html
Project mapping (event-mapping 5.10): ``type`` = ``com.amazonaws.dynamodb.`` + eventName
(INSERT / MODIFY / REMOVE), ``source`` = eventSourceARN, ``id`` = eventID, ``subject`` = the
keys as compact sorted JSON, ``time`` = ApproximateCreationDateTime, ``sequence`` =
SequenceNumber. ``data`` = ``{"keys", "new_image"?, "old_image"?}`` as plain values.
"""

from __future__ import annotations

import json
from base64 import b64decode
from typing import Any

from portable_fn.events import CloudEvent
from portable_fn_aws._common import decode_error, epoch_seconds, require

TRIGGER = "dynamodb"
TYPE_PREFIX = "com.amazonaws.dynamodb."


def matches_record(record: Any) -> bool:
    return isinstance(record, dict) and record.get("eventSource") == "aws:dynamodb"


def sequence_number(record: dict[str, Any]) -> str:
    return str(require(require(record, "dynamodb", TRIGGER), "SequenceNumber", TRIGGER))


def _number(text: Any) -> int | float:
    try:
        return int(text)
    except (TypeError, ValueError):
        pass
    try:
        return float(text)
    except (TypeError, ValueError):
        raise decode_error(TRIGGER, "dynamodb", f"not a number: {text!r:.100}") from None


def attribute(value: dict[str, Any]) -> Any:
    """One typed AttributeValue (``{"S": "x"}``) as a plain value."""
    if not isinstance(value, dict) or len(value) != 1:
        raise decode_error(TRIGGER, "dynamodb", f"not an AttributeValue: {value!r}")
    ((tag, inner),) = value.items()
    if tag in ("S", "BOOL"):
        return inner
    if tag == "N":
        return _number(inner)
    if tag == "NULL":
        return None
    if tag == "B":
        return b64decode(inner)
    if tag == "M":
        return image(inner)
    if tag == "L":
        return [attribute(v) for v in inner]
    if tag == "SS":
        return list(inner)
    if tag == "NS":
        return [_number(v) for v in inner]
    if tag == "BS":
        return [b64decode(v) for v in inner]
    raise decode_error(TRIGGER, "dynamodb", f"unknown AttributeValue type {tag!r}")


def image(item: dict[str, Any]) -> dict[str, Any]:
    return {name: attribute(v) for name, v in item.items()}


def from_record(record: dict[str, Any]) -> list[CloudEvent]:
    """The change's one event (a list, as every stream codec returns: ``kinesis`` may give more)."""
    change = require(record, "dynamodb", TRIGGER)
    keys = image(require(change, "Keys", TRIGGER))
    data: dict[str, Any] = {"keys": keys}
    if "NewImage" in change:
        data["new_image"] = image(change["NewImage"])
    if "OldImage" in change:
        data["old_image"] = image(change["OldImage"])
    created = change.get("ApproximateCreationDateTime")
    event = CloudEvent(
        id=require(record, "eventID", TRIGGER),
        source=require(record, "eventSourceARN", TRIGGER),
        type=TYPE_PREFIX + str(require(record, "eventName", TRIGGER)),
        subject=json.dumps(keys, sort_keys=True, separators=(",", ":"), default=str),
        time=epoch_seconds(created, TRIGGER, "ApproximateCreationDateTime") if created else None,
        datacontenttype="application/json",
        data=data,
        extensions={"sequence": sequence_number(record)},
    )
    return [event]
