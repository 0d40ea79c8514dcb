# SPDX-License-Identifier: Apache-2.0
"""Event Hubs trigger (cardinality many): ``EventHubEvent`` -> ``CloudEvent``.

Payload: https://learn.microsoft.com/azure/azure-functions/functions-bindings-event-hubs-trigger
(per event ``EnqueuedTimeUtc``, ``SequenceNumber``, ``Offset``, ``PartitionKey`` in
``SystemPropertiesArray``; ``PartitionContext`` names the hub and partition). A body that is a
structured-mode CloudEvent is that event; others get type ``com.microsoft.eventhub.event``,
source ``/azure/eventhubs/<hub>``, id ``<partition>:<sequence>`` (the Knative Kafka style: unique
per hub), extensions ``partitionkey`` and ``sequence``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from portable_fn.errors import EventDecodeError, InvalidCloudEventError
from portable_fn.events import CloudEvent, sniff_structured

from portable_fn_azure._payload import as_bytes, aware, decode_body

if TYPE_CHECKING:
    import azure.functions as func

__all__ = ["TYPE", "partition_id", "source", "to_event"]

TYPE = "com.microsoft.eventhub.event"
TRIGGER = "eventHubTrigger"


def source(hub: str) -> str:
    return f"/azure/eventhubs/{hub}"


def partition_id(event: func.EventHubEvent) -> str:
    """The partition from ``PartitionContext`` metadata ("0" when the host gave none)."""
    try:  # the library decodes every metadata value on first access
        metadata: Mapping[str, Any] = event.metadata or {}
    except Exception as exc:
        raise EventDecodeError(
            f"unreadable Event Hubs trigger metadata: {exc}", provider="azure",
            trigger=TRIGGER, field="PartitionContext",
        ) from exc
    context = metadata.get("PartitionContext") if isinstance(metadata, Mapping) else None
    if isinstance(context, Mapping):
        value = context.get("PartitionId")
        if value is not None:
            return str(value)
    return "0"


def to_event(event: func.EventHubEvent, *, hub: str) -> CloudEvent:
    body = as_bytes(event.get_body())
    try:
        original = sniff_structured(body)
        if original is not None:
            return original
        if event.sequence_number is None:
            raise EventDecodeError(
                "event has no SequenceNumber", provider="azure", trigger=TRIGGER,
                field="SequenceNumber",
            )
        data, content_type = decode_body(body, None)
        extensions: dict[str, str] = {"sequence": str(event.sequence_number)}
        if event.partition_key:
            extensions["partitionkey"] = event.partition_key
        return CloudEvent(
            id=f"{partition_id(event)}:{event.sequence_number}",
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
