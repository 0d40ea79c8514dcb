# SPDX-License-Identifier: Apache-2.0
"""The dispatch kernel every adapter calls: a portable value in, an outcome out, never a raise.

HTTP: routing errors and ``HTTPError`` become their status with a JSON body; any other exception
is a 500 whose body says nothing of the code (the traceback goes to the log). Events: an
exception fails that one message; ``NonRetryable`` and validation errors fail it for good.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any

from portable_fn import _observe, _trace
from portable_fn.context import Context
from portable_fn.errors import (
    EventDecodeError,
    HTTPError,
    InvalidCloudEventError,
    MethodNotAllowed,
    NonRetryable,
    NotFound,
    PortableFnError,
    UnprocessableEntity,
)
from portable_fn.events import CloudEvent
from portable_fn.http import Request, Response, to_response
from portable_fn.log import Logger
from portable_fn.triggers import Event, Http, Storage

if TYPE_CHECKING:
    from portable_fn.app import App, Function

__all__ = [
    "Batch",
    "Outcome",
    "current",
    "dispatch_batch",
    "dispatch_event",
    "dispatch_event_async",
    "dispatch_http",
    "dispatch_http_async",
    "run_event",
]


class Outcome:
    """What became of one message: ``ok``, or failed with ``error`` (``retryable`` = redeliver)."""

    __slots__ = ("error", "ok", "retryable")

    def __init__(
        self, ok: bool, error: BaseException | None = None, retryable: bool = True
    ) -> None:
        self.ok = ok
        self.error = error
        self.retryable = retryable

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Outcome):
            return NotImplemented
        return (self.ok, self.error, self.retryable) == (other.ok, other.error, other.retryable)

    def __hash__(self) -> int:
        return hash((self.ok, id(self.error), self.retryable))

    def __repr__(self) -> str:
        return f"Outcome(ok={self.ok!r}, error={self.error!r}, retryable={self.retryable!r})"

    @property
    def reason(self) -> str | None:
        if self.error is None:
            return None
        return f"{type(self.error).__name__}: {self.error}"


OK = Outcome(True)


class Invocation:
    """The invocation in progress on this thread/task, read by ``pf.publish`` and loggers."""

    __slots__ = ("_trace", "app", "cold_start", "ctx", "event", "function", "request")

    def __init__(
        self,
        app: App,
        function: Function,
        ctx: Context,
        event: CloudEvent | None,
        cold_start: bool,
        request: Request | None = None,
    ) -> None:
        self.app = app
        self.function = function
        self.ctx = ctx
        self.event = event
        self.cold_start = cold_start
        self.request = request
        self._trace: str | None = None

    @property
    def traceparent(self) -> str:
        """This invocation's W3C traceparent, worked out on first use (a log line or a publish)
        so invocations that need neither pay nothing."""
        if self._trace is None:
            self._trace = _incoming_trace(self) or _trace.new_traceparent()
        return self._trace

    @property
    def trace_id(self) -> str:
        # Every traceparent held here was parsed or built as version 00: the id is at 3..35.
        return self.traceparent[3:35]

    @property
    def correlation_id(self) -> str:
        """The event's ``correlationid`` extension, the request's ``X-Correlation-Id`` or
        ``X-Request-Id``, else the trace id: one id to search every hop's logs by."""
        if self.event is not None:
            value = self.event.extensions.get("correlationid")
            if isinstance(value, str) and value:
                return value
        if self.request is not None:
            headers = self.request.headers
            found = headers.get("x-correlation-id") or headers.get("x-request-id")
            if found:
                return found
        return self.trace_id


def _incoming_trace(invocation: Invocation) -> str | None:
    """The trace this invocation continues, most specific first: the event's own
    ``traceparent`` (what portable-fn propagated end to end), the request's W3C header, what the
    adapter found natively (``ctx.traceparent``), the platforms' own headers, and Lambda's
    per-invocation ``_X_AMZN_TRACE_ID``."""
    event = invocation.event
    if event is not None:
        value = event.extensions.get("traceparent")
        found = _trace.normalized(value) if isinstance(value, str) else None
        if found:
            return found
    request = invocation.request
    if request is not None:
        found = _trace.normalized(request.headers.get("traceparent"))
        if found:
            return found
    found = _trace.normalized(invocation.ctx.traceparent)
    if found:
        return found
    if request is not None:
        headers = request.headers
        found = _trace.from_xray(headers.get("x-amzn-trace-id")) or _trace.from_cloud_trace(
            headers.get("x-cloud-trace-context")
        )
        if found:
            return found
    return _trace.from_xray(os.environ.get("_X_AMZN_TRACE_ID"))


