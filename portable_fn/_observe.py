# SPDX-License-Identifier: Apache-2.0
"""Per-invocation observers, both off unless configured, so they cost nothing by default.

- OpenTelemetry: active when the application has imported ``opentelemetry.trace`` and installed a
  real ``TracerProvider``; never imported by portable-fn itself (``_otel`` does the work).
- Metrics (invocations, errors, duration, cold starts): ``PORTABLE_FN_METRICS=on``; written as
  CloudWatch Embedded Metric Format on AWS (https://docs.aws.amazon.com/AmazonCloudWatch/latest/
  monitoring/CloudWatch_Embedded_Metric_Format_Specification.html), as a structured log line
  elsewhere (log-based metrics in Cloud Logging, Application Insights, Workers Logs).
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, Any

from portable_fn.log import Logger

if TYPE_CHECKING:
    from portable_fn._invocation import Invocation

_metrics_on: bool | None = None


def _metrics_enabled() -> bool:
    global _metrics_on
    if _metrics_on is None:
        value = os.environ.get("PORTABLE_FN_METRICS", "").strip().lower()
        _metrics_on = value in ("1", "true", "on", "yes")
    return _metrics_on


def reset() -> None:
    """Read the configuration again (tests)."""
    global _metrics_on
    _metrics_on = None


def _otel_active() -> bool:
    module = sys.modules.get("opentelemetry.trace")
    if module is None:
        return False
    from portable_fn import _otel

    return _otel.active(module)


class Observation:
    """One invocation being observed; ``end`` records its result."""

    __slots__ = ("invocation", "metrics", "span", "started")

    def __init__(self, invocation: Invocation, span: Any, metrics: bool) -> None:
        self.invocation = invocation
        self.span = span
        self.metrics = metrics
        self.started = time.perf_counter()

    def end(self, error: BaseException | None, status: int | None = None) -> None:
        duration_ms = (time.perf_counter() - self.started) * 1000
        if self.span is not None:
            from portable_fn import _otel

            _otel.end_span(self.span, error, status)
        if self.metrics:
            _emit_metrics(self.invocation, error is not None or (status or 0) >= 500,
                          duration_ms)


def idle() -> bool:
    """Whether ``begin`` returns None whatever the invocation: no metrics, no OpenTelemetry
    imported. A batch asks once instead of once a message."""
    return not _metrics_enabled() and "opentelemetry.trace" not in sys.modules


def begin(invocation: Invocation) -> Observation | None:
    """Start observing, or None (the common case) when nothing is configured."""
    if _metrics_on is False and "opentelemetry.trace" not in sys.modules:
        return None  # the hot path: two lookups
    metrics = _metrics_enabled()
    span = None
    if _otel_active():
        from portable_fn import _otel

        span = _otel.start_span(invocation)
    if span is None and not metrics:
        return None
    return Observation(invocation, span, metrics)


def publish_traceparent(invocation: Invocation, destination: str, kind: str) -> str | None:
    """The traceparent for an event published from ``invocation``: a PRODUCER span's when
    OpenTelemetry is active, else None (the caller makes a plain child span id)."""
    if not _otel_active():
        return None
    from portable_fn import _otel

    return _otel.producer_traceparent(invocation, destination, kind)


# The built-in metrics' CloudWatch units, written as EMF by ``metrics._emf`` as pf.metric's are.
_UNITS = {
    "Invocations": "Count", "Errors": "Count", "Duration": "Milliseconds", "ColdStart": "Count",
}


def _emit_metrics(invocation: Invocation, failed: bool, duration_ms: float) -> None:
    ctx = invocation.ctx
    values = {
        "Invocations": 1,
        "Errors": 1 if failed else 0,
        "Duration": round(duration_ms, 3),
        "ColdStart": 1 if invocation.cold_start else 0,
    }
    # The function that ran, as the log lines and the span name it: an adapter serving every
    # route from one entry names the entry in its context, or nothing (a Worker's fetch).
    dimensions = {"service": invocation.app.name, "function": invocation.function.name}
    # Written whatever the log level: a quieter log must not switch the metrics off.
    if ctx.provider == "aws":
        from portable_fn.metrics import _emf  # loaded with the first metrics written

        _emf("portable-fn metrics", "portable-fn", dimensions, values, _UNITS)
    else:
        Logger().emit("INFO", "portable-fn metrics", metrics=values, provider=ctx.provider,
                    **dimensions)
