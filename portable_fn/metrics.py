# SPDX-License-Identifier: Apache-2.0
"""``pf.metric(name, value, unit=, **dimensions)``: a custom metric, one log line per call.

Written at once, never buffered (nothing to flush, nothing lost when the handler then raises),
and whatever the log level (``Logger.emit``: in Lambda at least at the function's log level):

- on AWS, a CloudWatch Embedded Metric Format document (https://docs.aws.amazon.com/
  AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html)
  that CloudWatch Logs turns into the metric: namespace the app's name (or
  ``PORTABLE_FN_METRICS_NAMESPACE``), dimensions ``service`` (the app), ``function`` and the
  given ones;
- elsewhere, a JSON line with ``metric``, ``value``, ``unit``, ``service``, ``function``,
  ``provider`` and the dimensions, for log-based metrics (Cloud Logging) and log queries
  (Application Insights, Workers Logs).

Outside an invocation (module level, a thread the handler started) there is no app: the
dimensions are the given ones only, the namespace ``PORTABLE_FN_METRICS_NAMESPACE`` or
"portable-fn", and the format is EMF when the process runs in Lambda (by its environment).

Loaded on first use of ``pf.metric`` (``portable_fn.__getattr__``), not by ``import
portable_fn``.
"""

from __future__ import annotations

import math
import os
import time

from portable_fn._invocation import current
from portable_fn.log import _RESERVED, Logger, _in_lambda

__all__ = ["UNITS", "metric"]

# EMF's MetricUnit (its JSON schema), CloudWatch's MetricDatum units
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html);
# Powertools' ``MetricUnit`` values are these names. Refused everywhere, not only on AWS, so a
# unit CloudWatch would reject fails in local tests first.
UNITS = (
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
    "Terabits/Second", "Count/Second", "None",
)
_UNITS = frozenset(UNITS)
# EMF: "A DimensionSet MUST NOT contain more than 30 dimension keys" (service and function
# count). CloudWatch's other bounds (a dimension's name 1-255 characters, its value 1-1024:
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Dimension.html) are
# left to CloudWatch, which counts a document it refuses in AWS/Logs EMFValidationErrors.
MAX_DIMENSIONS = 30
# Names the line sets itself (the log line's own keys, EMF's metadata, the JSON line's members):
# a dimension or metric named so would overwrite them (a "level" one, Lambda's log filter).
# ``exc_info`` is stdlib logging's argument, which ``Logger.emit`` takes as one.
_TAKEN = _RESERVED | {
    "_aws", "metric", "value", "unit", "provider", "service", "function", "exc_info",
}
_logger = Logger()
# The code below is kept short: it ships in every AWS deployment zip, whose size is budgeted
# (adapters/aws/tests/test_aws_target.py); comments and docstrings are stripped from it.


def metric(name: str, value: float = 1, *, unit: str = "Count", **dimensions: str) -> None:
    """Write one metric value now, as one log line (see the module docstring for its shape).

    ``unit`` is one of ``UNITS`` (CloudWatch's, as Powertools' ``MetricUnit``). A bad call
    raises at once, on every provider, and writes nothing: an unknown unit, a non-finite value,
    a name out of CloudWatch's bounds or one the line uses itself, or more than 30 dimensions
    (``service`` and ``function`` included inside an invocation) is a ``ValueError``; a value
    that is not a number, or a dimension value that is not a string, a ``TypeError``.
    """
    invocation = current()
    fields: dict[str, str] = {} if invocation is None else {
        # The routed function, as the built-in metrics and the log lines name it.
        "service": invocation.app.name, "function": invocation.function.name,
    }
    _check(name, value, unit, dimensions, len(fields))
    fields.update(dimensions)
    on_aws = _in_lambda() if invocation is None else invocation.ctx.provider == "aws"
    if on_aws:
        # The app's name ("service"), none outside an invocation: the built-in metrics'.
        namespace = os.environ.get("PORTABLE_FN_METRICS_NAMESPACE") or fields.get(
            "service", "portable-fn")
        _emf("portable-fn metric", namespace, fields, {name: value}, {name: unit})
    else:
        if invocation is not None:
            fields["provider"] = invocation.ctx.provider
        _logger.emit("INFO", "portable-fn metric", metric=name, value=value, unit=unit, **fields)


def _emf(message: str, namespace: str, dimensions: dict[str, str], values: dict[str, float],
         units: dict[str, str]) -> None:
    """One EMF document, now: a MetricDirective whose one DimensionSet is every dimension, each
    of ``values`` a metric with its unit in ``units``; the built-in metrics' too (``_observe``).
    """
    _logger.emit("INFO", message, **dimensions, **values, _aws={
        "Timestamp": int(time.time() * 1000),
        "CloudWatchMetrics": [{
            "Namespace": namespace,
            "Dimensions": [list(dimensions)],
            "Metrics": [{"Name": name, "Unit": units[name]} for name in values],
        }],
    })


def _check(name: str, value: float, unit: str, dimensions: dict[str, str], own: int) -> None:
    """Refuse, before writing, what EMF would not make a metric of or a JSON line could not
    hold; ``own`` is how many dimensions portable-fn adds (service, function)."""
    if unit not in _UNITS:
        raise ValueError(f"unit {unit!r} is not one of CloudWatch's: {', '.join(UNITS)}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"metric value {value!r} is not a number")
    if not math.isfinite(value):
        # NaN and the infinities are not JSON numbers: the line would carry them as text.
        raise ValueError(f"metric value {value!r} is not finite")
    if own + len(dimensions) > MAX_DIMENSIONS:
        raise ValueError(f"over {MAX_DIMENSIONS} dimensions (service, function included)")
    # The metric's and the dimensions' names are members of the line's root: none the line has
    # already, no two alike; EMF's schema takes names of 1-255 characters.
    if _TAKEN.intersection((name, *dimensions)) or name in dimensions or not 0 < len(name) < 256:
        raise ValueError(f"metric {name!r}, dimensions {list(dimensions)}: a name of 1-255 "
                         f"characters, names none of {sorted(_TAKEN)} and no two alike")
    for key, text in dimensions.items():
        if not isinstance(text, str):
            # EMF: "A dimension target MUST have a string value".
            raise TypeError(f"dimension {key!r} is not a string")
