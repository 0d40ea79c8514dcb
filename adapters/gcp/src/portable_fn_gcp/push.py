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

import base64
import os
import re
from collections.abc import Mapping
from typing import Any, TypeGuard

from portable_fn.errors import EventDecodeError, InvalidCloudEventError
from portable_fn.events import CloudEvent

from portable_fn_gcp import timestamps
from portable_fn_gcp.native import header_text
from portable_fn_gcp.pubsub import PUBLISHED

__all__ = [
    "as_received",
    "envelope",
    "from_request",
    "is_push_body",
    "is_unwrapped",
    "read_body",
    "restore",
    "unwrapped",
]

# What functions-framework writes as the source when the push URL names no topic.
_SERVICE = "//pubsub.googleapis.com/"
# functions-framework's _PUBSUB_TOPIC_REQUEST_PATH: a push URL may name the topic.
_TOPIC_PATH = re.compile(r"projects/[^/?]+/topics/[^/?]+")
_METADATA = "x-goog-pubsub-"
# Headers the push transport or Cloud Run adds: never message attributes.
_TRANSPORT = frozenset((
    "host", "content-length", "user-agent", "accept", "accept-encoding", "authorization",
    "connection", "forwarded", "from", "te", "transfer-encoding", "expect", "traceparent",
    "tracestate", "function-execution-id",
))
_TRANSPORT_PREFIXES = ("x-goog-", "x-forwarded-", "x-cloud-", "x-appengine-", "x-serverless-")


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
    source = _named(event.source, body)
    return event.replace(source=source, data=body, datacontenttype="application/json")


def _named(source: str, body: dict[str, Any]) -> str:
    """``source``, or the push's subscription when the source names no topic (the push URL
    held none): the one resource the push body names."""
    subscription = body.get("subscription")
    if source == _SERVICE and isinstance(subscription, str) and subscription:
        return _SERVICE + subscription.lstrip("/")
    return source


def read_body(request: Any) -> Any:
    """The request's JSON body (already parsed and cached by the framework), None if not JSON."""
    if request is None:
        return None
    try:
        return _json(request)
    except EventDecodeError:
        return None


def _json(request: Any) -> Any:
    """The request's JSON body, parsed once (werkzeug caches it), None if not JSON. JSON nested
    deeper than the parser recurses raises RecursionError there, which ``silent`` does not
    catch: a malformed delivery, not a crash (a 500 and a traceback on every redelivery)."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        raise _error("message", "JSON nested too deeply to read") from None


def from_request(request: Any) -> CloudEvent | None:
    """The ``messagePublished`` event of a Pub/Sub push request (wrapped, or unwrapped with
    write metadata, told apart by its ``x-goog-pubsub-message-id`` header), else None."""
    body = _push_body(request)
    return envelope(body, request.path) if body is not None else None


def as_received(request: Any) -> CloudEvent | None:
    """The push request ``from_request`` could not read, unchecked: a ``messagePublished``
    event with the whole push body as data, so that ``dead_letter`` can forward the message as
    it came (https://cloud.google.com/pubsub/docs/handling-failures); None for no push."""
    try:
        body = _push_body(request)
    except EventDecodeError:
        return None  # no body to forward
    if body is None:
        return None
    message = body["message"]
    message_id = message.get("messageId", message.get("message_id"))
    topic = _TOPIC_PATH.search(request.path)
    return CloudEvent(
        # Only named in the dead-lettered message when even its data cannot be read out, and
        # then beside the whole body, original message id (if any) included.
        id=message_id if isinstance(message_id, str) and message_id else os.urandom(8).hex(),
        source=_named(_SERVICE + topic.group(0) if topic is not None else _SERVICE, body),
        type=PUBLISHED,
        datacontenttype="application/json",
        data=body,
    )


def is_unwrapped(request: Any) -> bool:
    """An unwrapped push with write metadata: its ``x-goog-pubsub-message-id`` header
    (https://cloud.google.com/pubsub/docs/payload-unwrapping). It is a Pub/Sub message whatever
    its attributes (now headers) say, ``ce-*`` ones included."""
    return "HTTP_X_GOOG_PUBSUB_MESSAGE_ID" in request.environ


def _push_body(request: Any) -> dict[str, Any] | None:
    """The wrapped push body of a request (rebuilt from an unwrapped push), else None."""
    if is_unwrapped(request):
        # Attribute values are UTF-8 strings: read back from the WSGI headers as such.
        headers = {k.lower(): header_text(v) for k, v in request.headers.items()}
        return _wrap(headers, request.get_data())
    body = _json(request)
    return body if is_push_body(body) else None


def envelope(body: dict[str, Any], path: str) -> CloudEvent:
    """The ``messagePublished`` event for a wrapped push body, whole body as data."""
    message = body["message"]
    message_id = message.get("messageId", message.get("message_id"))
    if not isinstance(message_id, str) or not message_id:
        raise _error("message.messageId", "push message has no messageId")
    stamp = message.get("publishTime", message.get("publish_time"))
    try:
        time = timestamps.parse(stamp) if isinstance(stamp, str) and stamp else None
    except InvalidCloudEventError:
        raise _error("message.publishTime", f"not an RFC 3339 time: {stamp!r}") from None
    topic = _TOPIC_PATH.search(path)
    source = _named(_SERVICE + topic.group(0) if topic is not None else _SERVICE, body)
    return CloudEvent(
        id=message_id,
        source=source,
        type=PUBLISHED,
        time=time,
        datacontenttype="application/json",
        data=body,
    )


def unwrapped(headers: Mapping[str, str], data: bytes, path: str) -> CloudEvent:
    """The ``messagePublished`` event for an unwrapped push; ``headers`` lower-cased."""
    return envelope(_wrap(headers, data), path)


def _wrap(headers: Mapping[str, str], data: bytes) -> dict[str, Any]:
    """The wrapped push body of an unwrapped push; ``headers`` lower-cased."""
    meta = {k[len(_METADATA):]: v for k, v in headers.items() if k.startswith(_METADATA)}
    attributes = {
        k: v
        for k, v in headers.items()
        if k not in _TRANSPORT and not k.startswith(_TRANSPORT_PREFIXES)
    }
    message: dict[str, Any] = {
        "data": base64.b64encode(data).decode("ascii"),
        "attributes": attributes,
        "messageId": meta.get("message-id"),
    }
    if meta.get("publish-time"):
        message["publishTime"] = meta["publish-time"]
    if meta.get("ordering-key"):
        message["orderingKey"] = meta["ordering-key"]
    return {"message": message, "subscription": meta.get("subscription-name")}


def _error(field: str, message: str) -> EventDecodeError:
    return EventDecodeError(message, provider="gcp", trigger="push", field=field)
