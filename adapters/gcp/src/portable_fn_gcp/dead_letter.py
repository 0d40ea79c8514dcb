# SPDX-License-Identifier: Apache-2.0
"""Send a message that can never succeed straight to the function's dead-letter topic.

Pub/Sub dead-letters only after ``max-delivery-attempts`` (at least 5) failed pushes
(https://cloud.google.com/pubsub/docs/handling-failures). For a malformed message or a
``NonRetryable`` failure those attempts are wasted, so the function publishes the original
message (data and attributes as received, plus ``portable-fn-error``) to the dead-letter topic
``deploy.sh`` created, then acknowledges it. This needs the app's publisher to be the Pub/Sub
one (as the generated ``main.py`` installs); otherwise, or if the publish fails, the caller
answers non-2xx and Pub/Sub's own dead-lettering takes over.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from portable_fn.errors import EventDecodeError, PublishError
from portable_fn.events import CloudEvent, to_json

from portable_fn_gcp import pubsub
from portable_fn_gcp.names import dead_letter_topic
from portable_fn_gcp.publisher import PubSubPublisher

if TYPE_CHECKING:
    from portable_fn.app import App

__all__ = ["ERROR_ATTRIBUTE", "forward"]

ERROR_ATTRIBUTE = "portable-fn-error"
_MAX_REASON = 1024  # Pub/Sub attribute values are at most 1024 bytes


def forward(app: App, function: str, delivered: CloudEvent, reason: str, log: Any) -> bool:
    """True when the message is now on the dead-letter topic (acknowledge it)."""
    publisher = app.publisher
    topic = dead_letter_topic(app, app.function(function))
    if topic is None or not isinstance(publisher, PubSubPublisher):
        return False
    data, attributes = _original(delivered)
    attributes[ERROR_ATTRIBUTE] = reason.encode("utf-8")[:_MAX_REASON].decode("utf-8", "ignore")
    try:
        publisher.forward(topic, data, attributes)
    except PublishError as exc:
        log.error("dead-lettering failed; leaving it to Pub/Sub", topic=topic, error=str(exc))
        return False
    log.warning("message moved to the dead-letter topic", topic=topic, reason=reason)
    return True


def _original(delivered: CloudEvent) -> tuple[bytes, dict[str, str]]:
    """The Pub/Sub message as it arrived; for any other delivery, the event in structured mode."""
    if pubsub.is_published(delivered):
        try:
            message = pubsub.parse(delivered, trigger="dead-letter")
            return message.data, dict(message.attributes)
        except EventDecodeError:
            pass  # the envelope itself is broken: keep all of it, below
    return to_json(delivered), {"content-type": "application/cloudevents+json; charset=utf-8"}
