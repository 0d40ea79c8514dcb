# SPDX-License-Identifier: Apache-2.0
"""Pub/Sub ``google.cloud.pubsub.topic.v1.messagePublished`` events.

Payload: ``google.events.cloud.pubsub.v1.MessagePublishedData``
(https://github.com/googleapis/google-cloudevents/blob/main/proto/google/events/cloud/pubsub/v1/data.proto,
samples in ``examples/{binary,structured}/pubsub/``)::

    {"message": {"data": "<base64>", "attributes": {...}, "messageId": "...",
                 "publishTime": "RFC 3339", "orderingKey": "..."},
     "subscription": "projects/p/subscriptions/s", "deliveryAttempt": 3}

A direct push subscription sends the same body with snake_case twins (``message_id``,
``publish_time``: https://cloud.google.com/pubsub/docs/push#receive_push); functions-framework turns
that and the legacy background format into this event first. ``deliveryAttempt`` is present only
when the subscription has a dead-letter policy.

A message that carries a CloudEvent (the Pub/Sub binding, see ``binding``) becomes that original
event. Any other message becomes an event with the envelope's ``id``/``source``/``type``,
``time`` = ``publishTime``, ``partitionkey`` = ``orderingKey``, and ``data`` read by the
message's ``content-type`` attribute, else as JSON if it parses, else UTF-8 text without control
characters (tab and line breaks aside), else bytes.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any, NamedTuple

from portable_fn.adapter import undeclared
from portable_fn.errors import EventDecodeError
from portable_fn.events import CloudEvent, decode_data

from portable_fn_gcp import timestamps
from portable_fn_gcp.binding import from_message

__all__ = ["PUBLISHED", "PublishedMessage", "identity", "is_published", "parse", "unwrap"]

PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"


class PublishedMessage(NamedTuple):
    """The parts of a ``MessagePublishedData`` the adapter uses (immutable; a NamedTuple
    rather than a dataclass because it is defined on every cold start, and is cheaper)."""

    data: bytes
    attributes: Mapping[str, str]
    message_id: str | None
    publish_time: str | None
    ordering_key: str | None
    delivery_attempt: int | None


def is_published(event: CloudEvent) -> bool:
    return event.type == PUBLISHED


def parse(envelope: CloudEvent, *, trigger: str) -> PublishedMessage:
    """Read the message out of a messagePublished event (``EventDecodeError`` when malformed)."""
    payload = envelope.data
    if isinstance(payload, bytes | str):
        try:
            payload = json.loads(payload)
        except ValueError:
            payload = None
    message = payload.get("message") if isinstance(payload, dict) else None
    if message is None and isinstance(payload, dict) and "messageId" in payload:
        # Google's structured sample (examples/structured/pubsub/MessagePublishedData.json)
        # puts the message fields at the top of data, with no "message" wrapper.
        message = payload
    if not isinstance(message, dict):
        raise _error("data.message", "messagePublished event has no message object", trigger)
    encoded = message.get("data") or ""
    if not isinstance(encoded, str):
        raise _error("data.message.data", "message data must be a base64 string", trigger)
    try:
        data = base64.b64decode(encoded, validate=True) if encoded else b""
    except (binascii.Error, ValueError, TypeError):
        raise _error("data.message.data", "message data is not base64", trigger) from None
    attributes = message.get("attributes") or {}
    if not isinstance(attributes, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in attributes.items()
    ):
        raise _error("data.message.attributes", "attributes must map strings to strings", trigger)
    attempt = payload.get("deliveryAttempt", payload.get("delivery_attempt"))
    return PublishedMessage(
        data=data,
        attributes=attributes,
        message_id=_text(message, "messageId", "message_id", trigger),
        publish_time=_text(message, "publishTime", "publish_time", trigger),
        ordering_key=_text(message, "orderingKey", "ordering_key", trigger),
        delivery_attempt=attempt if isinstance(attempt, int) and attempt > 0 else None,
    )


def identity(envelope: CloudEvent) -> dict[str, str]:
    """The ``message_id`` and ``subscription`` a messagePublished event names, for a log line
    about a message that may not parse: what is missing or malformed is left out."""
    payload = envelope.data
    if not isinstance(payload, dict):
        return {}
    message = payload.get("message", payload)  # no wrapper: Google's structured sample (parse)
    if not isinstance(message, dict):
        return {}
    found = {
        "message_id": message.get("messageId", message.get("message_id")),
        "subscription": payload.get("subscription"),
    }
    return {k: v for k, v in found.items() if isinstance(v, str) and v}


def _text(message: dict[str, Any], camel: str, snake: str, trigger: str) -> str | None:
    """A string field in either spelling; None when absent or empty."""
    value = message.get(camel, message.get(snake))
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _error(f"data.message.{camel}", f"{camel} must be a string", trigger)
    return value


def unwrap(envelope: CloudEvent, *, trigger: str) -> tuple[CloudEvent, PublishedMessage]:
    """The event a messagePublished envelope carries, and the message it came in."""
    message = parse(envelope, trigger=trigger)
    carried = from_message(message.data, message.attributes, trigger=trigger)
    if carried is not None:
        return carried, message
    try:
        data, content_type = _guess(message.data, _content_type(message.attributes))
    except ValueError as exc:  # a content-type attribute that the bytes contradict
        raise _error("data.message.data", str(exc), trigger) from exc
    extensions = {"partitionkey": message.ordering_key} if message.ordering_key else {}
    try:
        event = CloudEvent(
            id=message.message_id or envelope.id,
            source=envelope.source,
            type=envelope.type,
            time=timestamps.parse(message.publish_time) if message.publish_time else envelope.time,
            datacontenttype=content_type,
            data=data,
            extensions=extensions,
        )
    except ValueError as exc:
        raise _error("data.message", str(exc), trigger) from exc
    return event, message


def _content_type(attributes: Mapping[str, str]) -> str | None:
    """The ``content-type`` attribute in any case. Attribute names are case-sensitive, but
    Google's own payload-unwrapping example publishes ``Content-Type``
    (https://cloud.google.com/pubsub/docs/payload-unwrapping), and an unwrapped push turns it
    into the HTTP header, which is read whatever its case: the same message must give the
    same data wrapped or not."""
    value = attributes.get("content-type")
    if value is None:
        value = next((v for k, v in attributes.items() if k.lower() == "content-type"), None)
    return value


def _guess(body: bytes, content_type: str | None) -> tuple[Any, str | None]:
    if content_type is not None:
        return decode_data(body, content_type), content_type
    return undeclared(body)  # JSON, else text, else bytes: the rule of every provider


def _error(field: str, message: str, trigger: str) -> EventDecodeError:
    return EventDecodeError(message, provider="gcp", trigger=trigger, field=field)
