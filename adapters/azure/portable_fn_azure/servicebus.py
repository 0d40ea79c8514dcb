# SPDX-License-Identifier: Apache-2.0
"""Service Bus trigger (queue or topic subscription): ``ServiceBusMessage`` -> ``CloudEvent``.

Payload: https://learn.microsoft.com/azure/azure-functions/functions-bindings-service-bus-trigger
(message metadata: ``MessageId``, ``DeliveryCount``, ``EnqueuedTimeUtc``, ``ContentType``,
``Subject``/``Label``, ``SessionId``, ``PartitionKey``, ``SequenceNumber``,
``ApplicationProperties``). Three shapes arrive, checked in this order:

1. structured mode: content type ``application/cloudevents+json`` or a body that is a
   CloudEvent (what ``pf.publish``/``pf.send`` write): that event, unchanged;
2. binary mode of the CloudEvents AMQP binding
   (https://github.com/cloudevents/spec/blob/main/cloudevents/bindings/amqp-protocol-binding.md):
   attributes in application properties ``cloudEvents_<name>`` or ``cloudEvents:<name>``,
   the body is ``data``;
3. any other message: type ``com.microsoft.servicebus.message``, source
   ``/azure/servicebus/<entity>``, extensions ``partitionkey`` (session id or partition key) and
   ``sequence`` (the sequence number, as the spec's string).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from portable_fn.errors import EventDecodeError, InvalidCloudEventError
from portable_fn.events import CloudEvent, decode_data, from_dict, sniff_structured

from portable_fn_azure._payload import as_bytes, aware, decode_body

if TYPE_CHECKING:
    import azure.functions as func

__all__ = ["TYPE", "attempt", "source", "to_event"]

TYPE = "com.microsoft.servicebus.message"
TRIGGER = "serviceBusTrigger"
_AMQP_PREFIXES = ("cloudEvents_", "cloudEvents:")


def source(entity: str) -> str:
    return f"/azure/servicebus/{entity}"


def to_event(msg: func.ServiceBusMessage, *, entity: str) -> CloudEvent:
    """The CloudEvent a Service Bus message carries; ``EventDecodeError`` if it cannot be read."""
    body = as_bytes(msg.get_body())
    content_type = msg.content_type
    try:
        if content_type and content_type.startswith("application/cloudevents"):
            original = sniff_structured(body)
            if original is None:
                raise InvalidCloudEventError("specversion", "structured body is not an event")
            return original
        props = _properties(msg)
        binary = {
            key[len(prefix) :]: value
            for key, value in props.items()
            for prefix in _AMQP_PREFIXES
            if key.startswith(prefix)
        }
        if binary:
            return _from_binary(binary, body, content_type)
        original = sniff_structured(body)
        if original is not None:
            return original
        return _synthesise(msg, body, content_type, entity)
    except InvalidCloudEventError as exc:
        raise EventDecodeError(
            f"Service Bus message {msg.message_id!r} is not a valid CloudEvent: {exc}",
            provider="azure",
            trigger=TRIGGER,
            field=exc.attribute,
        ) from exc


def _properties(msg: func.ServiceBusMessage) -> Mapping[str, Any]:
    # Newer hosts fill ApplicationProperties; older ones only UserProperties (same content).
    props = msg.application_properties or msg.user_properties
    return props if isinstance(props, Mapping) else {}


def _from_binary(attrs: dict[str, Any], body: bytes, content_type: str | None) -> CloudEvent:
    obj: dict[str, Any] = {k: v for k, v in attrs.items() if k != "datacontenttype"}
    obj.setdefault("specversion", "1.0")
    if content_type:
        obj["datacontenttype"] = content_type
    event = from_dict(obj)
    return event.replace(data=decode_data(body, content_type))


def _synthesise(
    msg: func.ServiceBusMessage, body: bytes, content_type: str | None, entity: str
) -> CloudEvent:
    if not msg.message_id:
        raise EventDecodeError(
            "Service Bus message has no MessageId", provider="azure", trigger=TRIGGER,
            field="MessageId",
        )
    data, data_type = decode_body(body, content_type)
    extensions: dict[str, str] = {}
    key = msg.session_id or msg.partition_key
    if key:
        extensions["partitionkey"] = key
    if msg.sequence_number is not None:
        extensions["sequence"] = str(msg.sequence_number)
    return CloudEvent(
        id=msg.message_id,
        source=source(entity),
        type=TYPE,
        subject=msg.subject or msg.label or None,
        time=aware(msg.enqueued_time_utc),
        datacontenttype=data_type,
        data=data,
        extensions=extensions,
    )


def attempt(msg: func.ServiceBusMessage) -> int:
    count = msg.delivery_count
    return count if isinstance(count, int) and count > 0 else 1