_current: ContextVar[Invocation | None] = ContextVar("portable_fn_invocation", default=None)
_invoked = False  # per process: the first invocation is the cold start


def current() -> Invocation | None:
    """The invocation running in this context, or None outside one."""
    return _current.get()


def _cold() -> bool:
    global _invoked
    if _invoked:
        return False
    _invoked = True
    return True


def current_log_fields(ctx: Context | None = None) -> dict[str, Any]:
    """The fields every log line of an invocation carries (``ctx`` defaults to the current)."""
    invocation = _current.get()
    if ctx is None:
        if invocation is None:
            return {}
        ctx = invocation.ctx
    own = invocation is not None and invocation.ctx is ctx
    fields: dict[str, Any] = {
        # The routed function's name: an adapter serving many routes from one entry builds the
        # context before it knows which function the request reaches.
        "function": invocation.function.name if own and invocation else ctx.function_name,
        "provider": ctx.provider,
        "invocation_id": ctx.invocation_id,
    }
    if invocation is not None and own:
        fields["cold_start"] = invocation.cold_start
        event = invocation.event
        if event is not None:
            fields["event_id"] = event.id
            fields["event_type"] = event.type
        fields["correlation_id"] = invocation.correlation_id
        fields["trace_id"] = invocation.trace_id
    elif ctx.trace_id is not None:
        fields["trace_id"] = fields["correlation_id"] = ctx.trace_id
    return fields


# -- running coroutines from sync adapters ----------------------------------------------------

_loop: Any = None


def run_sync(awaitable: Awaitable[Any]) -> Any:
    """Run an async handler's coroutine from a synchronous adapter (Lambda, functions-framework).

    One event loop per process is kept, not one per call: ``asyncio.run`` would build and tear
    down a loop on every invocation. asyncio is imported on first use only.
    """
    global _loop
    import asyncio

    if _loop is None or _loop.is_closed():
        _loop = asyncio.new_event_loop()
    coroutine: Coroutine[Any, Any, Any] = awaitable  # type: ignore[assignment]
    return _loop.run_until_complete(coroutine)


# -- HTTP -------------------------------------------------------------------------------------


def _error_response(error: HTTPError) -> Response:
    response = Response.json(error.body(), status=error.status)
    extra = error.headers()
    if extra:
        return Response(
            status=response.status, headers=response.headers.merged(extra), body=response.body
        )
    return response


def _enter(invocation: Invocation) -> tuple[Token[Invocation | None], _observe.Observation | None]:
    """Make ``invocation`` the current one (for pf.publish and loggers) and start observing."""
    return _current.set(invocation), _observe.begin(invocation)


def _http_failure(ctx: Context, exc: Exception) -> Response:
    """A handler's exception as a response: its own status for an ``HTTPError``, else a 500
    that says nothing of the code (the stack goes to the log)."""
    if isinstance(exc, HTTPError):
        return _error_response(exc)
    return _internal_error(ctx, exc)


def _internal_error(ctx: Context, exc: BaseException) -> Response:
    Logger(current_log_fields(ctx)).exception("unhandled error in HTTP handler", exc=exc)
    return Response.json({"error": {"status": 500, "message": "internal server error"}}, status=500)


def _resolve(app: App, request: Request, function: str | None) -> tuple[Function, Request]:
    if function is None:
        fn, params = app.match(request.method, request.path)
    else:
        fn = app.function(function)
        trigger = fn.trigger
        if not isinstance(trigger, Http):
            raise NotFound(f"function {function!r} is not an HTTP function")
        found = fn.match_path(request.path)
        if found is None:
            raise NotFound(f"no route for {request.path}")
        params = found
        method = request.method
        if method not in trigger.methods and not (method == "HEAD" and "GET" in trigger.methods):
            raise MethodNotAllowed(f"{method} is not allowed", allowed=trigger.methods)
    if params:
        request = request.with_path_params(params)
    return fn, request


