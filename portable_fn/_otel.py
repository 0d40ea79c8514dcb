# SPDX-License-Identifier: Apache-2.0
"""OpenTelemetry spans for invocations and publishes, with the FaaS and messaging semantic
conventions (https://opentelemetry.io/docs/specs/semconv/faas/faas-spans/,
https://opentelemetry.io/docs/specs/semconv/messaging/messaging-spans/).

Loaded only when the application has already imported ``opentelemetry.trace``; the W3C
``traceparent`` of each invocation is the parent context, so spans of every hop (HTTP ->
topic -> queue) join one trace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from portable_fn._invocation import Invocation

_FAAS_TRIGGER = {
    "http": "http",
    "queue": "pubsub",
    "topic": "pubsub",
    "event": "pubsub",
    "stream": "datasource",
    "storage": "datasource",
    "schedule": "timer",
}
_CLOUD_PROVIDER = {"aws": "aws", "azure": "azure", "gcp": "gcp", "cloudflare": "cloudflare"}
_MESSAGING_SYSTEM = {
    "aws": {"queue": "aws_sqs", "topic": "aws_sns", "event": "aws_eventbridge"},
    "azure": {"queue": "azure_storage_queue", "topic": "servicebus", "event": "eventgrid"},
    "gcp": {"queue": "gcp_pubsub", "topic": "gcp_pubsub", "event": "gcp_pubsub"},
    "cloudflare": {"queue": "cloudflare_queues", "topic": "cloudflare_queues"},
}


def active(module: Any) -> bool:
    """Whether a real TracerProvider is installed (not the API's default no-op/proxy one).

    ``module`` may be half-imported (another thread inside ``import opentelemetry.trace``, as
    ``import redis`` triggers): that counts as not active, never as an error in a dispatch."""
    getter = getattr(module, "get_tracer_provider", None)
    if getter is None:
        return False
    try:
        provider = getter()
    except Exception:
        return False
    name = type(provider).__name__
    return name not in ("ProxyTracerProvider", "NoOpTracerProvider")


def _parent(invocation: Invocation) -> Any:
    """The invocation's trace as the parent context, with the ``tracestate`` that came with it."""
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier = {"traceparent": invocation.traceparent}
    state = invocation.tracestate
    if state is not None:
        carrier["tracestate"] = state
    return TraceContextTextMapPropagator().extract(carrier)


def _traceparent_of(span: Any) -> str:
    context = span.get_span_context()
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def start_span(invocation: Invocation) -> Any:
    from opentelemetry import trace

    function = invocation.function
    kind = function.trigger.kind
    provider = invocation.ctx.provider
    attributes: dict[str, Any] = {
        "faas.trigger": _FAAS_TRIGGER.get(kind, "other"),
        "faas.invocation_id": invocation.ctx.invocation_id,
        "faas.name": function.name,
        "faas.coldstart": invocation.cold_start,
        "cloud.provider": _CLOUD_PROVIDER.get(provider, provider),
    }
    event = invocation.event
    if event is not None:
        attributes["messaging.message.id"] = event.id
        attributes["cloudevents.event_id"] = event.id
        attributes["cloudevents.event_type"] = event.type
        attributes["cloudevents.event_source"] = event.source
        system = _MESSAGING_SYSTEM.get(provider, {}).get(kind)
        if system:
            attributes["messaging.system"] = system
        destination = getattr(function.trigger, "name", None)
        if destination:
            attributes["messaging.destination.name"] = destination
        attributes["messaging.operation.type"] = "process"
    request = invocation.request
    if request is not None:
        # Named by the route, never the path: one span name per order id is not a name
        # (https://opentelemetry.io/docs/specs/semconv/http/http-spans/#name).
        route = getattr(function.trigger, "path", None)
        attributes["http.request.method"] = request.method
        attributes["url.path"] = request.path
        if route:
            attributes["http.route"] = route
        name = f"{request.method} {route}" if route else request.method
    else:
        name = f"process {getattr(function.trigger, 'name', function.name)}"
    span_kind = trace.SpanKind.SERVER if request is not None else trace.SpanKind.CONSUMER
    tracer = trace.get_tracer("portable-fn")
    span = tracer.start_span(name, context=_parent(invocation), kind=span_kind,
                             attributes=attributes)
    # Everything logged or published in this invocation now belongs to this span.
    invocation._trace = _traceparent_of(span)
    return span


def end_span(span: Any, error: BaseException | None, status: int | None) -> None:
    from opentelemetry.trace import Status, StatusCode

    from portable_fn._traceback import text as _text

    if status is not None:
        span.set_attribute("http.response.status_code", status)
    if error is not None:
        # The exception's own ``__str__`` may fail: that must not take the dispatch with it
        # (the SDK's ``record_exception`` calls ``str(error)`` unguarded).
        text = _text(error)
        try:
            span.record_exception(error)
        except Exception:
            kind = type(error)
            name = kind.__qualname__ if kind.__module__ == "builtins" else (
                f"{kind.__module__}.{kind.__qualname__}"
            )
            span.add_event("exception", {"exception.type": name, "exception.message": text})
        span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {text}"))
    elif status is not None and status >= 500:
        span.set_status(Status(StatusCode.ERROR))
    span.end()


def producer_traceparent(invocation: Invocation, destination: str, kind: str) -> str:
    from opentelemetry import trace

    tracer = trace.get_tracer("portable-fn")
    provider = invocation.ctx.provider
    attributes = {
        "messaging.destination.name": destination,
        "messaging.operation.type": "send",
        "messaging.system": _MESSAGING_SYSTEM.get(provider, {}).get(kind, provider),
    }
    span = tracer.start_span(f"send {destination}", context=_parent(invocation),
                             kind=trace.SpanKind.PRODUCER, attributes=attributes)
    span.end()
    return _traceparent_of(span)
