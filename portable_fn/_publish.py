# SPDX-License-Identifier: Apache-2.0
"""``pf.publish``, ``pf.send``, ``pf.emit``: build the CloudEvent, hand it to the app's publisher.

The publisher is what the adapter (or the local runtime) installed with ``app.use_publisher``;
inside an invocation the app is found through the dispatch's context variable, so handlers call
``pf.publish(...)`` with no plumbing. The current ``traceparent`` travels on every event, with
the ``tracestate`` that came with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from portable_fn import _observe, _trace
from portable_fn._invocation import current
from portable_fn.errors import PublishError
from portable_fn.events import CloudEvent, ExtensionValue

if TYPE_CHECKING:
    from portable_fn.adapter import Publisher
    from portable_fn.app import App

__all__ = ["emit", "publish", "send"]


def _content_type(data: Any, given: str | None) -> str | None:
    if given is not None or data is None:
        return given
    if isinstance(data, bytes | bytearray | memoryview):
        return "application/octet-stream"
    if isinstance(data, str):
        return "text/plain; charset=utf-8"
    return "application/json"


def _target(app: App | None) -> tuple[App, Publisher, str]:
    invocation = current()
    target = app or (invocation.app if invocation is not None else None)
    if target is None:
        raise PublishError(
            "no app to publish from: call inside a handler, or pass app=..."
        )
    publisher = target.publisher
    if publisher is None:
        raise PublishError(
            f"app {target.name!r} has no publisher installed; run it through an adapter, "
            "the local runtime, or app.use_publisher(...) in tests"
        )
    if invocation is not None and invocation.app is target:
        source = f"/portable-fn/{target.name}/{invocation.function.name}"
    else:
        source = f"/portable-fn/{target.name}"
    return target, publisher, source


def _build(
    kind: str,
    destination: str,
    source: str,
    type: str,
    data: Any,
    *,
    given_source: str | None,
    subject: str | None,
    id: str | None,
    datacontenttype: str | None,
    extensions: Mapping[str, ExtensionValue] | None,
) -> CloudEvent:
    merged: dict[str, ExtensionValue] = dict(extensions or {})
    invocation = current()
    if invocation is not None and "traceparent" not in merged:
        # A child span of this invocation's trace: one trace id follows every fan-out hop.
        merged["traceparent"] = _observe.publish_traceparent(
            invocation, destination, kind
        ) or _trace.child(invocation.traceparent)
        # The vendors' state of that trace goes with it (W3C 3.3); with a traceparent of the
        # caller's own, the caller's tracestate or none.
        state = invocation.tracestate
        if state is not None and "tracestate" not in merged:
            merged["tracestate"] = state
    if invocation is not None and "correlationid" not in merged:
        # The correlation extension carries the id the consumer logs as correlation_id; when
        # there is none but the trace id, traceparent already carries that.
        correlation = invocation.correlation_id
        if correlation != invocation.trace_id:
            merged["correlationid"] = correlation
    if invocation is not None and invocation.event is not None and "causationid" not in merged:
        # The correlation extension's other half: the id of the event that caused this one
        # (cloudevents/spec cloudevents/extensions/correlation.md), so a fan-out chain can be
        # walked hop by hop. A request is no event: what an HTTP handler publishes has none.
        merged["causationid"] = invocation.event.id
    kwargs: dict[str, Any] = {}
    if merged:
        kwargs["extensions"] = merged
    if id is None and invocation is not None:
        # The same on a retry. What the handler gave besides the data tells two events apart
        # (one per subject, say); what is derived per attempt (trace, causation) must not.
        given = {name: value for name, value in (
            ("subject", subject), ("source", given_source),
            ("datacontenttype", datacontenttype), ("extensions", extensions or None),
        ) if value is not None}
        id = invocation.published_id(kind, destination, type, data, given)
    return CloudEvent.create(
        type=type,
        source=given_source or source,
        data=data,
        id=id,
        subject=subject,
        datacontenttype=_content_type(data, datacontenttype),
        **kwargs,
    )


def publish(
    topic: str,
    data: Any = None,
    *,
    type: str | None = None,
    source: str | None = None,
    subject: str | None = None,
    id: str | None = None,
    datacontenttype: str | None = None,
    extensions: Mapping[str, ExtensionValue] | None = None,
    app: App | None = None,
) -> CloudEvent:
    """Publish ``data`` to ``topic``: every subscriber (``@app.topic(topic)``) gets it.

    Returns the CloudEvent sent; subscribers receive it with this ``id``, ``type``, ``source``.
    """
    target, publisher, default_source = _target(app)
    event = _build("topic", topic, default_source, type or f"{target.name}.{topic}", data,
                   given_source=source, subject=subject, id=id,
                   datacontenttype=datacontenttype, extensions=extensions)
    try:
        publisher.publish(topic, event)
    except BaseException:
        _release(event, id)
        raise
    return event


def send(
    queue: str,
    data: Any = None,
    *,
    type: str | None = None,
    source: str | None = None,
    subject: str | None = None,
    id: str | None = None,
    datacontenttype: str | None = None,
    extensions: Mapping[str, ExtensionValue] | None = None,
    delay: float | None = None,
    app: App | None = None,
) -> CloudEvent:
    """Send ``data`` to ``queue``: one consumer (``@app.queue(queue)``) processes it,
    optionally after ``delay`` seconds."""
    if delay is not None and (
        isinstance(delay, bool)
        or not isinstance(delay, int | float)
        or not 0 <= delay < float("inf")  # nan fails the comparison too
    ):
        # Every provider that delays refuses this (SQS, Cloudflare Queues); the local broker
        # and the test recorder took it, so it failed first in the cloud.
        raise PublishError(f"delay must be 0 or more seconds, got {delay!r}")
    target, publisher, default_source = _target(app)
    event = _build("queue", queue, default_source, type or f"{target.name}.{queue}", data,
                   given_source=source, subject=subject, id=id,
                   datacontenttype=datacontenttype, extensions=extensions)
    try:
        publisher.send(queue, event, delay=delay)
    except BaseException:
        _release(event, id)
        raise
    return event


def emit(
    type: str,
    data: Any = None,
    *,
    source: str | None = None,
    subject: str | None = None,
    id: str | None = None,
    datacontenttype: str | None = None,
    extensions: Mapping[str, ExtensionValue] | None = None,
    app: App | None = None,
) -> CloudEvent:
    """Put an event of ``type`` on the event bus; ``@app.event(type)`` functions receive it."""
    _, publisher, default_source = _target(app)
    event = _build("event", type, default_source, type, data, given_source=source,
                   subject=subject, id=id,
                   datacontenttype=datacontenttype, extensions=extensions)
    try:
        publisher.emit(event)
    except BaseException:
        _release(event, id)
        raise
    return event


def _release(event: CloudEvent, given_id: str | None) -> None:
    """A publish that failed gives its derived id's place back (``release_published``)."""
    if given_id is None:
        invocation = current()
        if invocation is not None:
            invocation.release_published(event.id)
