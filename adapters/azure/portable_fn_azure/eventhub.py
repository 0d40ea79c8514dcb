# SPDX-License-Identifier: Apache-2.0
"""Event Hubs trigger (cardinality many; a cardinality-one invocation is a batch of one):
``EventHubEvent`` -> ``CloudEvent``.

Payload: https://learn.microsoft.com/azure/azure-functions/functions-bindings-event-hubs-trigger
(per event ``EnqueuedTimeUtc``, ``SequenceNumber``, ``Offset``, ``PartitionKey`` in
``SystemPropertiesArray``, application properties in ``PropertiesArray``; ``PartitionContext``
names the hub and partition). A body that is a structured-mode CloudEvent is that event; an event
whose properties carry the CloudEvents AMQP binding (``cloudEvents:``/``cloudEvents_``, ``_amqp``)
is that binary-mode event, with the AMQP ``content-type`` (a system property) as its
datacontenttype; others get type ``com.microsoft.eventhub.event``, source
``/azure/eventhubs/<hub>``, id ``<partition>:<sequence>`` (the Knative Kafka style: unique per
hub), extensions ``partitionkey`` and ``sequence`` (zero-padded to 20 digits, ``sequence_text``:
the CloudEvents sequence extension orders values as text).

Every event of a batch shares one metadata object, which the library decodes whole on each
event's first ``metadata`` read: ``batch_metadata`` reads it once per batch (from the first
event, as the library's docstring advises), not once per event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
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

__all__ = [
    "TYPE", "BatchMetadata", "batch_metadata", "located", "partition_id", "source", "to_event",
]

TYPE = "com.microsoft.eventhub.event"
TRIGGER = "eventHubTrigger"


def source(hub: str) -> str:
    return f"/azure/eventhubs/{hub}"


@dataclass(frozen=True, slots=True)
class BatchMetadata:
    """What the batch's shared metadata says: the partition, and per event its application
    properties and its system properties (empty mappings where the host sent none)."""

    partition: str
    properties: Sequence[Mapping[str, Any]]
    system: Sequence[Mapping[str, Any]]

    def properties_of(self, index: int) -> Mapping[str, Any]:
        return self.properties[index] if index < len(self.properties) else _NONE

    def system_of(self, index: int) -> Mapping[str, Any]:
        return self.system[index] if index < len(self.system) else _NONE


_NONE: Mapping[str, Any] = MappingProxyType({})  # shared, so never writable


def batch_metadata(event: func.EventHubEvent) -> BatchMetadata:
    """The batch's metadata, read from one of its events; ``EventDecodeError`` if unreadable."""
    try:  # the library decodes every metadata value on first access
        metadata: Any = event.metadata or {}
    except Exception as exc:
        raise EventDecodeError(
            f"unreadable Event Hubs trigger metadata: {exc}", provider="azure",
            trigger=TRIGGER, field="PartitionContext",
        ) from exc
    if not isinstance(metadata, Mapping):
        metadata = {}
    context = metadata.get("PartitionContext")
    value = context.get("PartitionId") if isinstance(context, Mapping) else None
    return BatchMetadata(
        partition="0" if value is None else str(value),
        properties=_mappings(metadata, "PropertiesArray", "Properties"),
        system=_mappings(metadata, "SystemPropertiesArray", "SystemProperties"),
    )


def _mappings(metadata: Mapping[str, Any], many: str, one: str) -> list[Mapping[str, Any]]:
    """Per event: the ``many`` array of a batch, or a cardinality-one invocation's ``one``
    object (its only event's; the trigger page's #event-metadata lists both forms)."""
    value = metadata.get(many)
    if value is None:
        single = metadata.get(one)
        return [single] if isinstance(single, Mapping) else []
    if not isinstance(value, list):
        return []
    return [item if isinstance(item, Mapping) else _NONE for item in value]


def located(error: EventDecodeError, event: func.EventHubEvent, partition: str,
            system: Mapping[str, Any]) -> EventDecodeError:
    """``error`` naming where the event lies in its partition. An event that cannot be decoded
    fails for good and Event Hubs has no dead-letter: the checkpoint moves past it, and the
    ERROR line is the only trace left, so it says where to replay the event from."""
    sequence = event.sequence_number
    offset = event.offset
    if sequence is None:
        sequence = system.get("SequenceNumber")
    if offset is None:
        offset = system.get("Offset")
    return EventDecodeError(
        f"{error.detail} (partition {partition}, sequence {sequence}, offset "
        f"{offset}: the checkpoint moves past it; replay it from there while the hub retains "
        "it)",
        provider=error.provider, trigger=error.trigger, field=error.field)


def partition_id(event: func.EventHubEvent) -> str:
    """The partition from ``PartitionContext`` metadata ("0" when the host gave none)."""
    return batch_metadata(event).partition


def to_event(
    event: func.EventHubEvent,
    *,
    hub: str,
    partition: str | None = None,
    properties: Mapping[str, Any] | None = None,
    system: Mapping[str, Any] | None = None,
) -> CloudEvent:
    """The CloudEvent of one event. ``partition``, ``properties`` and ``system`` come from the
    batch's metadata (``batch_metadata``); without them the partition is read from the event
    and no binary-mode attributes are looked for."""
    body = as_bytes(event.get_body())
    try:
        original = sniff_structured(without_bom(body))
        if original is not None:
            return original
        binary = _amqp.attributes(properties)
        if binary:
            content_type = (system or _NONE).get("content-type")
            return _amqp.from_binary(
                binary, body, content_type if isinstance(content_type, str) else None)
        if event.sequence_number is None:
            raise EventDecodeError(
                "event has no SequenceNumber", provider="azure", trigger=TRIGGER,
                field="SequenceNumber",
            )
        data, content_type = decode_body(body, None)
        extensions: dict[str, str] = {"sequence": sequence_text(event.sequence_number)}
        if event.partition_key:
            extensions["partitionkey"] = event.partition_key
        return CloudEvent(
            id=f"{partition if partition is not None else partition_id(event)}:"
               f"{event.sequence_number}",
            source=source(hub),
            type=TYPE,
            time=aware(event.enqueued_time),
            datacontenttype=content_type,
            data=data,
            extensions=extensions,
        )
    except InvalidCloudEventError as exc:
        raise EventDecodeError(
            f"Event Hubs event is not a valid CloudEvent: {exc}", provider="azure",
            trigger=TRIGGER, field=exc.attribute,
        ) from exc
