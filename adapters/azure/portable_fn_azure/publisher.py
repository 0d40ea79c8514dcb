# SPDX-License-Identifier: Apache-2.0
"""Outbound: ``pf.send`` / ``pf.publish`` / ``pf.emit`` on Azure, SDKs imported on first use.

- queues (``pf.send``): Storage Queues through azure-storage-queue, the message text base64
  encoded as the queue trigger expects by default
  (https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue#host-json);
  or Service Bus queues (``AzureOptions(queues="servicebus")``);
- topics (``pf.publish``): Service Bus topics, or Event Grid custom topics
  (``AzureOptions(topics="eventgrid")``, endpoint and key in app settings
  ``EVENTGRID_<TOPIC>_ENDPOINT`` / ``EVENTGRID_<TOPIC>_KEY``);
- the event bus (``pf.emit``): the Event Grid topic in ``EVENTGRID_BUS_ENDPOINT`` / ``_KEY``.

Every message is a structured-mode CloudEvent (``application/cloudevents+json``), so the
consumer recovers the original event whatever the transport; Event Grid gets the CloudEvents
schema, which it delivers as is. Connection strings come from the same app settings the triggers
name, read when first needed, so importing this module touches no environment. Where such a
setting is absent, the identity-based connection the host would use in its place
(``<connection>__queueServiceUri``, ``__fullyQualifiedNamespace``... with a credential from
azure-identity, ``_identity``); Event Grid takes its key if ``EVENTGRID_<TOPIC>_KEY`` is set, else
the credential of ``EVENTGRID_<TOPIC>__credential`` / ``__clientId``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from portable_fn._json import loads
from portable_fn.errors import PublishError
from portable_fn.events import CloudEvent, to_json

from portable_fn_azure import _identity
from portable_fn_azure._deferred import now_or_later
from portable_fn_azure.options import AzureOptions, setting_name

__all__ = [
    "STRUCTURED", "AzurePublisher", "identity_queue_client", "move_to_poison", "queue_client",
    "servicebus_message",
]

STRUCTURED = "application/cloudevents+json; charset=utf-8"
# Storage Queue messages are at most 64 KiB of base64 text.
_MAX_QUEUE_BYTES = 64 * 1024 * 3 // 4
# Put Message: the visibility timeout (our delay) is at most 7 days; 7 days is also the
# default time-to-live.
_MAX_QUEUE_DELAY = 7 * 24 * 3600
_DEFAULT_TTL = 7 * 24 * 3600
# Service Bus MessageId and SessionId: at most 128 characters (azure-servicebus
# MESSAGE_PROPERTY_MAX_LENGTH).
_MAX_MESSAGE_ID = 128


def _setting(env: Mapping[str, str], name: str) -> str:
    value = env.get(name)
    if not value:
        raise PublishError(f"app setting {name} is not set (see local.settings.json)")
    return value


def _missing(name: str, *identity: str) -> PublishError:
    alternatives = " / ".join(f"{name}__{key}" for key in identity)
    return PublishError(f"app setting {name} is not set (see local.settings.json), nor "
                        f"{alternatives} for an identity-based connection")


def _queue_sdk() -> Any:
    try:
        import azure.storage.queue as sdk
    except ImportError as exc:
        raise ImportError(
            'sending to Storage Queues needs azure-storage-queue: '
            'pip install "portable-fn-azure[storage]"'
        ) from exc
    return sdk


def queue_client(connection_string: str, queue: str) -> Any:
    """A QueueClient that writes and reads base64 text, as the Functions host does."""
    sdk = _queue_sdk()
    return sdk.QueueClient.from_connection_string(
        connection_string, queue,
        message_encode_policy=sdk.BinaryBase64EncodePolicy(),
        message_decode_policy=sdk.BinaryBase64DecodePolicy(),
    )


def identity_queue_client(account_url: str, queue: str, credential: Any) -> Any:
    """The same QueueClient on an identity-based connection: the queue service URL and a token
    credential."""
    sdk = _queue_sdk()
    return sdk.QueueClient(
        account_url, queue, credential=credential,
        message_encode_policy=sdk.BinaryBase64EncodePolicy(),
        message_decode_policy=sdk.BinaryBase64DecodePolicy(),
    )


def _storage_queue_client(env: Mapping[str, str], name: str, queue: str,
                          credentials: Any = None) -> Any:
    """By connection string if ``name`` is set, else by the identity settings under it."""
    conn = env.get(name)
    if conn:
        return queue_client(conn, queue)
    url = _identity.queue_service_url(env, name)
    if url is None:
        raise _missing(name, "queueServiceUri", "serviceUri", "accountName")

    def make() -> Any:
        return _identity.credential(env, name, name)

    return identity_queue_client(url, queue, credentials(name, make) if credentials else make())


def _send_to_queue(client: Any, body: bytes, visibility: int | None) -> None:
    from azure.core.exceptions import ResourceNotFoundError

    # Put Message: a message lives 7 days by default, counted from when it is put, and the
    # visibility timeout "should be set to a value smaller than the time-to-live": a delayed
    # message gets its 7 days from when it becomes visible, or a 7-day delay would expire it
    # the moment it could be read.
    ttl = visibility + _DEFAULT_TTL if visibility else None
    try:
        client.send_message(body, visibility_timeout=visibility, time_to_live=ttl)
    except ResourceNotFoundError:
        client.create_queue()  # first message to a queue nobody has created yet
        client.send_message(body, visibility_timeout=visibility, time_to_live=ttl)


def _quiet_http_logging() -> None:
    """The Azure SDKs' HTTP logging policy writes every request and response (URL, headers) at
    INFO: two lines per publish in the function's logs, which the logging bridge writes as JSON
    lines. Its logger is raised to WARNING unless the app set its level itself, as the SDKs'
    logging guide sets a library's logger
    (https://learn.microsoft.com/azure/developer/python/sdk/azure-sdk-logging)."""
    import logging

    http = logging.getLogger("azure.core.pipeline.policies.http_logging_policy")
    if http.level == logging.NOTSET:
        http.setLevel(logging.WARNING)


class AzurePublisher:
    """The ``Publisher`` installed by ``function_app``; clients are made once and reused."""

    def __init__(self, options: AzureOptions | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self._options = options or AzureOptions()
        self._env = env
        # Reentrant: a client's factory asks for the shared credential of its connection.
        self._lock = threading.RLock()
        self._clients: dict[tuple[str, str], Any] = {}

    @property
    def env(self) -> Mapping[str, str]:
        return self._env if self._env is not None else os.environ

    def _client(self, key: tuple[str, str], make: Any) -> Any:
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                _quiet_http_logging()
                client = self._clients[key] = make()
            return client

    def _credential(self, prefix: str, make: Any) -> Any:
        """One credential per connection, shared by its clients (it caches the tokens)."""
        return self._client(("credential", prefix), make)

    # -- Publisher protocol ---------------------------------------------------------------------

    def send(self, queue: str, event: CloudEvent, *, delay: float | None = None) -> None:
        now_or_later(lambda: self._send(queue, event, delay))

    def publish(self, topic: str, event: CloudEvent) -> None:
        now_or_later(lambda: self._publish(topic, event))

    def emit(self, event: CloudEvent) -> None:
        now_or_later(lambda: self._eventgrid("bus", event))

    # -- the calls, now or after an async handler (_deferred) -----------------------------------

    def _send(self, queue: str, event: CloudEvent, delay: float | None) -> None:
        if self._options.queues == "servicebus":
            self._servicebus(queue, event, delay, topic=False)
            return
        if delay and delay > _MAX_QUEUE_DELAY:
            raise PublishError(
                f"Storage Queue delays are 0-{_MAX_QUEUE_DELAY} seconds (7 days), got {delay}"
            )
        body = to_json(event)
        if len(body) > _MAX_QUEUE_BYTES:
            raise PublishError(
                f"event {event.id} is {len(body)} bytes; Storage Queue messages hold at most "
                f"{_MAX_QUEUE_BYTES} bytes before base64 (send a reference to a blob instead)"
            )
        name = self._options.storage_connection
        client = self._client(("queue", queue), lambda: _storage_queue_client(
            self.env, name, queue, self._credential))
        try:
            _send_to_queue(client, body, round(delay) if delay else None)
        except Exception as exc:
            raise PublishError(f"Storage Queue {queue!r} refused event {event.id}: {exc}") from exc

    def _publish(self, topic: str, event: CloudEvent) -> None:
        if self._options.topics == "eventgrid":
            self._eventgrid(topic, event)
        else:
            self._servicebus(topic, event, None, topic=True)

    # -- Service Bus and Event Grid -------------------------------------------------------------

    def _servicebus(self, entity: str, event: CloudEvent, delay: float | None, *,
                    topic: bool) -> None:
        try:
            from azure.servicebus import ServiceBusClient
        except ImportError as exc:
            raise ImportError(
                'Service Bus needs azure-servicebus: pip install "portable-fn-azure[servicebus]"'
            ) from exc
        name = self._options.servicebus_connection
        conn = self.env.get(name)
        if conn:
            client = self._client(("servicebus", ""),
                                  lambda: ServiceBusClient.from_connection_string(conn))
        else:
            fqns = _identity.namespace(self.env, name)
            if fqns is None:
                raise _missing(name, "fullyQualifiedNamespace")
            client = self._client(("servicebus", ""), lambda: ServiceBusClient(
                fqns, self._credential(name, lambda: _identity.credential(self.env, name, name))))
        try:
            message = servicebus_message(event, delay)
        except (OverflowError, ValueError) as exc:  # a delay past the last datetime
            raise PublishError(
                f"Service Bus cannot schedule event {event.id} {delay} seconds ahead: {exc}"
            ) from exc
        try:
            sender = (client.get_topic_sender(entity) if topic
                      else client.get_queue_sender(entity))
            with sender:
                sender.send_messages(message)
        except Exception as exc:
            raise PublishError(f"Service Bus {entity!r} refused event {event.id}: {exc}") from exc

    def _eventgrid(self, topic: str, event: CloudEvent) -> None:
        try:
            from azure.core.credentials import AzureKeyCredential
            from azure.eventgrid import EventGridPublisherClient
        except ImportError as exc:
            raise ImportError(
                'Event Grid needs azure-eventgrid: pip install "portable-fn-azure[eventgrid]"'
            ) from exc
        endpoint = _setting(self.env, setting_name(topic, "ENDPOINT"))
        key_name = setting_name(topic, "KEY")
        key = self.env.get(key_name)
        prefix = setting_name(topic, "")[:-1]  # EVENTGRID_<TOPIC>: its __credential, __clientId

        def make() -> Any:
            credential = AzureKeyCredential(key) if key else self._credential(
                prefix, lambda: _identity.credential(self.env, prefix, key_name))
            return EventGridPublisherClient(endpoint, credential)

        client = self._client(("eventgrid", topic), make)
        # The event in the JSON format as to_json writes it for every other transport, sent as
        # is (the client takes a CloudEvent's dict unchanged): binary data as data_base64 and a
        # Binary extension as its base64 text (json-format.md 2.2), data JSON cannot hold
        # refused. Rebuilt as the SDK's CloudEvent, data that was not exactly `bytes` went as
        # its repr ("bytearray(b'...')") and extension names of digits were refused.
        native = loads(to_json(event).decode("utf-8"))
        try:
            client.send([native])
        except Exception as exc:
            raise PublishError(
                f"Event Grid topic {topic!r} refused event {event.id}: {exc}") from exc


def servicebus_message(event: CloudEvent, delay: float | None = None) -> Any:
    """The Service Bus message for an event: the structured CloudEvent as the body, its id as
    ``message_id`` (Service Bus duplicate detection keys on it), ``subject`` as the label, and
    its ``partitionkey`` as ``session_id``: sessions are Service Bus's FIFO groups, a
    session-enabled entity refuses a message without one, and others do not check it. An id or
    key too long for its 128 characters goes as its SHA-256, the same for the same value."""
    from azure.servicebus import ServiceBusMessage

    key = event.extensions.get("partitionkey")
    message = ServiceBusMessage(
        to_json(event),
        content_type=STRUCTURED,
        message_id=_fitted(event.id),
        subject=event.subject,
        session_id=None if key is None or key == "" else _fitted(str(key)),
    )
    if delay:
        message.scheduled_enqueue_time_utc = datetime.now(timezone.utc) + timedelta(seconds=delay)
    return message


def _fitted(value: str) -> str:
    if len(value) <= _MAX_MESSAGE_ID:
        return value
    import hashlib  # only for over-long values: keep it off the cold-start path

    return hashlib.sha256(value.encode()).hexdigest()


def move_to_poison(options: AzureOptions, queue: str, msg: Any, error: BaseException,
                   env: Mapping[str, str] | None = None,
                   clients: dict[str, Any] | None = None) -> None:
    """Put a message that can never succeed on ``<queue>-poison`` now, as the host would after
    the last retry, instead of burning the retries. Raises (so the host retries) if it cannot.

    ``clients`` (the queue function's own) keeps the poison queue's client from one message to
    the next: a burst of bad messages would otherwise build a client and, on an identity-based
    connection, a credential that fetches a new token, for every one of them."""
    body = msg.get_body()
    settings = env if env is not None else os.environ
    try:
        client = clients.get(queue) if clients is not None else None
        if client is None:
            client = _storage_queue_client(
                settings, options.storage_connection, f"{queue}-poison")
            if clients is not None:
                clients[queue] = client
        _send_to_queue(client, bytes(body), None)
    except Exception as exc:
        raise error from exc
