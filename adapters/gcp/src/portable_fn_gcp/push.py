# SPDX-License-Identifier: Apache-2.0
"""Bare Pub/Sub push bodies: a push subscription whose endpoint is the function's own URL.

Pub/Sub then POSTs the wrapper itself, not a CloudEvent
(https://cloud.google.com/pubsub/docs/push#receive_push)::

    {"message": {"data": "<base64>", "attributes": {...}, "messageId": "...",
                 "publishTime": "...", "orderingKey": "..."},
     "subscription": "projects/p/subscriptions/s", "deliveryAttempt": 3}

functions-framework turns it into a ``messagePublished`` event first
(``event_conversion.marshal_background_event_data``) but keeps only ``data``, ``attributes``,
``messageId`` and ``publishTime``: ``orderingKey``, ``deliveryAttempt`` and ``subscription`` are
lost, and with no ``projects/P/topics/T`` in the URL its source names no resource at all. The
body is ``MessagePublishedData``'s own shape, so when the raw request is at hand it becomes the
event's data as it came, and the subscription names the source when the topic is unknown.
"""

from __future__ import annotations

from typing import Any, TypeGuard

from portable_fn.events import CloudEvent

from portable_fn_gcp.pubsub import PUBLISHED

__all__ = ["is_push_body", "read_body", "restore"]

# What functions-framework writes as the source when the push URL names no topic.
_SERVICE = "//pubsub.googleapis.com/"


def is_push_body(body: object) -> TypeGuard[dict[str, Any]]:
    """The bare wrapper, by functions-framework's own test (``_is_raw_pubsub_payload``)."""
    return (
        isinstance(body, dict)
        and "context" not in body
        and "subscription" in body
        and isinstance(body.get("message"), dict)
    )


def restore(event: CloudEvent, body: object) -> CloudEvent:
    """``event`` (the framework's conversion of ``body``) with the whole push body as data."""
    if event.type != PUBLISHED or not is_push_body(body):
        return event
    source = event.source
    subscription = body.get("subscription")
    if source == _SERVICE and isinstance(subscription, str) and subscription:
        source = _SERVICE + subscription.lstrip("/")
    return event.replace(source=source, data=body, datacontenttype="application/json")


def read_body(request: Any) -> Any:
    """The request's JSON body (already parsed and cached by the framework), None if not JSON."""
    if request is None:
        return None
    return request.get_json(silent=True)
