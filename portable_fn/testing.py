# SPDX-License-Identifier: Apache-2.0
"""Test helpers: run any function of an app with a portable event or request, record what it
publishes, and the ``Harness`` protocol through which the contract suite drives every adapter."""

from __future__ import annotations

import json as _json
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, overload
from urllib.parse import unquote

from portable_fn._dispatch import (
    Outcome,
    dispatch_event,
    dispatch_event_async,
)
from portable_fn._dispatch_http import dispatch_http, dispatch_http_async
from portable_fn.context import Context
from portable_fn.errors import PublishError
from portable_fn.events import CloudEvent, from_json, new_id, to_json
from portable_fn.http import Headers, QueryParams, Request, Response
from portable_fn.triggers import Http, Schedule, Storage

if TYPE_CHECKING:
    from portable_fn.app import App, Function

__all__ = [
    "Harness",
    "Published",
    "RecordingPublisher",
    "harness_function",
    "http_request",
    "invoke",
    "invoke_async",
    "load_app",
    "offline",
    "recording",
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
    headers: Mapping[str, str] | Headers | Sequence[tuple[str, str]] | None = None,
    query: str | Mapping[str, Any] = "",
) -> Request:
    """A ``Request`` built the way a client would send it: ``path`` may carry ``?query``, which
    ``query`` adds to (as httpx's ``params`` do: a list or tuple value is one parameter per
    item, a number or bool its text); ``headers`` a mapping, a ``Headers`` or ``(name, value)``
    pairs, a name repeated as a client may send it; ``json`` is the body as JSON, sent with
    ``Content-Type: application/json`` unless ``headers`` name another. The path is
    percent-decoded once, as every adapter and ``dev`` hand it to the handler (``Request.path``
    is decoded): ``"/e/a%20b"`` reaches ``/e/{name}`` as ``a b``; the query is parsed as sent."""
    if json is not None and body:
        raise TypeError("http_request takes json= or body=, not both")
    path, _, inline = path.partition("?")
    path = unquote(path)  # as an ASGI server's scope["path"] and the adapters decode it
    pairs = list(headers.items() if isinstance(headers, Mapping | Headers) else headers or ())
    if json is not None:
        body = _json.dumps(json).encode()
        if not any(name.lower() == "content-type" for name, _ in pairs):
            pairs.append(("content-type", "application/json"))
    raw = body.encode() if isinstance(body, str) else body
    if isinstance(query, Mapping):
        params = QueryParams([*QueryParams.from_string(inline).items(), *_params(query)])
    else:
        params = QueryParams.from_string("&".join(q for q in (inline, query) if q))
    return Request(
        method=method.upper(), path=path, headers=Headers(pairs), query=params, body=raw
    )


