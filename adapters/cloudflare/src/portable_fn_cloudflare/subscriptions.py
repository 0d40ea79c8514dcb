# SPDX-License-Identifier: Apache-2.0
"""Event subscriptions: the events Cloudflare's products (KV, R2, Workflows, Workers AI,
Workers Builds, Vectorize...) send to a queue, each ``{"type": "cf.<product>.<event>",
"source": {"type", ...names}, "payload", "metadata": {"accountId", "eventSubscriptionId",
"eventSchemaVersion", "eventTimestamp"}}``
(https://developers.cloudflare.com/queues/event-subscriptions/events-schemas/).

Each is the event it announces: ``type`` its own, ``source`` ``cloudflare:<source type>`` and
the names the source carries (``/my-workflow``), ``time`` its ``eventTimestamp`` (the message's
timestamp when that is no time), ``data`` its ``payload``, ``id`` the queue message's (the
envelope has none of its own), and the subscription in the ``cfsubscription`` extension.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from portable_fn.errors import InvalidCloudEventError
from portable_fn.events import CloudEvent, parse_time

if TYPE_CHECKING:
    from portable_fn_cloudflare.queue import QueueMessage

_PREFIX = "cf."


def matches(body: Any) -> bool:
    """Whether a queue message body is an event subscription's message."""
    if not isinstance(body, Mapping):
        return False
    kind, source, metadata = body.get("type"), body.get("source"), body.get("metadata")
    return (
        isinstance(kind, str)
        and kind.startswith(_PREFIX)
        and isinstance(source, Mapping)
        and isinstance(source.get("type"), str)
        and isinstance(metadata, Mapping)
        and "payload" in body
    )


def to_event(message: QueueMessage, body: Mapping[str, Any]) -> CloudEvent:
    source, metadata = body["source"], body["metadata"]
    names = "".join(
        f"/{value}" for key, value in sorted(source.items()) if key != "type" and value
    )
    subscription = metadata.get("eventSubscriptionId")
    event = CloudEvent(
        id=message.id,
        source=f"cloudflare:{source['type']}{names}",
        type=body["type"],
        time=_time(metadata.get("eventTimestamp")) or message.timestamp,
        datacontenttype="application/json",
        data=body["payload"],
    )
    if isinstance(subscription, str) and subscription:
        return event.with_extensions(cfsubscription=subscription)
    return event


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_time(value)
    except InvalidCloudEventError:
        return None
