# SPDX-License-Identifier: Apache-2.0
"""A log record too long for the platforms, cut to fit one line (``Logger`` calls ``fitted``
only for a line past ``MAX_LINE``)."""

from __future__ import annotations

from typing import Any

from portable_fn.log import MAX_LINE, _encode

__all__ = ["fitted"]


# A line is at most 64 KiB, newline included: Cloud Logging keeps a LogEntry of at most 256 KB
# (https://cloud.google.com/logging/quotas), CloudWatch Logs an event (an EMF document too) of
# at most 256 KB, and Workers Logs 256 KB of log events per invocation
# (https://developers.cloudflare.com/changelog/2025-04-07-increase-trace-events-limit). A longer
# line was cut or refused there, losing its JSON (level, severity, trace) or the entry, and on
# Workers the invocation's later lines; a quarter of the limit leaves room for those lines and
# for the metadata each platform adds to an entry: ``log.MAX_LINE``.
# The line's own members, never cut: what the platforms read the line by.
_WHOLE = frozenset((
    "level", "severity", "timestamp", "logging.googleapis.com/trace",
    "logging.googleapis.com/spanId", "logging.googleapis.com/trace_sampled",
))


def fitted(record: dict[str, Any]) -> str:
    """``record`` as a line under ``MAX_LINE``: each value longer than one length (the
    greatest that fits) cut to it, as text, with how much was cut; the others as they are.
    One length for all keeps the head of each long value (a stack's frames, an error's text)
    rather than emptying the longest first. Only lines past the limit come here."""
    line = _encode(record)
    if len(line) < MAX_LINE:
        return line
    texts = {
        key: value if type(value) is str else _encode(value)
        for key, value in record.items()
        if key not in _WHOLE
    }
    low, high = 0, max(map(len, texts.values()), default=0)
    fitting = _encode(_capped(record, texts, 0))  # as short as it gets: written even if long
    while low < high:  # the greatest length whose line fits
        cap = (low + high + 1) // 2
        line = _encode(_capped(record, texts, cap))
        if len(line) < MAX_LINE:
            low, fitting = cap, line
        else:
            high = cap - 1
    return fitting


def _capped(record: dict[str, Any], texts: dict[str, str], cap: int) -> dict[str, Any]:
    """``record`` with each value whose text is longer than ``cap`` cut to ``cap``."""
    return {
        key: value
        if key not in texts or len(texts[key]) <= cap
        else f"{texts[key][:cap]}... [truncated {len(texts[key]) - cap} characters]"
        for key, value in record.items()
    }
