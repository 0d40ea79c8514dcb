"""The local broker's front door: routing and the ``Publisher`` that handlers publish through.

Routing is computed from the app once: a topic fans out to one subscription per subscribing
function (SNS / Pub/Sub semantics), a queue goes to its consumer (competing consumers, so one
function gets each message), and an event-bus ``emit`` goes to every ``@app.event`` function
whose type pattern matches (EventBridge rules / Eventarc triggers). Every accepted event is
written to SQLite with all its deliveries before the call returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from portable_fn._local.ingress import check_delay, fifo_queues, max_event_bytes
from portable_fn._local.store import Store
from portable_fn.app import App
from portable_fn.errors import PublishError
from portable_fn.events import CloudEvent, to_json
from portable_fn.triggers import Event, Queue, Stream, Topic


@dataclass(frozen=True, slots=True)
class Routes:
    """Who receives what, derived from the app's triggers."""

    topics: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    queues: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    streams: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    events: tuple[tuple[str, Event], ...] = ()
    fifo: frozenset[str] = frozenset()  # the queues declared FIFO

    @classmethod
    def of(cls, app: App) -> Routes:
        topics: dict[str, list[str]] = {}
        queues: dict[str, list[str]] = {}
        streams: dict[str, list[str]] = {}
        events: list[tuple[str, Event]] = []
        for name, fn in app.functions.items():
            trigger = fn.trigger
            if isinstance(trigger, Topic):
                topics.setdefault(trigger.name, []).append(name)
            elif isinstance(trigger, Queue):
                queues.setdefault(trigger.name, []).append(name)
            elif isinstance(trigger, Stream):
                streams.setdefault(trigger.name, []).append(name)
            elif isinstance(trigger, Event):
                events.append((name, trigger))
        return cls(
            topics={k: tuple(v) for k, v in topics.items()},
            queues={k: tuple(v) for k, v in queues.items()},
            streams={k: tuple(v) for k, v in streams.items()},
            events=tuple(events),
            fifo=fifo_queues(app),
        )

    def for_topic(self, topic: str) -> tuple[str, ...]:
        return self.topics.get(topic, ())

    def for_queue(self, queue: str) -> tuple[str, ...]:
        # Competing consumers: the first registered consumer takes the queue's messages.
        return self.queues.get(queue, ())[:1]

    def for_stream(self, stream: str) -> tuple[str, ...]:
        # Every consumer of a stream reads every record (Kinesis / Event Hubs consumers).
        return self.streams.get(stream, ())

    def for_event(self, event: CloudEvent) -> tuple[str, ...]:
        return tuple(name for name, trig in self.events if trig.matches(event.type, event.source))


Notice = Callable[[str, str, CloudEvent, tuple[str, ...]], None]
"""Called after a commit: (kind, name, event, functions), to wake the loop and print."""


# The ingress's limits (ingress.py says where each comes from), for what handlers publish.
_LIMITS = {kind: max_event_bytes(kind) for kind in ("topic", "queue", "event", "stream")}


class LocalPublisher:
    """``Publisher`` for ``pf.publish`` / ``pf.send`` / ``pf.emit`` in ``portable-fn dev``."""

    def __init__(self, store: Store, routes: Routes, notice: Notice) -> None:
        self._store = store
        self._routes = routes
        self._notice = notice

    def _accept(
        self, kind: str, name: str, event: CloudEvent, functions: tuple[str, ...], due: float
    ) -> None:
        body = self._body(kind, name, event)
        self._store.enqueue(kind=kind, name=name, event=body, functions=functions, due=due)
        self._notice(kind, name, event, functions)

    @staticmethod
    def _body(kind: str, name: str, event: CloudEvent) -> bytes:
        """``event`` as the broker stores it, refused past the smallest cloud's limit."""
        body = to_json(event)
        limit = _LIMITS.get(kind)
        if limit is not None and len(body) > limit:
            # What the ingress refuses with a 413, a handler's pf.publish / pf.send must not get
            # through either: it would work here and fail at the first deploy.
            raise PublishError(
                f"{kind} {name!r}: the event is {len(body)} bytes as JSON; the smallest cloud "
                f"limit for a {kind} message is {limit} bytes (send a reference to a stored "
                "object instead)"
            )
        return body

    def publish(self, topic: str, event: CloudEvent) -> None:
        self._accept("topic", topic, event, self._routes.for_topic(topic), time.time())

    def send(self, queue: str, event: CloudEvent, *, delay: float | None = None) -> None:
        check_delay(queue, delay, fifo=queue in self._routes.fifo)
        due = time.time() + (delay or 0.0)
        self._accept("queue", queue, event, self._routes.for_queue(queue), due)

    def emit(self, event: CloudEvent) -> None:
        self._accept("event", event.type, event, self._routes.for_event(event), time.time())

    def put_record(self, stream: str, event: CloudEvent) -> None:
        """A stream record (ingress ``/_pf/streams/{stream}``): no Publisher API feeds
        streams, so this is the local way in; consumers get records one at a time, in order
        (per ``partitionkey``, which the record keeps).

        As Kinesis and Event Hubs number theirs, the broker gives each record its place in the
        stream as the ``sequence`` extension (docs/event-mapping.md), over one the sender set:
        zero-padded to 20 digits as the Azure adapter writes Event Hubs' (the spec compares
        sequences as strings: https://github.com/cloudevents/spec/blob/main/cloudevents/extensions/sequence.md)."""
        functions = self._routes.for_stream(stream)
        numbered: list[CloudEvent] = []

        def body(number: int) -> bytes:
            numbered[:] = [event.with_extensions(sequence=f"{number:020d}")]
            return self._body("stream", stream, numbered[0])

        self._store.enqueue_record(stream=stream, event=body, functions=functions, due=time.time())
        self._notice("stream", stream, numbered[0], functions)

    def direct(self, function: str, event: CloudEvent, *, kind: str = "ingress") -> None:
        """Deliver to one named function (ingress ``/_pf/events/{function}``, schedules)."""
        self._accept(kind, function, event, (function,), time.time())
