# SPDX-License-Identifier: Apache-2.0
"""The invocation in progress: what ``pf.publish``, loggers and ``ctx.trace_id`` read.

The dispatcher makes each invocation current in a context variable for the length of the
handler's run (a ``Batch`` once per native batch, swapping the message on it). Its trace and
correlation id are worked out on first use, so an invocation that neither logs nor publishes
pays nothing for them.
"""

from __future__ import annotations

import os
import sys
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from portable_fn import _trace
from portable_fn.events import CloudEvent
from portable_fn.http import Request
from portable_fn.log import Logger, gcp_project

if TYPE_CHECKING:
    from portable_fn.app import App, Function
    from portable_fn.context import Context

__all__ = ["Invocation", "current", "current_log_fields", "event_logger", "invocation_logger"]


class Invocation:
    """The invocation in progress on this thread/task, read by ``pf.publish`` and loggers."""

    __slots__ = (
        "_ambient", "_appended", "_logger", "_published", "_trace", "app", "cold_start", "ctx",
        "event", "function", "request",
    )

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
        self._ambient: tuple[Context, str | None] | None = None
        # The event the counts below are for, and how many events it published per
        # destination (``published_id``): a batch swaps the event, which restarts them.
        # The event whose publishes are counted, the count per publish, and what each derived
        # id was counted as (so a publish that failed can give its place back).
        self._published: tuple[CloudEvent, dict[str, int], dict[str, str]] | None = None
        # Log fields the handler appended (``pf.logger.append_keys``), with the event they are
        # for: a batch swaps the event, and the next message's lines must not carry them.
        self._appended: tuple[CloudEvent | None, dict[str, Any]] | None = None
        # The logger of the message running, with what its fields were worked out from.
        self._logger: tuple[CloudEvent | None, Context, bool, str | None, Logger] | None = None

    @property
    def traceparent(self) -> str:
        """This invocation's W3C traceparent, worked out on first use (a log line or a publish)
        so invocations that need neither pay nothing. A message that carries no trace and runs
        in no traced context starts a trace of its own."""
        if self._trace is None:
            own = _own_trace(self)
            self._trace = (
                own[0] if own is not None else self._ambient_trace() or _trace.new_traceparent()
            )
        return self._trace

    @property
    def tracestate(self) -> str | None:
        """The ``tracestate`` that came with the traceparent the event or request itself
        carries; None when the trace came from elsewhere (X-Ray, Cloud Trace, a new one): a
        tracestate is never read without its valid traceparent (W3C section 3.3)."""
        own = _own_trace(self)
        if own is None:
            return None
        carrier = own[1]
        if isinstance(carrier, Request):
            return _trace.tracestate(carrier.headers.getall("tracestate"))
        state = carrier.extensions.get("tracestate")
        return _trace.tracestate((state,)) if isinstance(state, str) else None

    def _ambient_trace(self) -> str | None:
        """The trace of the context the message runs in, worked out once per context: the
        messages of a batch (one Lambda invocation, one ``_X_AMZN_TRACE_ID``) that log would
        otherwise each read the environment again."""
        ctx = self.ctx
        ambient = self._ambient
        if ambient is None or ambient[0] is not ctx:
            ambient = self._ambient = (ctx, _context_trace(self))
        return ambient[1]

    def published_id(
        self, kind: str, destination: str, type: str, data: Any, attributes: Any = None
    ) -> str | None:
        """The id of an event published to ``destination`` (a ``kind`` of "topic", "queue" or
        "event") without one of its own, or None outside an event (a request's publishes are
        new events each time: random ids).

        Delivery is at least once, and a handler retried after it published publishes again:
        with new random ids a consumer could not tell the copies from new events (source + id
        is the spec's duplicate rule, which ``idempotent=True``, SQS FIFO and Service Bus
        de-duplicate by). So the id is derived from the triggering event (source and id), the
        app and function, and what is published (destination, type, data, and ``attributes``:
        the subject, source, content type and extensions the handler gave), counted among the
        run's publishes of that same event: a retry's copy gets the first attempt's id, and
        anything else (another type, data or subject, another app's function) another id,
        which no consumer may take for a copy. UUID-shaped (RFC 9562 version 8). A publish
        that fails gives its place back (``release_published``): sent again, it is the same.
        """
        event = self.event
        if event is None:
            return None
        import hashlib  # on the first publish only (that imports a cloud SDK anyway)
        import json

        try:
            body = json.dumps(data, sort_keys=True, separators=(",", ":"), default=_stable)
            if attributes:
                body += "\x1f" + json.dumps(
                    attributes, sort_keys=True, separators=(",", ":"), default=_stable)
        except (TypeError, ValueError, RecursionError):  # keys of mixed types, a cycle
            body = repr(data) + ("\x1f" + repr(attributes) if attributes else "")
        what = "\x1f".join((kind, destination, type, body))
        published = self._published
        if published is None or published[0] is not event:
            published = self._published = (event, {}, {})
        counts = published[1]
        index = counts.get(what, 0)
        counts[what] = index + 1
        seed = "\x1f".join(
            (event.source, event.id, self.app.name, self.function.name, what, str(index))
        )
        digest = bytearray(
            hashlib.blake2b(seed.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        )
        digest[6] = (digest[6] & 0x0F) | 0x80
        digest[8] = (digest[8] & 0x3F) | 0x80
        h = digest.hex()
        derived = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        published[2][derived] = what
        return derived

    def release_published(self, derived: str) -> None:
        """Give back the place of a derived id whose publish failed: the handler sending the
        same event again (a retry of its own, after a timeout the service may have outlived)
        gets the same id, so a copy that did arrive is still recognised as one."""
        published = self._published
        if published is None or published[0] is not self.event:
            return
        what = published[2].pop(derived, None)
        if what is not None and published[1].get(what, 0) > 0:
            published[1][what] -= 1

    def append_keys(self, fields: dict[str, Any]) -> None:
        """Log ``fields`` on every later line of this invocation (``pf.logger.append_keys``)."""
        appended = self._appended
        if appended is None or appended[0] is not self.event:
            appended = self._appended = (self.event, {})
        appended[1].update(fields)
        self._logger = None  # the kept logger's fields are worked out again, with them

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
            found = _first_value(headers.get("x-correlation-id")) or _first_value(
                headers.get("x-request-id")
            )
            if found:
                return found
        return self.trace_id


# The longest correlation id taken from a client: ids are UUIDs or similar tokens, and the
# value goes onto every log line of the invocation and every event it publishes.
_MAX_CORRELATION = 128


def _first_value(header: str | None) -> str | None:
    """A request header's first value, if it can be a correlation id: printable ASCII, at most
    128 characters (anything else, which a client may send to fill or forge log lines, is
    replaced by the trace id). A repeated header reaches some adapters as separate lines and
    others as one line joined with commas (RFC 9110 section 5.3): HTTP API's payload, Azure's
    host and the Workers ``Headers`` object join them, API Gateway REST and ALB keep them
    apart. The first value of either is the same id on every provider."""
    if not header:
        return None
    value = header.split(",", 1)[0].strip() if "," in header else header
    if len(value) > _MAX_CORRELATION or not (value.isascii() and value.isprintable()):
        return None
    return value


def _own_trace(invocation: Invocation) -> tuple[str, CloudEvent | Request] | None:
    """The trace the event or request itself continues, with which of them carries it, most
    specific first: the event's own ``traceparent`` (what portable-fn propagated end to end),
    then the request's W3C header."""
    event = invocation.event
    if event is not None:
        value = event.extensions.get("traceparent")
        found = _trace.normalized(value) if isinstance(value, str) else None
        if found:
            return found, event
    request = invocation.request
    if request is not None:
        values = request.headers.getall("traceparent")
        # Two traceparent headers are no trace to continue (W3C trace-context's test suite,
        # test_traceparent_duplicated): which of them is the caller's cannot be told.
        found = _trace.normalized(values[0]) if len(values) == 1 else None
        if found:
            return found, request
    return None


def _context_trace(invocation: Invocation) -> str | None:
    """The trace around it, when the event or request brings none: what the adapter found
    natively (``ctx.traceparent``), the platforms' own request headers, and Lambda's
    per-invocation ``_X_AMZN_TRACE_ID``."""
    request = invocation.request
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


def _stable(value: Any) -> str:
    """What a published id derives from a value JSON cannot hold: its repr, a memoryview's
    of its bytes (its own repr holds its address, new on every attempt)."""
    return repr(bytes(value) if isinstance(value, memoryview) else value)


def current() -> Invocation | None:
    """The invocation running in this context, or None outside one."""
    return _current.get()


def _cold() -> bool:
    global _invoked
    if _invoked:
        return False
    _invoked = True
    _bridge_stdlib_logging()
    return True


def _bridge_stdlib_logging() -> None:
    """The standard ``logging`` module's records as JSON lines (``_stdlib_log``), set up
    once a process at its first invocation: the app and what it imports are loaded by then, a
    platform's own root handler (Lambda's, Azure's) is in place, and warm invocations pay
    nothing. Only if ``logging`` was imported: a process that never imported it has no record
    to write, and importing it here would cost the cold start."""
    if "logging" in sys.modules:
        from portable_fn._stdlib_log import install

        install()


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
            # Which delivery of it: a retry's lines are told from the first attempt's (on
            # Cloudflare both have the message id for invocation id).
            fields["attempt"] = ctx.attempt
        fields["correlation_id"] = invocation.correlation_id
        fields["trace_id"] = invocation.trace_id
        appended = invocation._appended
        if appended is not None and appended[0] is invocation.event:
            fields.update(appended[1])
        if gcp_project():
            # Cloud Logging files the line under this span of the trace, as the Google Cloud
            # logging library's StructuredLogHandler does: the span the request or event came
            # from (https://cloud.google.com/logging/docs/structured-logging#special-payload-fields).
            parent = invocation.traceparent
            fields["logging.googleapis.com/spanId"] = parent[36:52]
            fields["logging.googleapis.com/trace_sampled"] = int(parent[53:55], 16) & 1 == 1
    elif ctx.trace_id is not None:
        fields["trace_id"] = fields["correlation_id"] = ctx.trace_id
    return fields


def invocation_logger(ctx: Context | None = None) -> Logger:
    """A logger bound to ``current_log_fields(ctx)``. Inside an invocation it is kept until the
    message, context, cold start or trace changes: a handler's second line and later reuse its
    fields and their JSON, encoded on the first line (half of a line's cost)."""
    invocation = _current.get()
    if invocation is None or (ctx is not None and ctx is not invocation.ctx):
        return Logger(current_log_fields(ctx))
    cached = invocation._logger
    if (
        cached is not None
        and cached[0] is invocation.event
        and cached[1] is invocation.ctx
        and cached[2] is invocation.cold_start
        and cached[3] is invocation._trace
    ):
        return cached[4]
    logger = Logger(current_log_fields())
    # Keyed by the trace as it is now that the fields have worked it out.
    invocation._logger = (
        invocation.event, invocation.ctx, invocation.cold_start, invocation._trace, logger
    )
    return logger


def event_logger(app: App, function: Function, event: CloudEvent, ctx: Context) -> Logger:
    """A logger with the fields the lines of ``function`` running ``event`` carried (its event
    id, correlation and trace ids), for an adapter's line about that event once its run is
    over: the message moved to a dead-letter topic. Without them it fell back to the
    delivery's own trace, and a search on the correlation id missed the final line."""
    token = _current.set(Invocation(app, function, ctx, event, False))
    try:
        return Logger(current_log_fields(ctx))
    finally:
        _current.reset(token)
