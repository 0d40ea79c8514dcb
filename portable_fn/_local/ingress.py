"""The CloudEvents-over-HTTP ingress of ``portable-fn dev``.

- ``POST /_pf/events``: binary (``ce-*`` headers) or structured
  (``application/cloudevents+json``) mode, or a batch (``application/cloudevents-batch+json``);
  each event is routed by ``type`` to the matching ``@app.event`` functions, like an event bus.
- ``POST /_pf/events/{function}``: straight to one (non-HTTP) function, whatever its trigger.
- ``POST /_pf/topics/{topic}`` and ``/_pf/queues/{queue}``: as ``pf.publish`` / ``pf.send``.
- ``POST /_pf/streams/{stream}``: a record for the ``@app.stream`` consumers, in order.

Spec: https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md
Each accepted event is committed to SQLite before the 202 goes out. In a batch, a malformed
event is rejected on its own (its index and attribute are in the answer); the rest go on, and
every event is checked (down to being storable) before the first is committed, so a refused
request has enqueued nothing and a client that retries it enqueues nothing twice.
A structured or batched message in a format other than JSON is a 415 (RFC 9110 section
15.5.16); CloudEvents 0.3 and other versions are a 400: handlers are written against 1.0.

An event larger than the smallest message a cloud carries for its kind is a 413 (alone in a
batch, its own rejection), so what works here does not fail at the first deploy: 48 KiB for a
queue (an Azure Storage Queue message is 64 KiB, and the Functions host base64-encodes it:
https://learn.microsoft.com/azure/storage/queues/storage-queues-introduction), 128 KB for the
rest (a Cloudflare Queues message, which carries every Cloudflare event:
https://developers.cloudflare.com/queues/platform/limits/). Size is that of the event's
structured JSON, the form the broker stores and the publishers send. The request body itself
is read up to ``MAX_BODY_BYTES`` (a batch; Event Grid takes 1 MB a request).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from portable_fn._event_data import decode_data
from portable_fn.errors import InvalidCloudEventError
from portable_fn.events import CloudEvent, from_dict, from_http, http_mode, is_json_format, to_json
from portable_fn.http import Response
from portable_fn.triggers import Queue

if TYPE_CHECKING:
    from portable_fn.app import App

PREFIX = "/_pf/"

MAX_QUEUE_EVENT_BYTES = 48 * 1024
# A Cloudflare Queues message, the smallest elsewhere: 128 KB (1 KB = 1000 bytes), of which
# "up to ~100 bytes of internal metadata" count (the Cloudflare publisher's limit too).
MAX_EVENT_BYTES = 128_000 - 100
MAX_BODY_BYTES = 1024 * 1024


def max_event_bytes(kind: str) -> int:
    """The largest event (structured JSON bytes) accepted for an ingress ``kind``."""
    return MAX_QUEUE_EVENT_BYTES if kind == "queue" else MAX_EVENT_BYTES


# The longest ``pf.send`` delay the smallest cloud limit allows: SQS's 900 s
# (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html;
# Cloudflare Queues take 12 hours, Storage Queues 7 days). Past it, a send that works locally
# fails at the first deploy to AWS, as a message past the size limits would.
MAX_DELAY_SECONDS = 900.0


def check_delay(queue: str, delay: float | None, *, fifo: bool = False) -> None:
    """``PublishError`` for a delay past ``MAX_DELAY_SECONDS``, or any delay to a queue the
    app declares FIFO (the local broker, the test recorder: what would work here and fail in
    a cloud). SQS FIFO queues take no per-message delay, only the queue's own
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html)."""
    if not delay:
        return
    from portable_fn.errors import PublishError

    if fifo:
        raise PublishError(
            f"queue {queue!r} is FIFO: a per-message delay is refused there (SQS FIFO "
            "queues take none); send without a delay, or delay the work in another queue"
        )
    if delay > MAX_DELAY_SECONDS:
        raise PublishError(
            f"queue {queue!r}: a delay of {delay:g} s is past the smallest cloud limit, "
            f"{MAX_DELAY_SECONDS:g} s (SQS); for a longer wait, schedule the work or send it "
            "again when the first delay ends"
        )


def fifo_queues(app: App) -> frozenset[str]:
    """The queues the app's triggers declare FIFO."""
    return frozenset(
        fn.trigger.name
        for fn in app.functions.values()
        if isinstance(fn.trigger, Queue) and fn.trigger.fifo
    )


