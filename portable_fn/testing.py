# SPDX-License-Identifier: Apache-2.0
"""Test helpers: run any function of an app with a portable event or request, record what it
publishes, and the ``Harness`` protocol through which the contract suite drives every adapter."""

from __future__ import annotations

import json as _json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from portable_fn._dispatch import Outcome, dispatch_event, dispatch_http
from portable_fn.context import Context
from portable_fn.events import CloudEvent, new_id
from portable_fn.http import Headers, QueryParams, Request, Response

if TYPE_CHECKING:
    from portable_fn.app import App

__all__ = [
    "Harness",
    "Published",
    "RecordingPublisher",
    "http_request",
    "invoke",
    "load_app",
]


def load_app(ref: str) -> App:
    """The ``App`` named by ``ref``: ``module:attribute`` or a file path, as the CLI takes it."""
    from portable_fn._local.loader import load_app as _load

    return _load(ref)


def http_request(
    method: str,
    path: str,
    *,
    json: Any = None,
    body: bytes | str = b"",
    headers: Mapping[str, str] | None = None,
    query: str | Mapping[str, str] = "",
) -> Request:
    """A ``Request`` built the way a client would send it (``path`` may carry ``?query``)."""
    path, _, inline = path.partition("?")
    pairs = dict(headers or {})
    if json is not None:
        body = _json.dumps(json).encode()
        pairs.setdefault("content-type", "application/json")
    raw = body.encode() if isinstance(body, str) else body
    if isinstance(query, Mapping):
        params = QueryParams(list(query.items()))
    else:
        params = QueryParams.from_string(query or inline)
    return Request(
        method=method.upper(), path=path, headers=Headers(pairs), query=params, body=raw
    )


def _context(function: str, provider: str, attempt: int = 1) -> Context:
    return Context(provider=provider, function_name=function, invocation_id=new_id(),
                   attempt=attempt)


def invoke(
    app: App, function: str, value: Request | CloudEvent, *, provider: str = "test",
    attempt: int = 1,
) -> Response | Outcome:
    """Run ``function`` on ``value`` through the core dispatcher, as an adapter would."""
    ctx = _context(function, provider, attempt)
    if isinstance(value, Request):
        return dispatch_http(app, value, ctx, function)
    return dispatch_event(app, function, value, ctx)


@dataclass(frozen=True, slots=True)
class Published:
    kind: Literal["topic", "queue", "bus"]
    name: str
    event: CloudEvent
    delay: float | None = None


@dataclass
class RecordingPublisher:
    """A ``Publisher`` that keeps every event instead of sending it (for unit tests)."""

    sent: list[Published] = field(default_factory=list)

    def publish(self, topic: str, event: CloudEvent) -> None:
        self.sent.append(Published("topic", topic, event))

    def send(self, queue: str, event: CloudEvent, *, delay: float | None = None) -> None:
        self.sent.append(Published("queue", queue, event, delay))

    def emit(self, event: CloudEvent) -> None:
        self.sent.append(Published("bus", event.type, event))

    def to(self, name: str) -> list[CloudEvent]:
        return [p.event for p in self.sent if p.name == name]


class Harness(Protocol):
    """One provider's native round trip, for the contract suite (``tests/contract``)."""

    provider: str

    def http(self, app: App, request: Request) -> Response:
        """``request`` -> native HTTP event -> adapter -> native response -> ``Response``."""
        ...

    def deliver(self, app: App, function: str, events: Sequence[CloudEvent]) -> list[bool]:
        """The events as portable-fn publishes them on this provider, in one native delivery;
        per message, True when acknowledged."""
        ...

    def schedule(self, app: App, function: str, scheduled_time: datetime) -> None:
        """Fire the function's schedule as the provider does."""
        ...

    def storage(
        self, app: App, function: str, *, bucket: str, key: str, size: int, etag: str,
        action: Literal["created", "deleted"],
    ) -> None:
        """A native storage notification for one object."""
        ...
