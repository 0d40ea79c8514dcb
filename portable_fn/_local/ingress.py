"""The CloudEvents-over-HTTP ingress of ``portable-fn dev``.

- ``POST /_pf/events``: binary (``ce-*`` headers) or structured
  (``application/cloudevents+json``) mode, or a batch (``application/cloudevents-batch+json``);
  each event is routed by ``type`` to the matching ``@app.event`` functions, like an event bus.
- ``POST /_pf/events/{function}``: straight to one (non-HTTP) function, whatever its trigger.
- ``POST /_pf/topics/{topic}`` and ``/_pf/queues/{queue}``: as ``pf.publish`` / ``pf.send``.
- ``POST /_pf/streams/{stream}``: a record for the ``@app.stream`` consumers, in order.

Spec: https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md
Each accepted event is committed to SQLite before the 202 goes out. In a batch, a malformed
event is rejected on its own (its index and attribute are in the answer); the rest go on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from portable_fn.errors import InvalidCloudEventError
from portable_fn.events import CloudEvent, from_dict, from_http, http_mode
from portable_fn.http import Response

PREFIX = "/_pf/"

Accept = Callable[[str, str, CloudEvent], tuple[str, ...]]
"""(kind, target, event) -> functions it was routed to; raises LookupError if no such target."""


def error(status: int, message: str, **extra: Any) -> Response:
    return Response.json({"error": {"status": status, "message": message, **extra}}, status=status)


def parse(headers: Mapping[str, str], body: bytes) -> tuple[list[CloudEvent], list[dict[str, Any]]]:
    """The events in one request, and the per-event rejections of a batch."""
    if http_mode(headers) != "batch":
        return [from_http(headers, body)], []
    try:
        items = json.loads(body)
    except ValueError as exc:
        raise InvalidCloudEventError("data", f"batch body is not JSON: {exc}") from None
    if not isinstance(items, list):
        raise InvalidCloudEventError("data", "a batch body must be a JSON array of events")
    events: list[CloudEvent] = []
    rejected: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise InvalidCloudEventError("specversion", "a batch item must be a JSON object")
            events.append(from_dict(item))
        except InvalidCloudEventError as exc:
            rejected.append({"index": index, "attribute": exc.attribute, "message": str(exc)})
    return events, rejected


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
    method: str, path: str, headers: Mapping[str, str], body: bytes, accept: Accept
) -> Response:
    """Blocking (it commits to SQLite): the ASGI app runs it in a worker thread."""
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
    try:
        events, rejected = parse(headers, body)
    except InvalidCloudEventError as exc:
        return error(400, str(exc), attribute=exc.attribute)
    if not events and rejected:
        return error(400, "no valid event in the batch", rejected=rejected)
    kind, name = target
    accepted = []
    for event in events:
        try:
            functions = accept(kind, name, event)
        except LookupError as exc:
            return error(404, str(exc.args[0]) if exc.args else str(exc))
        accepted.append({"id": event.id, "type": event.type, "functions": list(functions)})
    answer: dict[str, Any] = (
        accepted[0]
        if len(accepted) == 1 and not rejected
        else {"accepted": accepted, "rejected": rejected}
    )
    return Response.json(answer, status=202)
