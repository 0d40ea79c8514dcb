# SPDX-License-Identifier: Apache-2.0
"""Storage Queue trigger: ``azure.functions.QueueMessage`` -> ``CloudEvent``.

Payload: https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue-trigger
(message metadata ``Id``, ``DequeueCount``, ``InsertionTime``, ``ExpirationTime``,
``NextVisibleTime``, ``PopReceipt``). The host base64-decodes the message text before the worker
sees it (``messageEncoding`` defaults to base64), so ``get_body()`` is the payload as sent.

A body that is a structured-mode CloudEvent (what ``pf.send`` writes) is that event, unchanged;
so is an Event Grid-schema event that Event Grid delivered to the queue (``eventgrid.from_schema``).
Anything else gets the adapter's mapping (README, "Event mapping"): type
``com.microsoft.storage.queue.message``, source ``/azure/storage/queues/<queue>``, id the
message id, time the insertion time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from portable_fn.errors import EventDecodeError, InvalidCloudEventError
from portable_fn.events import CloudEvent, sniff_structured

from portable_fn_azure._payload import as_bytes, aware, decode_body, without_bom

if TYPE_CHECKING:
    import azure.functions as func

__all__ = ["TYPE", "attempt", "source", "to_event"]

TYPE = "com.microsoft.storage.queue.message"
TRIGGER = "queueTrigger"


def source(queue: str) -> str:
    return f"/azure/storage/queues/{queue}"


def to_event(msg: func.QueueMessage, *, queue: str) -> CloudEvent:
    """The CloudEvent a queue message carries; ``EventDecodeError`` if it cannot be read."""
    body = as_bytes(msg.get_body())
    try:
        original = sniff_structured(without_bom(body))
        if original is not None:
            return original
        data, content_type = decode_body(body, None)
        if type(data) is dict and "eventType" in data:  # one lookup for most payloads
            from portable_fn_azure import eventgrid  # only for such bodies

            delivered = eventgrid.from_schema(data)
            if delivered is not None:
                return delivered
        if not msg.id:
            raise EventDecodeError(
                "queue message has no id", provider="azure", trigger=TRIGGER, field="Id"
            )
        return CloudEvent(
            id=msg.id,
            source=source(queue),
            type=TYPE,
            time=aware(msg.insertion_time),
            datacontenttype=content_type,
            data=data,
        )
    except InvalidCloudEventError as exc:
        raise EventDecodeError(
            f"queue message {msg.id!r} is not a valid CloudEvent: {exc}",
            provider="azure",
            trigger=TRIGGER,
            field=exc.attribute,
        ) from exc


def attempt(msg: func.QueueMessage) -> int:
    """1 on first delivery: the host increments ``DequeueCount`` on every dequeue."""
    count = msg.dequeue_count
    return count if isinstance(count, int) and count > 0 else 1