def dispatch_http(
    app: App, request: Request, ctx: Context, function: str | None = None
) -> Response:
    """Route and run an HTTP request; always returns a ``Response``."""
    try:
        fn, request = _resolve(app, request, function)
    except HTTPError as exc:
        return _error_response(exc)
    token, observation = _enter(Invocation(app, fn, ctx, None, _cold(), request))
    error: Exception | None = None
    try:
        result = fn.call(request, ctx)
        if fn.is_async:
            result = run_sync(result)
        response = to_response(result)
    except Exception as exc:
        error, response = exc, _http_failure(ctx, exc)
    finally:
        _current.reset(token)
    if observation is not None:
        observation.end(error if response.status >= 500 else None, response.status)
    return response


async def dispatch_http_async(
    app: App,
    request: Request,
    ctx: Context,
    function: str | None = None,
    *,
    offload: Callable[[Callable[[], Any]], Awaitable[Any]] | None = None,
) -> Response:
    """The async twin; ``offload`` runs a sync handler off the event loop (a thread pool)."""
    try:
        fn, request = _resolve(app, request, function)
    except HTTPError as exc:
        return _error_response(exc)
    token, observation = _enter(Invocation(app, fn, ctx, None, _cold(), request))
    error: Exception | None = None
    try:
        if fn.is_async:
            result = await fn.call(request, ctx)
        elif offload is not None:
            result = await offload(_bound(fn, request, ctx))
        else:
            result = fn.call(request, ctx)
        response = to_response(result)
    except Exception as exc:
        error, response = exc, _http_failure(ctx, exc)
    finally:
        _current.reset(token)
    if observation is not None:
        observation.end(error if response.status >= 500 else None, response.status)
    return response


def _bound(fn: Function, value: Any, ctx: Context) -> Callable[[], Any]:
    import contextvars

    # Run in a copy of this context so pf.publish inside a thread sees the invocation.
    context = contextvars.copy_context()
    return lambda: context.run(fn.call, value, ctx)


# -- events -----------------------------------------------------------------------------------


def _skips(fn: Function, event: CloudEvent) -> bool:
    """Whether the trigger's filter rejects this event (it is acknowledged, not run)."""
    trigger = fn.trigger
    if isinstance(trigger, Storage):
        data = event.data if isinstance(event.data, Mapping) else {}
        return not trigger.accepts(str(data.get("key", "")), str(data.get("action", "")))
    if isinstance(trigger, Event):
        return not trigger.matches(event.type, event.source)
    return False


def _failure(ctx: Context, exc: Exception) -> Outcome:
    retryable = not isinstance(
        exc, NonRetryable | UnprocessableEntity | EventDecodeError | InvalidCloudEventError
    )
    Logger(current_log_fields(ctx)).exception(
        "event handler failed" + ("" if retryable else " (not retryable)"), exc=exc
    )
    return Outcome(False, exc, retryable)


def dispatch_event(app: App, function: str, event: CloudEvent, ctx: Context) -> Outcome:
    """Run an event function on one event; always returns an ``Outcome``."""
    try:
        fn = app.function(function)
    except PortableFnError as exc:
        return Outcome(False, exc, False)
    return run_event(app, fn, event, ctx)


_FILTERED = (Storage, Event)


def run_event(app: App, fn: Function, event: CloudEvent, ctx: Context) -> Outcome:
    """``dispatch_event`` with the function already looked up: what a batch adapter runs per
    message, having resolved ``app.function(name)`` once for the whole batch."""
    if isinstance(fn.trigger, _FILTERED) and _skips(fn, event):
        return OK
    invocation = Invocation(app, fn, ctx, event, _cold())
    token = _current.set(invocation)
    observation = _observe.begin(invocation)
    try:
        result = fn.call(event, ctx)
        if fn.is_async:
            run_sync(result)
        outcome = OK
    except Exception as exc:
        outcome = _failure(ctx, exc)
    finally:
        _current.reset(token)
    if observation is not None:
        observation.end(outcome.error)
    return outcome