def _params(query: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``query`` as the pairs httpx sends for ``params=``: one per item of a list or tuple,
    ``true``/``false`` for a bool, ``""`` for None, the text of anything else."""
    out: list[tuple[str, str]] = []
    for name, value in query.items():
        for item in value if isinstance(value, list | tuple) else (value,):
            if isinstance(item, bool):
                out.append((name, "true" if item else "false"))
            else:
                out.append((name, "" if item is None else str(item)))
    return out


def _context(app: App, function: str, provider: str, attempt: int = 1) -> Context:
    """The invocation's context; its deadline the function's declared timeout from now, as a
    provider that stops it there sets it (none declared: none)."""
    timeout = app.function(function).limits.timeout
    return Context(provider=provider, function_name=function, invocation_id=new_id(),
                   attempt=attempt, deadline=None if timeout is None else time.time() + timeout)


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
            f"function {function!r} is async (or an async middleware wraps it) and an event "
            "loop is running: use `await invoke_async(...)` in an async test"
        )
    ctx = _context(app, function, provider, attempt)
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
    ctx = _context(app, function, provider, attempt)
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
    no provider can send fails here as it would there (``InvalidCloudEventError``), as does an
    event larger than the smallest cloud limit for its kind of message (``PublishError``, the
    limit ``portable-fn dev`` enforces), and a handler that changes its data after publishing
    does not change what was recorded."""

    sent: list[Published] = field(default_factory=list)

    def publish(self, topic: str, event: CloudEvent) -> None:
        self.sent.append(Published("topic", topic, _as_sent("topic", topic, event)))

    def send(self, queue: str, event: CloudEvent, *, delay: float | None = None) -> None:
        from portable_fn._invocation import current
        from portable_fn._local.ingress import check_delay, fifo_queues  # not at import

        running = current()  # the app sending, when a handler does: its FIFO queues
        fifo = running is not None and queue in fifo_queues(running.app)
        check_delay(queue, delay, fifo=fifo)  # what the local broker refuses
        self.sent.append(Published("queue", queue, _as_sent("queue", queue, event), delay))

    def emit(self, event: CloudEvent) -> None:
        self.sent.append(Published("bus", event.type, _as_sent("event", event.type, event)))

    def to(self, name: str) -> list[CloudEvent]:
        return [p.event for p in self.sent if p.name == name]


def _as_sent(kind: str, name: str, event: CloudEvent) -> CloudEvent:
    # Imported here: a Worker's vendored core has no ``_local`` and imports this module.
    from portable_fn._local.ingress import max_event_bytes

    body = to_json(event)  # InvalidCloudEventError for data JSON cannot carry
    limit = max_event_bytes(kind)
    if len(body) > limit:
        # What the local broker refuses (``_local.broker``): it fails at the first deploy.
        raise PublishError(
            f"{kind} {name!r}: the event is {len(body)} bytes as JSON; the smallest cloud "
            f"limit for a {kind} message is {limit} bytes (send a reference to a stored "
            "object instead)"
        )
    return from_json(body)


@contextmanager
def recording(app: App) -> Iterator[RecordingPublisher]:
    """A fresh ``RecordingPublisher`` installed on ``app`` for the ``with`` block, and the
    app's publisher as it was afterwards: an app imported once for a whole test session
    carries no recorder, and no recorded event, from one test into the next."""
    recorder = RecordingPublisher()
    with _publisher(app, recorder):
        yield recorder


class _NoCloud:
    """What a harness publishes through when the test installed no publisher: a harness
    reaches no cloud, so publishing fails as it does under ``invoke`` (``PublishError``)."""

    def __init__(self, app: App) -> None:
        self._app = app

    def _refuse(self) -> None:
        raise PublishError(
            f"app {self._app.name!r} has no publisher installed and a test harness reaches no "
            "cloud: record what it publishes with portable_fn.testing.recording(app) or "
            "app.use_publisher(RecordingPublisher())"
        )

    def publish(self, topic: str, event: CloudEvent) -> None:
        self._refuse()

    def send(self, queue: str, event: CloudEvent, *, delay: float | None = None) -> None:
        self._refuse()

    def emit(self, event: CloudEvent) -> None:
        self._refuse()


@contextmanager
def offline(app: App) -> Iterator[None]:
    """What every ``Harness`` call runs under: the app publishes through the publisher the test
    installed, or, with none, fails with ``PublishError`` instead of the adapter installing
    the provider's own (which would reach the cloud the machine's credentials name, or a
    stand-in nobody reads); afterwards the app's publisher is what it was."""
    if app.publisher is not None:
        yield
        return
    with _publisher(app, _NoCloud(app)):
        yield


@contextmanager
def _publisher(app: App, publisher: Any) -> Iterator[None]:
    before = app.publisher
    app.use_publisher(publisher)
    try:
        yield
    finally:
        app.use_publisher(before)


def harness_function(
    app: App, function: str, call: Literal["deliver", "schedule", "storage"]
) -> Function:
    """The function a ``Harness`` call names. A name the app lacks raises
    ``FunctionNotFoundError``, and a function of another kind ``TypeError`` (``deliver`` to
    an HTTP function, ``schedule`` of a function that has no schedule, ``storage`` for one
    that watches no bucket): a mistake in the test, as with ``invoke``, not a result."""
    fn = app.function(function)
    trigger = fn.trigger
    kind = type(trigger).__name__
    if call == "deliver" and isinstance(trigger, Http):
        raise TypeError(f"function {function!r} is an HTTP function: use http(), not deliver()")
    if call == "schedule" and not isinstance(trigger, Schedule):
        raise TypeError(f"function {function!r} ({kind}) is not a schedule function")
    if call == "storage" and not isinstance(trigger, Storage):
        raise TypeError(f"function {function!r} ({kind}) is not a storage function")
    return fn


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
