# SPDX-License-Identifier: Apache-2.0
"""Amazon DynamoDB Streams records, for ``@app.stream`` on a table's stream.

Record: https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html#services-ddb-event-example
Attribute values: https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_AttributeValue.html
Project mapping (event-mapping 5.10): ``type`` = ``com.amazonaws.dynamodb.`` + eventName
(INSERT / MODIFY / REMOVE), ``source`` = eventSourceARN, ``id`` = eventID, ``subject`` = the
keys as compact sorted JSON (a Binary key as its base64 text, as DynamoDB's JSON writes it),
``time`` = ApproximateCreationDateTime, ``sequence`` = SequenceNumber.
``data`` = ``{"keys", "new_image"?, "old_image"?, "expired"?}`` as plain values (B and BS as
bytes; N and NS as ``int`` when integral, exact at any size, else ``float``, which JSON can
carry); ``expired`` is True on a REMOVE the Time to Live process made.
"""

from __future__ import annotations

import binascii
import json
from base64 import b64decode, b64encode
from math import isfinite
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
    """An N value: the API sends a string, never a JSON number (``int(1.5)`` would be 1), and
    only finite numbers (``float`` would read ``"NaN"``, ``"inf"``, ``"1e999"``)."""
    if type(text) is str:
        try:
            return int(text)
        except ValueError:
            pass
        try:
            value = float(text)
        except ValueError:
            pass
        else:
            if isfinite(value):
                return value
    raise decode_error(TRIGGER, "dynamodb", f"not a number: {text!r:.100}")


def _binary(text: Any) -> bytes:
    try:
        return b64decode(text, validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise decode_error(TRIGGER, "dynamodb", f"not base64: {text!r:.100}") from None


def _items(tag: str, inner: Any, kind: type) -> Any:
    """``inner`` checked against the one JSON type its AttributeValue tag allows."""
    if type(inner) is not kind:
        raise decode_error(
            TRIGGER, "dynamodb", f"{tag} value must be {kind.__name__}, got {inner!r:.100}"
        )
    return inner


def attribute(value: dict[str, Any]) -> Any:
    """One typed AttributeValue (``{"S": "x"}``) as a plain value; a value whose JSON type is not
    its tag's (a string where SS wants a list...) is an ``EventDecodeError``, never reinterpreted.
    """
    if not isinstance(value, dict) or len(value) != 1:
        raise decode_error(TRIGGER, "dynamodb", f"not an AttributeValue: {value!r:.100}")
    ((tag, inner),) = value.items()
    if tag == "S":
        return _items(tag, inner, str)
    if tag == "N":
        return _number(inner)
    if tag == "BOOL":
        return _items(tag, inner, bool)
    if tag == "NULL":
        if inner is not True:  # the API's only NULL value is true
            raise decode_error(TRIGGER, "dynamodb", f"NULL value must be true, got {inner!r:.100}")
        return None
    if tag == "B":
        return _binary(inner)
    if tag == "M":
        return image(_items(tag, inner, dict))
    if tag == "L":
        return [attribute(v) for v in _items(tag, inner, list)]
    if tag == "SS":
        return [_items(tag, v, str) for v in _items(tag, inner, list)]
    if tag == "NS":
        return [_number(v) for v in _items(tag, inner, list)]
    if tag == "BS":
        return [_binary(v) for v in _items(tag, inner, list)]
    raise decode_error(TRIGGER, "dynamodb", f"unknown AttributeValue type {tag!r:.100}")


def _portable(value: Any) -> str:
    """JSON for what ``json`` cannot write: bytes as base64 text, as DynamoDB's JSON has them."""
    if isinstance(value, bytes):
        return b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def image(item: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise decode_error(TRIGGER, "dynamodb", f"not an item: {item!r:.100}")
    return {name: attribute(v) for name, v in item.items()}


# Who deletes an expired item (API_streams_Record.html, userIdentity): the Time to Live process.
_TTL = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


def from_record(record: dict[str, Any]) -> list[CloudEvent]:
    """The change's one event (a list, as every stream codec returns: ``kinesis`` may give more)."""
    change = require(record, "dynamodb", TRIGGER)
    keys = image(require(change, "Keys", TRIGGER))
    data: dict[str, Any] = {"keys": keys}
    if "NewImage" in change:
        data["new_image"] = image(change["NewImage"])
    if "OldImage" in change:
        data["old_image"] = image(change["OldImage"])
    if record.get("userIdentity") == _TTL:
        data["expired"] = True  # the Time to Live process deleted it, not a request
    created = change.get("ApproximateCreationDateTime")
    event = CloudEvent(
        id=require(record, "eventID", TRIGGER),
        source=require(record, "eventSourceARN", TRIGGER),
        type=TYPE_PREFIX + str(require(record, "eventName", TRIGGER)),
        subject=json.dumps(keys, sort_keys=True, separators=(",", ":"), default=_portable),
        time=epoch_seconds(created, TRIGGER, "ApproximateCreationDateTime") if created else None,
        datacontenttype="application/json",
        data=data,
        extensions={"sequence": sequence_number(record)},
    )
    return [event]