Accept = Callable[[str, str, CloudEvent], tuple[str, ...]]
"""(kind, target, event) -> functions it was routed to; raises LookupError if no such target."""


def error(status: int, message: str, **extra: Any) -> Response:
    return Response.json({"error": {"status": status, "message": message, **extra}}, status=status)


def header_map(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The request's headers, one value per lower-cased name, as ``from_http`` reads them.

    A ``ce-*`` attribute or Content-Type sent twice is refused: the binding maps each attribute
    to one header (section 3.1.3), and picking one of two ids or types would deliver an event
    the sender may not have meant. Header bytes reach here decoded as Latin-1 (ASGI's bytes,
    as every server passes them); a ``ce-*`` value whose bytes are UTF-8 is read as UTF-8: the
    binding wants it percent-encoded, but curl, Go and Node clients send raw UTF-8.
    """
    out: dict[str, str] = {}
    for raw_name, value in pairs:
        name = raw_name.lower()
        attribute = name.startswith("ce-")
        if name in out and (attribute or name == "content-type"):
            raise InvalidCloudEventError(
                name[3:] if attribute else "datacontenttype", f"header {name} appears twice"
            )
        if attribute and not value.isascii():
            # Not UTF-8 stays Latin-1: what http.client (under requests) sends for a str.
            with suppress(UnicodeError):
                value = value.encode("latin-1").decode("utf-8")
        out.setdefault(name, value)
    return out


class UnsupportedFormat(Exception):
    """A structured or batched message in an event format other than JSON."""


class EventTooLarge(InvalidCloudEventError):
    """An event larger than a cloud would carry for its kind (HTTP 413)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            "data",
            f"the event is {size} bytes as JSON; the smallest cloud limit for this kind is "
            f"{limit} bytes (send a reference to a stored object instead)",
        )


def _storable(event: CloudEvent, limit: int) -> CloudEvent:
    """Raise ``InvalidCloudEventError`` now for an event the broker could not store (a lone
    surrogate in JSON text is valid JSON syntax but not UTF-8) or a cloud could not carry,
    before anything is committed."""
    size = len(to_json(event))  # serialised for the check anyway: its length is free
    if size > limit:
        raise EventTooLarge(size, limit)
    return event


def parse(
    headers: Mapping[str, str], body: bytes, limit: int = MAX_EVENT_BYTES
) -> tuple[list[CloudEvent], list[dict[str, Any]]]:
    """The events in one request, and the per-event rejections of a batch."""
    if not is_json_format(headers):
        raise UnsupportedFormat(
            f"unsupported event format {headers.get('content-type')!r}: send "
            "application/cloudevents+json, application/cloudevents-batch+json or binary mode"
        )
    if http_mode(headers) != "batch":
        return [_storable(from_http(headers, body), limit)], []
    try:
        items = json.loads(body)
    except ValueError as exc:
        raise InvalidCloudEventError("data", f"batch body is not JSON: {exc}") from None
    except RecursionError:  # valid JSON, nested deeper than the parser recurses
        raise InvalidCloudEventError("data", "batch body nests JSON too deeply to read") from None
    if not isinstance(items, list):
        raise InvalidCloudEventError("data", "a batch body must be a JSON array of events")
    events: list[CloudEvent] = []
    rejected: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise InvalidCloudEventError("specversion", "a batch item must be a JSON object")
            events.append(_storable(from_dict(item), limit))
        except InvalidCloudEventError as exc:
            rejected.append(
                {
                    "index": index,
                    "status": 413 if isinstance(exc, EventTooLarge) else 400,
                    "attribute": exc.attribute,
                    "message": str(exc),
                }
            )
    return events, rejected


# Where a plain body is the data, as ``pf.publish`` / ``pf.send`` take it: the event bus and a
# function's own ingress route by the event's type, which only a CloudEvent brings.
_PLAIN_KINDS = frozenset(("topic", "queue", "stream"))
_SAFELISTED = frozenset(("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"))