async def dispatch_event_async(
    app: App,
    function: str,
    event: CloudEvent,
    ctx: Context,
    *,
    offload: Callable[[Callable[[], Any]], Awaitable[Any]] | None = None,
) -> Outcome:
    """The async twin of ``dispatch_event``."""
    try:
        fn = app.function(function)
    except PortableFnError as exc:
        return Outcome(False, exc, False)
    if _skips(fn, event):
        return OK
    token, observation = _enter(Invocation(app, fn, ctx, event, _cold()))
    try:
        if fn.is_async:
            await fn.call(event, ctx)
        elif offload is not None:
            await offload(_bound(fn, event, ctx))
        else:
            fn.call(event, ctx)
        outcome = OK
    except Exception as exc:
        outcome = _failure(ctx, exc)
    finally:
        _current.reset(token)
    if observation is not None:
        observation.end(outcome.error)
    return outcome


class Batch:
    """One function run over the messages of one native batch (an SQS receive, a stream shard,
    a Storage Queue batch): ``run(event, ctx)`` is ``run_event`` with the per-invocation work
    done once for the batch.

    Use as ``with Batch(app, fn, ctx) as batch: outcome = batch.run(event, ctx)`` (``ctx`` the
    batch's own; a message may bring another, e.g. per SQS receive count). The current
    invocation is set once; each message only swaps its event and context on it, so log lines
    and ``pf.publish`` see each message as its own (and lines the adapter writes after a
    message, about its redelivery, still name it). That is most of what a batch of small
    messages costs: building and entering an invocation per message doubled it. Async handlers
    get an invocation of their own per message, as tasks they start may outlive the message.
    """

    __slots__ = ("_call", "_cold", "_filtered", "_invocation", "_token", "app", "fn")

    def __init__(self, app: App, fn: Function, ctx: Context) -> None:
        self.app = app
        self.fn = fn
        self._call = fn.call
        self._filtered = isinstance(fn.trigger, _FILTERED)
        self._cold = _cold()
        self._invocation = Invocation(app, fn, ctx, None, self._cold)
        self._token: Token[Invocation | None] | None = None

    def __enter__(self) -> Batch:
        self._token = _current.set(self._invocation)
        return self

    def __exit__(self, *_: object) -> None:
        if self._token is not None:
            _current.reset(self._token)
            self._token = None

    def run(self, event: CloudEvent, ctx: Context) -> Outcome:
        """Run the function on one message of the batch; always returns an ``Outcome``."""
        fn = self.fn
        if fn.is_async or self._token is None:
            return run_event(self.app, fn, event, ctx)
        if self._filtered and _skips(fn, event):
            return OK
        invocation = self._invocation
        invocation.event = event
        invocation.ctx = ctx
        invocation._trace = None
        invocation.cold_start = self._cold
        self._cold = False
        observation = _observe.begin(invocation)
        try:
            self._call(event, ctx)
            outcome = OK
        except Exception as exc:
            outcome = _failure(ctx, exc)
        if observation is not None:
            observation.end(outcome.error)
        return outcome

    def undecodable(
        self, ctx: Context, error: BaseException, message: str = "could not decode message"
    ) -> Outcome:
        """Log a message that could not be decoded (so no event to name) and fail it for good:
        the same bytes will not decode on a retry either."""
        invocation = self._invocation
        invocation.event = None
        invocation.ctx = ctx
        invocation._trace = None
        Logger(current_log_fields(ctx)).exception(message, exc=error)
        return Outcome(False, error, False)


def dispatch_batch(
    app: App,
    function: str,
    items: Sequence[Callable[[], CloudEvent]],
    ctx_for: Callable[[int], Context],
) -> list[Outcome]:
    """Run a batch: one decode thunk per native record, one outcome per record, in order.

    A record that cannot be decoded fails alone (not retryable: the same bytes will not decode
    next time either); the others run.
    """
    try:
        fn = app.function(function)
    except PortableFnError as exc:
        return [Outcome(False, exc, False) for _ in items]
    outcomes: list[Outcome] = []
    append = outcomes.append
    if not items:
        return outcomes
    with Batch(app, fn, ctx_for(0)) as batch:
        for index, item in enumerate(items):
            try:
                event = item()
            except PortableFnError as exc:
                append(batch.undecodable(ctx_for(index), exc))
                continue
            append(batch.run(event, ctx_for(index)))
    return outcomes
