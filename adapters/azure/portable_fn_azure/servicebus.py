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
   the body is ``data`` (``_amqp``);
3. an Event Grid-schema event that Event Grid delivered to the entity: that event, as the Event
   Grid trigger reads it (``eventgrid.from_schema``);
4. any other message: id ``MessageId`` (none, as from an AMQP sender that set none or IoT Hub
   message routing: the sequence number, see ``_sequence``), type
   ``com.microsoft.servicebus.message``, source ``/azure/servicebus/<entity>``, subject
   ``Subject``/``Label``, time ``EnqueuedTimeUtc`` (for a scheduled message, when it was
   activated), datacontenttype ``ContentType``; extensions ``partitionkey`` (session id or
   partition key), ``sequence`` (the sequence number, zero-padded to 20 digits: the spec orders
   it as text) and ``correlationid`` (``CorrelationId``: the CloudEvents correlation extension,
   https://github.com/cloudevents/spec/blob/main/cloudevents/extensions/correlation.md).
   ``DeliveryCount`` is ``ctx.attempt``. Application properties, ``ReplyTo``, ``TimeToLive`` and
   ``ScheduledEnqueueTimeUtc`` have no CloudEvents attribute and DESIGN keeps project extensions
   few: they stay on the native message (``ctx.native``), as SQS message attributes do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from portable_fn.errors import EventDecodeError, InvalidCloudEventError
from portable_fn.events import CloudEvent, sniff_structured

from portable_fn_azure import _amqp
from portable_fn_azure._payload import (
    as_bytes,
    aware,
    decode_body,
    sequence_text,
    without_bom,
)

if TYPE_CHECKING:
    import azure.functions as func

__all__ = ["TYPE", "attempt", "source", "to_event"]

TYPE = "com.microsoft.servicebus.message"
TRIGGER = "serviceBusTrigger"


def source(entity: str) -> str:
    return f"/azure/servicebus/{entity}"


def to_event(msg: func.ServiceBusMessage, *, entity: str) -> CloudEvent:
    """The CloudEvent a Service Bus message carries; ``EventDecodeError`` if it cannot be read."""
    body = as_bytes(msg.get_body())
    content_type = msg.content_type
    try:
        if content_type and content_type.startswith("application/cloudevents"):
            original = sniff_structured(without_bom(body))
            if original is None:
                raise InvalidCloudEventError("specversion", "structured body is not an event")
            return original
        binary = _amqp.attributes(_properties(msg))
        if binary:
            return _amqp.from_binary(binary, body, content_type)
        original = sniff_structured(without_bom(body))
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


def _synthesise(
    msg: func.ServiceBusMessage, body: bytes, content_type: str | None, entity: str
) -> CloudEvent:
    data, data_type = decode_body(body, content_type)
    if type(data) is dict and "eventType" in data:  # one lookup for most payloads
        from portable_fn_azure import eventgrid  # only for such bodies

        delivered = eventgrid.from_schema(data)
        if delivered is not None:
            return delivered
    sequence = _sequence(msg)
    event_id = msg.message_id or sequence
    if not event_id:
        raise EventDecodeError(
            "Service Bus message has neither MessageId nor SequenceNumber", provider="azure",
            trigger=TRIGGER, field="MessageId",
        )
    extensions: dict[str, str] = {}
    key = msg.session_id or msg.partition_key
    if key:
        extensions["partitionkey"] = key
    if sequence:
        extensions["sequence"] = sequence
    if msg.correlation_id:
        extensions["correlationid"] = msg.correlation_id
    return CloudEvent(
        id=event_id,
        source=source(entity),
        type=TYPE,
        subject=msg.subject or msg.label or None,
        time=aware(msg.enqueued_time_utc),
        datacontenttype=data_type,
        data=data,
        extensions=extensions,
    )


def _sequence(msg: func.ServiceBusMessage) -> str | None:
    """The sequence number as the ``sequence`` extension (zero-padded, ``sequence_text``).

    Also the id of a message without ``MessageId`` (an AMQP sender that set none, IoT Hub
    message routing): the broker assigns it, it is the same on every delivery of the message,
    and unique in the entity, a partitioned one too, whose top 16 bits are the partition
    (https://learn.microsoft.com/azure/service-bus-messaging/message-sequencing).
    """
    number = msg.sequence_number
    if isinstance(number, bool) or not isinstance(number, int) or number < 0:
        return None
    return sequence_text(number)


def attempt(msg: func.ServiceBusMessage) -> int:
    count = msg.delivery_count
    return count if isinstance(count, int) and count > 0 else 1
