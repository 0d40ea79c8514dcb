# SPDX-License-Identifier: Apache-2.0
"""``pf.publish`` / ``pf.send`` / ``pf.emit`` on GCP: Pub/Sub, binary content mode.

Topics and queues are both Pub/Sub topics of the same name (a queue is a topic with exactly one
subscription); ``emit`` goes to the app's event-bus topic. Messages follow the CloudEvents
Pub/Sub binding (``binding.to_message``) and are sent with google-cloud-pubsub
(https://cloud.google.com/python/docs/reference/pubsub/latest/google.cloud.pubsub_v1.publisher.client.Client),
which is imported on the first publish only, so cold starts that never publish never pay for it.
``PUBSUB_EMULATOR_HOST`` points the client at an emulator, as the library documents. An event
whose attributes Pub/Sub would refuse (more than 100, or a value over 1024 bytes: a long
``subject`` or extension) goes in the binding's structured mode, which carries any event.

Each call waits for Pub/Sub's acknowledgement: on Cloud Run functions the CPU may be throttled
once the response is sent, so a message still in the client's batch could be lost.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from portable_fn.errors import PublishError
from portable_fn.events import STRUCTURED_CONTENT_TYPE, CloudEvent, to_json

__all__ = ["PubSubPublisher"]

_PROJECT_VARS = ("GOOGLE_CLOUD_PROJECT", "GCP_PROJECT", "GCLOUD_PROJECT")
# Pub/Sub resource limits (https://cloud.google.com/pubsub/quotas#resource_limits): a message
# has at most 100 attributes, each key at most 256 bytes and each value at most 1024 bytes.
_MAX_ATTRIBUTES = 100
_MAX_KEY_BYTES = 256
_MAX_VALUE_BYTES = 1024


class PubSubPublisher:
    """A ``portable_fn.adapter.Publisher`` backed by Pub/Sub."""

    def __init__(
        self, *, bus_topic: str, project: str | None = None, timeout: float = 30.0
    ) -> None:
        self.bus_topic = bus_topic
        self._project = project
        self._timeout = timeout
        self._client: Any = None
        self._lock = threading.Lock()

    def publish(self, topic: str, event: CloudEvent) -> None:
        self._publish(topic, event)

    def send(self, queue: str, event: CloudEvent, *, delay: float | None = None) -> None:
        if delay:
            # Pub/Sub has no per-message delay; say so instead of dropping it silently.
            logging.getLogger(__name__).warning(
                "Pub/Sub cannot delay a message; sent %r now instead of in %ss", queue, delay
            )
        self._publish(queue, event)

    def emit(self, event: CloudEvent) -> None:
        self._publish(self.bus_topic, event)

    def forward(self, topic: str, data: bytes, attributes: dict[str, str]) -> None:
        """Publish a message as is (dead-lettering keeps the original bytes and attributes)."""
        self._send(topic, data, attributes)

    def _publish(self, topic: str, event: CloudEvent) -> None:
        from portable_fn_gcp.binding import to_message  # the codec loads with the first publish

        data, attributes = to_message(event)
        if not _fits_attributes(attributes):
            # Binary mode would put a value Pub/Sub refuses in an attribute; the binding's
            # structured mode carries the same event in the message data instead (3.2).
            data, attributes = to_json(event), {"content-type": STRUCTURED_CONTENT_TYPE}
        self._send(topic, data, attributes)

    def _send(self, topic: str, data: bytes, attributes: dict[str, str]) -> None:
        try:
            # Both can fail on google.auth's DefaultCredentialsError (no credentials here).
            client = self._get_client()
            path = client.topic_path(self._project_id(), topic)
        except (PublishError, ImportError):
            raise
        except Exception as exc:
            raise PublishError(f"cannot publish to Pub/Sub topic {topic!r}: {exc}") from exc
        try:
            client.publish(path, data, **attributes).result(timeout=self._timeout)
        except Exception as exc:  # google.api_core errors, timeouts: one typed error out
            raise PublishError(f"Pub/Sub refused the message for {topic!r}: {exc}") from exc

    def _get_client(self) -> Any:
        with self._lock:
            if self._client is None:
                try:
                    from google.cloud import pubsub_v1
                except ImportError as exc:
                    raise ImportError(
                        'publishing on GCP needs google-cloud-pubsub: pip install "portable-fn-gcp"'
                    ) from exc
                self._client = pubsub_v1.PublisherClient()
            return self._client

    def _project_id(self) -> str:
        if self._project is None:
            self._project = next((os.environ[v] for v in _PROJECT_VARS if os.environ.get(v)), None)
        if self._project is None:
            import google.auth

            _, project = google.auth.default()
            if not project:
                raise PublishError("no GCP project: set GOOGLE_CLOUD_PROJECT")
            self._project = project
        return self._project


def _fits_attributes(attributes: dict[str, str]) -> bool:
    """Whether Pub/Sub accepts these attributes (a UTF-8 character is at most 4 bytes, so most
    values need no encoding to tell)."""
    if len(attributes) > _MAX_ATTRIBUTES:
        return False
    for key, value in attributes.items():
        if len(key) * 4 > _MAX_KEY_BYTES and len(key.encode()) > _MAX_KEY_BYTES:
            return False
        if len(value) * 4 > _MAX_VALUE_BYTES and len(value.encode()) > _MAX_VALUE_BYTES:
            return False
    return True
