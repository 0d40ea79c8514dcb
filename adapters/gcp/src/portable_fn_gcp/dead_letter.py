# SPDX-License-Identifier: Apache-2.0
"""Send a message that can never succeed straight to the function's dead-letter topic.

Pub/Sub dead-letters only after ``max-delivery-attempts`` (at least 5) failed pushes
(https://cloud.google.com/pubsub/docs/handling-failures). For a malformed message or a
``NonRetryable`` failure those attempts are wasted, so the function publishes the original
message (data and attributes as received, plus ``portable-fn-error``) to the dead-letter topic
``deploy.sh`` created, then acknowledges it. This needs the app's publisher to be the Pub/Sub
one (as the generated ``main.py`` installs); otherwise, or if the publish fails, the caller
answers non-2xx and Pub/Sub's own dead-lettering takes over.

An event that is no Pub/Sub message goes in the binding's structured mode
(https://github.com/googleapis/google-cloudevents/blob/main/docs/spec/pubsub.md); one whose data
JSON cannot hold (``NaN``, which the lenient JSON read accepts), or a request no event could be
read from (a ``ce-time`` that is no time), goes as the request carried it: its body, with its
``content-type`` and ``ce-*`` headers as attributes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from portable_fn.errors import EventDecodeError, InvalidCloudEventError, PublishError
from portable_fn.events import CloudEvent, to_json

from portable_fn_gcp import pubsub, push
from portable_fn_gcp.names import dead_letter_topic
from portable_fn_gcp.native import header_text
from portable_fn_gcp.publisher import PubSubPublisher

if TYPE_CHECKING:
    from portable_fn.app import App

__all__ = ["ERROR_ATTRIBUTE", "about", "forward"]

ERROR_ATTRIBUTE = "portable-fn-error"
_MAX_REASON = 1024  # Pub/Sub attribute values are at most 1024 bytes
_STRUCTURED = "application/cloudevents+json; charset=utf-8"
# Log fields, and the request headers that name them when no event could be read.
_NAMING_HEADERS = {
    "message_id": "x-goog-pubsub-message-id",
    "subscription": "x-goog-pubsub-subscription-name",
    "event_id": "ce-id",
}


def forward(
    app: App,
    function: str,
    delivered: CloudEvent | None,
    reason: str,
    log: Any,
    request: Any = None,
    named: dict[str, str] | None = None,
) -> bool:
    """True when the message is now on the dead-letter topic (acknowledge it). ``request``, the
    HTTP request it came in, is what is forwarded when there is no event (``delivered`` None:
    it could not be read) or the event cannot be written again. ``named``: ``about`` the
    delivery, when the caller has it already."""
    publisher = app.publisher
    topic = dead_letter_topic(app, app.function(function))
    if topic is None or not isinstance(publisher, PubSubPublisher):
        return False
    fields = named if named is not None else about(delivered, request)
    original = _original(delivered, request)
    if original is None:
        log.error(
            "dead-lettering failed: no request holds the delivery as it was sent;"
            " leaving it to Pub/Sub",
            topic=topic,
            **fields,
        )
        return False
    data, attributes = original
    attributes[ERROR_ATTRIBUTE] = reason.encode("utf-8")[:_MAX_REASON].decode("utf-8", "ignore")
    try:
        publisher.forward(topic, data, attributes)
    except PublishError as exc:
        log.error(
            "dead-lettering failed; leaving it to Pub/Sub", topic=topic, error=str(exc), **fields
        )
        return False
    # ERROR, as every provider logs a message lost to its handler; naming the Pub/Sub message
    # finds it on the dead-letter topic.
    log.error("message moved to the dead-letter topic", topic=topic, reason=reason, **fields)
    return True


def about(delivered: CloudEvent | None, request: Any) -> dict[str, str]:
    """Log fields naming a delivery: a Pub/Sub message's ``message_id`` and ``subscription``
    (a push body, Eventarc's ``MessagePublishedData``, or an unwrapped push's
    ``x-goog-pubsub-*`` headers: https://cloud.google.com/pubsub/docs/payload-unwrapping), else
    a CloudEvent's ``event_id``; what is unknown is left out."""
    if delivered is not None:
        if pubsub.is_published(delivered):
            return pubsub.identity(delivered)
        return {"event_id": delivered.id}
    if request is None:
        return {}
    named = {
        field: header_text(request.headers[header])
        for field, header in _NAMING_HEADERS.items()
        if request.headers.get(header)
    }
    body = push.read_body(request)  # a structured-mode event names its id in the body
    if "event_id" not in named and isinstance(body, dict) and isinstance(body.get("id"), str):
        named["event_id"] = body["id"]
    return named


def _original(
    delivered: CloudEvent | None, request: Any
) -> tuple[bytes, dict[str, str]] | None:
    """The Pub/Sub message as it arrived; for any other delivery, the event in structured mode,
    else the request as it came (None without one)."""
    if delivered is None:
        return _as_sent(request)
    if pubsub.is_published(delivered):
        try:
            message = pubsub.parse(delivered, trigger="dead-letter")
            return message.data, dict(message.attributes)
        except EventDecodeError:
            pass  # the envelope itself is broken: keep all of it, below
    try:
        return to_json(delivered), {"content-type": _STRUCTURED}
    except InvalidCloudEventError:
        # Data JSON cannot write (NaN, Infinity: read, leniently, from the request): the bytes
        # that were sent carry it, and a dead-letter topic is for looking at what was sent.
        return _as_sent(request)


def _as_sent(request: Any) -> tuple[bytes, dict[str, str]] | None:
    """A request's body, and its ``content-type`` and ``ce-*`` headers (lower-cased, their UTF-8
    read back: ``native.header_text``) as message attributes: a structured-mode request is then
    the binding's structured mode, a binary-mode one its binary mode, values as sent."""
    if request is None:
        return None
    attributes = {
        name: header_text(value)
        for name, value in ((k.lower(), v) for k, v in request.headers.items())
        if name == "content-type" or name.startswith("ce-")
    }
    return bytes(request.get_data()), attributes