def _is_plain(fields: Mapping[str, str]) -> bool:
    """No CloudEvent (no ``ce-specversion`` header, no ``cloudevents`` media type) and a
    Content-Type a browser must ask before sending cross-site: none of the CORS-safelisted ones
    (Fetch standard, "CORS-safelisted request-header": text/plain, forms) and not none at all, so
    a page the developer visits cannot enqueue into ``dev`` (those stay refused, 400)."""
    if "ce-specversion" in fields or http_mode(fields) != "binary":
        return False
    content_type = fields.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    return bool(media) and media not in _SAFELISTED


def _plain(app_name: str, name: str, fields: Mapping[str, str], body: bytes) -> CloudEvent:
    """The event ``pf.send(name, data)`` would build from the app for a body sent as data
    (``curl -d '{"sku": "a"}' .../_pf/queues/jobs``): a new id, type ``<app>.<name>``, the app's
    source, the body decoded by its Content-Type (JSON, text, else bytes)."""
    content_type = fields.get("content-type") or None
    data = decode_data(body, content_type)
    if isinstance(data, dict) and "specversion" in data:
        # A structured CloudEvent sent as plain JSON (what an SQS or Storage Queue body holds):
        # the event itself, as the AWS and Azure codecs read the same body.
        return from_dict(data)
    return CloudEvent.create(
        type=f"{app_name}.{name}",
        source=f"/portable-fn/{app_name}",
        data=data,
        datacontenttype=content_type if body else None,
    )


def route(path: str) -> tuple[str, str] | None:
    """``/_pf/events[/fn]``, ``/_pf/topics/t``, ``/_pf/queues/q`` -> (kind, target)."""
    parts = path[len(PREFIX) :].strip("/").split("/")
    if parts == ["events"]:
        return "event", ""
    if len(parts) == 2 and parts[1]:
        kind = {
            "events": "function",
            "topics": "topic",
            "queues": "queue",
            "streams": "stream",
        }.get(parts[0])
        if kind is not None:
            return kind, parts[1]
    return None


def handle(
    method: str,
    path: str,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    body: bytes,
    accept: Accept,
    *,
    app_name: str = "dev",
) -> Response:
    """Blocking (it commits to SQLite): the ASGI app runs it in a worker thread.

    ``headers`` are a mapping or the request's (name, value) pairs, repeated names included.
    A topic, queue or stream takes a plain body too (``app_name``: for the event's type and
    source, ``_plain``)."""
    target = route(path)
    if target is None:
        return error(
            404,
            f"no ingress at {path}; use /_pf/events[/FUNCTION], "
            "/_pf/topics/TOPIC, /_pf/queues/QUEUE or /_pf/streams/STREAM",
        )
    if method != "POST":
        return Response.json(
            {"error": {"status": 405, "message": "use POST"}}, status=405, headers={"allow": "POST"}
        )
    kind, name = target
    try:
        fields = header_map(headers.items() if isinstance(headers, Mapping) else headers)
        if kind in _PLAIN_KINDS and _is_plain(fields):
            events = [_storable(_plain(app_name, name, fields, body), max_event_bytes(kind))]
            rejected: list[dict[str, Any]] = []
        else:
            events, rejected = parse(fields, body, max_event_bytes(kind))
    except EventTooLarge as exc:
        return error(413, str(exc), attribute=exc.attribute)
    except InvalidCloudEventError as exc:
        hint = ""
        if kind in _PLAIN_KINDS and "ce-specversion" not in fields:
            hint = ("; or send the data itself with a Content-Type such as application/json "
                    "(text/plain, a form or none are refused: a web page could send them)")
        return error(400, f"{exc}{hint}", attribute=exc.attribute)
    except UnsupportedFormat as exc:
        return error(415, str(exc))
    if not events and rejected:
        status = 413 if all(r["status"] == 413 for r in rejected) else 400
        return error(status, "no valid event in the batch", rejected=rejected)
    accepted = []
    for event in events:
        try:
            functions = accept(kind, name, event)
        except LookupError as exc:
            return error(404, str(exc.args[0]) if exc.args else str(exc))
        accepted.append({"id": event.id, "type": event.type, "functions": list(functions)})
    # A batch is answered as a batch whatever its length: its client reads one shape.
    answer: dict[str, Any] = (
        {"accepted": accepted, "rejected": rejected}
        if http_mode(fields) == "batch"
        else accepted[0]
    )
    return Response.json(answer, status=202)
