# SPDX-License-Identifier: Apache-2.0
"""Outbound: ``pf.publish`` / ``pf.send`` / ``pf.emit`` through Queue producer bindings.

Producer API: ``env.<BINDING>.send(body, {contentType, delaySeconds})``,
https://developers.cloudflare.com/queues/configuration/javascript-apis/#producer
Every event goes out in CloudEvents structured mode as a JSON object (``contentType: "json"``),
so the consumer recovers the original ``id``/``type``/``source`` (``queue.structured``). The one
exception is an event whose data holds an integer of magnitude 2**53 - 1 or more: Pyodide hands
it to JS as a BigInt, which workerd's json serialization throws on (``JSON.stringify``), so it
goes out as ``v8``, which carries it exactly (``queue.content_type_for``).

``send`` on a binding returns a Promise, while the portable publish API is synchronous. So a
send is started at once and its completion is collected in the invocation's outbox, which the
Worker awaits before it acks a message or answers a request: an event is never reported
handled while its publishes could still fail.

What Queues would refuse is refused here, before the binding is called
(https://developers.cloudflare.com/queues/platform/limits/): a message over 128 KB
(1 KB = 1000 bytes) less the ~100 bytes of metadata Queues adds, and a delay over
``MAX_DELAY_SECONDS``, which is never shortened silently.
"""

from __future__ import annotations

import contextvars
import math
from collections.abc import Awaitable
from typing import Any

from portable_fn.app import App
from portable_fn.errors import PublishError
from portable_fn.events import CloudEvent, to_dict, to_json
from portable_fn.log import Logger
from portable_fn_cloudflare import plan
from portable_fn_cloudflare.queue import content_type_for
from portable_fn_cloudflare.settle import MAX_DELAY_SECONDS

# Per message, as its JSON (Queues limits: 128 KB, 1 KB = 1000 bytes, of which "up to ~100
# bytes of internal metadata" count towards it).
MAX_MESSAGE_BYTES = 128_000 - 100


class Outbox:
    """The bindings and pending sends of one invocation."""

    __slots__ = ("env", "pending")

    def __init__(self, env: Any) -> None:
        self.env = env
        self.pending: list[tuple[str, Awaitable[Any]]] = []  # (queue, the binding's Promise)

    async def flush(self) -> None:
        """Await every send; raise ``PublishError`` naming the first that failed."""
        pending, self.pending = self.pending, []
        failure: tuple[str, BaseException] | None = None
        for queue, send in pending:
            try:
                await send
            except Exception as exc:  # a JsException from the binding, whatever its JS type
                failure = failure or (queue, exc)
        if failure is not None:
            name, error = failure
            raise PublishError(f"sending to queue {name!r} failed: {error}") from error

    def discard(self) -> None:
        """Stop waiting on sends of a failed handler (they were started; the event is retried
        and its publishes may repeat: at-least-once, as on every provider)."""
        pending, self.pending = self.pending, []
        for _, send in pending:
            close = getattr(send, "close", None)
            if callable(close):
                close()


_current: contextvars.ContextVar[Outbox | None] = contextvars.ContextVar(
    "portable_fn_cloudflare_outbox", default=None
)


def open_outbox(env: Any) -> tuple[Outbox, contextvars.Token[Outbox | None]]:
    box = Outbox(env)
    return box, _current.set(box)


def close_outbox(token: contextvars.Token[Outbox | None]) -> None:
    _current.reset(token)


def current_outbox() -> Outbox | None:
    """The running invocation's outbox (its ``env`` too), or None outside one."""
    return _current.get()


class QueuePublisher:
    """The app's ``Publisher`` on Workers; per-invocation state lives in a context variable."""

    def __init__(self, app: App) -> None:
        self._app = app
        self._fan_out: dict[str, list[str]] = {}  # topic -> its subscribers' queues

    def publish(self, topic: str, event: CloudEvent) -> None:
        queues = self._fan_out.get(topic)
        if queues is None:
            # No subscriber in this app: the topic's own queue, if wrangler.toml binds one.
            queues = plan.topic_queues(self._app, topic) or [plan.queue_name(topic)]
            self._fan_out[topic] = queues
        message = _message(event)  # once, whatever the number of subscribers
        for queue in queues:
            self._send(queue, message, None)

    def send(self, queue: str, event: CloudEvent, *, delay: float | None = None) -> None:
        self._send(plan.queue_name(queue), _message(event), delay)

    def emit(self, event: CloudEvent) -> None:
        queues = plan.event_queues(self._app, event.type, event.source)
        if not queues:
            # As on an event bus with no matching rule: accepted, delivered nowhere.
            Logger({"provider": "cloudflare"}).warning(
                "pf.emit: no @app.event function matches the type", type=event.type
            )
            return
        message = _message(event)
        for queue in queues:
            self._send(queue, message, None)

    def _send(self, queue: str, message: dict[str, Any], delay: float | None) -> None:
        box = _current.get()
        if box is None:
            raise PublishError("publishing on Workers works only inside a handler invocation")
        binding = plan.binding_name(queue)
        producer = getattr(box.env, binding, None)
        if producer is None:
            raise PublishError(
                f"no Queue producer binding {binding} for queue {queue!r} in wrangler.toml"
            )
        options: dict[str, Any] = {"contentType": content_type_for(message)}
        if delay:
            if not 0 <= delay <= MAX_DELAY_SECONDS:
                raise PublishError(
                    f"Queues delays are 0-{MAX_DELAY_SECONDS} seconds, got {delay}"
                )
            options["delaySeconds"] = math.ceil(delay)
        box.pending.append((queue, producer.send(message, **options)))


def _message(event: CloudEvent) -> dict[str, Any]:
    """The structured event a producer sends; ``PublishError`` when it is larger than a
    Queues message may be."""
    size = len(to_json(event))
    if size > MAX_MESSAGE_BYTES:
        raise PublishError(
            f"event {event.id} is {size} bytes as JSON; a Queues message holds at most "
            f"{MAX_MESSAGE_BYTES} bytes (128000 bytes, ~100 of them Queues' own metadata): "
            "send a reference to an R2 object instead"
        )
    return to_dict(event)
