# SPDX-License-Identifier: Apache-2.0
"""The trace a delivery request belongs to, for ``Context.traceparent``.

Cloud Run (which runs Cloud Run functions) adds ``traceparent`` and ``X-Cloud-Trace-Context`` to
every incoming request, an Eventarc or Pub/Sub push delivery included:
https://cloud.google.com/run/docs/trace . An HTTP function's ``Request`` carries them and the
core reads them there; an event function has no ``Request``, so the adapter hands the trace over
as ``ctx.traceparent``. An event's own ``traceparent`` extension (set by its producer) still
comes first: the core prefers it.

``traceparent`` follows W3C Trace Context (https://www.w3.org/TR/trace-context/#traceparent-header):
version ``ff`` is invalid, and a later version than ``00`` is read by its first four fields
(anything after them is that version's own) and passed on as a version ``00`` header.

``X-Cloud-Trace-Context`` is ``TRACE_ID/SPAN_ID;o=OPTIONS``, with a decimal span id:
https://cloud.google.com/trace/docs/trace-context#legacy-http-header .
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portable_fn import _trace

__all__ = ["delivery_traceparent"]


def delivery_traceparent(environ: Mapping[str, Any] | None) -> str | None:
    """A W3C ``traceparent`` from a WSGI environ's trace headers, or None: read by the core's
    own rules, as an HTTP function's request headers are (``X-Cloud-Trace-Context`` without
    its span or options, ``TRACE_ID;o=1``, continues the trace from a new span)."""
    if environ is None:
        return None
    w3c = environ.get("HTTP_TRACEPARENT")
    found = _trace.normalized(w3c) if isinstance(w3c, str) else None
    if found is None:
        legacy = environ.get("HTTP_X_CLOUD_TRACE_CONTEXT")
        found = _trace.from_cloud_trace(legacy) if isinstance(legacy, str) else None
    return found
