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

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["delivery_traceparent"]

_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_CLOUD_TRACE = re.compile(r"([0-9a-fA-F]{32})/(\d{1,20})(?:;o=([01]))?")
_ZERO_TRACE = "0" * 32


def delivery_traceparent(environ: Mapping[str, Any] | None) -> str | None:
    """A W3C ``traceparent`` from a WSGI environ's trace headers, or None."""
    if environ is None:
        return None
    w3c = environ.get("HTTP_TRACEPARENT")
    if isinstance(w3c, str):
        match = _TRACEPARENT.fullmatch(w3c.strip())
        if match and _valid(*match.groups()):
            version, trace_id, span_id, flags, _ = match.groups()
            return w3c.strip() if version == "00" else f"00-{trace_id}-{span_id}-{flags}"
    legacy = environ.get("HTTP_X_CLOUD_TRACE_CONTEXT")
    if isinstance(legacy, str):
        match = _CLOUD_TRACE.fullmatch(legacy.strip())
        if match:
            trace_id = match.group(1).lower()
            span = int(match.group(2)) & 0xFFFFFFFFFFFFFFFF
            if trace_id != _ZERO_TRACE and span:
                return f"00-{trace_id}-{span:016x}-{'01' if match.group(3) == '1' else '00'}"
    return None


def _valid(version: str, trace_id: str, span_id: str, flags: str, rest: str | None) -> bool:
    # Version 00 has exactly four fields; ff is forbidden; all-zero ids are invalid.
    if version == "ff" or (version == "00" and rest is not None):
        return False
    return trace_id != _ZERO_TRACE and span_id != "0" * 16
