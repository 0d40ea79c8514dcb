# SPDX-License-Identifier: Apache-2.0
"""Test helpers: run any function of an app with a portable event or request, record what it
publishes, and the ``Harness`` protocol through which the contract suite drives every adapter."""

from __future__ import annotations

import json as _json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, overload

from portable_fn._dispatch import (
    Outcome,
    dispatch_event,
    dispatch_event_async,
    dispatch_http,
    dispatch_http_async,
)
from portable_fn.context import Context
from portable_fn.events import CloudEvent, from_json, new_id, to_json
from portable_fn.http import Headers, QueryParams, Request, Response
from portable_fn.triggers import Http

if TYPE_CHECKING:
    from portable_fn.app import App

__all__ = [
    "Harness",
    "Published",
    "RecordingPublisher",
    "http_request",
    "invoke",
    "invoke_async",
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
    """A ``Request`` built the way a client would send it: ``path`` may carry ``?query``, which
    ``query`` adds to (as httpx's ``params`` do); ``json`` is the body as JSON, sent with
    ``Content-Type: application/json`` unless ``headers`` name another."""
    if json is not None and body:
        raise TypeError("http_request takes json= or body=, not both")
    path, _, inline = path.partition("?")
    pairs = dict(headers or {})
    if json is not None:
        body = _json.dumps(json).encode()
        if not any(name.lower() == "content-type" for name in pairs):
            pairs["content-type"] = "application/json"
    raw = body.encode() if isinstance(body, str) else body
    if isinstance(query, Mapping):
        params = QueryParams([*QueryParams.from_string(inline).items(), *query.items()])
    else:
        params = QueryParams.from_string("&".join(q for q in (inline, query) if q))
    return Request(
        method=method.upper(), path=path, headers=Headers(pairs), query=params, body=raw
    )


def _context(function: str, provider: str, attempt: int = 1) -> Context:
    return Context(provider=provider, function_name=function, invocation_id=new_id(),
                   attempt=attempt)


@overload
def invoke(
    app: App, function: str, value: Request, *, provider: str = ..., attempt: int = ...
) -> Response: ...


@overload
def invoke(
    app: App, function: str, value: CloudEvent, *, provider: str = ..., attempt: int = ...
) -> Outcome: ...


def invoke(
    app: App, function: str, value: Request | CloudEvent, *, provider: str = "test",
    attempt: int = 1,
) -> Response | Outcome:
    """Run ``function`` on ``value`` through the core dispatcher, as an adapter would;
    ``attempt`` > 1 is a redelivery (``ctx.attempt``).

    A name the app does not have raises ``FunctionNotFoundError``, and a ``Request`` for an
    event function (or a ``CloudEvent`` for an HTTP one) ``TypeError``: a mistake in the test,
    not an outcome to assert on."""
    fn = app.function(function)
    http = _kind(function, fn.trigger, value)
    if fn.is_async and _loop_running():
        # run_sync cannot drive the handler's coroutine inside a running loop: the test would
        # get a 500 / a failed outcome that says nothing about the handler.
        raise RuntimeError(
            f"function {function!r} is async and an event loop is running: "
            "use `await invoke_async(...)` in an async test"
        )
    ctx = _context(function, provider, attempt)
    if http:
        return dispatch_http(app, value, ctx, function)  # type: ignore[arg-type]
    return dispatch_event(app, function, value, ctx)  # type: ignore[arg-type]


@overload
async def invoke_async(
    app: App, function: str, value: Request, *, provider: str = ..., attempt: int = ...
) -> Response: ...


@overload
async def invoke_async(
    app: App, function: str, value: CloudEvent, *, provider: str = ..., attempt: int = ...
) -> Outcome: ...


async def invoke_async(
    app: App, function: str, value: Request | CloudEvent, *, provider: str = "test",
    attempt: int = 1,
) -> Response | Outcome:
    """``invoke`` for async tests (pytest-asyncio, anyio): awaits an async handler on the
    running loop, as the async adapters (Cloudflare, the local runtime) do; a sync handler runs
    in place."""
    http = _kind(function, app.function(function).trigger, value)
    ctx = _context(function, provider, attempt)
    if http:
        return await dispatch_http_async(app, value, ctx, function)  # type: ignore[arg-type]
    return await dispatch_event_async(app, function, value, ctx)  # type: ignore[arg-type]


def _kind(function: str, trigger: Any, value: Any) -> bool:
    """True for an HTTP function given a Request, False for an event function given a
    CloudEvent; TypeError for anything else (a mistake in the test)."""
    if isinstance(value, Request) and isinstance(trigger, Http):
        return True
    if isinstance(value, CloudEvent) and not isinstance(trigger, Http):
        return False
    wanted = "a Request" if isinstance(trigger, Http) else "a CloudEvent"
    raise TypeError(f"function {function!r} ({type(trigger).__name__}) takes {wanted}")


def _loop_running() -> bool:
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Published:
    kind: Literal["topic", "queue", "bus"]
    name: str
    event: CloudEvent
    delay: float | None = None


@dataclass
class RecordingPublisher:
    """A ``Publisher`` that keeps every event instead of sending it (for unit tests).

    Each event is recorded as a subscriber would receive it: serialised as every provider's
    publisher does (structured-mode JSON), at the moment of publishing, and read back. So data
    no provider can send fails here as it would there, and a handler that changes its data
    after publishing does not change what was recorded."""

    sent: list[Published] = field(default_factory=list)

    def publish(self, topic: str, event: CloudEvent) -> None:
        self.sent.append(Published("topic", topic, _as_sent(event)))

    def send(self, queue: str, event: CloudEvent, *, delay: float | None = None) -> None:
        self.sent.append(Published("queue", queue, _as_sent(event), delay))

    def emit(self, event: CloudEvent) -> None:
        self.sent.append(Published("bus", event.type, _as_sent(event)))

    def to(self, name: str) -> list[CloudEvent]:
        return [p.event for p in self.sent if p.name == name]


def _as_sent(event: CloudEvent) -> CloudEvent:
    return from_json(to_json(event))  # InvalidCloudEventError for data JSON cannot carry


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
