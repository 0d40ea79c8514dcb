"""Handler logs in ``portable-fn dev``'s readable output.

Handlers log JSON lines (``portable_fn.log``: the format every provider ingests). With
``--json`` they pass through untouched; in readable mode this sink, installed with
``portable_fn.log.set_stream``, turns each line into a reporter record, so a person reads
``INFO  fulfil: order fulfilled  order_id=...`` and a failure's stack trace, indented.
"""

from __future__ import annotations

import io
import json
import threading
from typing import Any

from portable_fn._local.report import Reporter

# Fields every line carries; the reporter shows the function, the rest is noise locally.
_HIDDEN = frozenset(
    (
        "level",
        "severity",
        "message",
        "timestamp",
        "function",
        "provider",
        "invocation_id",
        "cold_start",
        "event_id",
        "event_type",
        "correlation_id",
        "trace_id",
        "stack",
        "error_type",
    )
)


class ReadableLogs(io.TextIOBase):
    """A write-only text stream that hands complete JSON log lines to the reporter."""

    def __init__(self, reporter: Reporter) -> None:
        super().__init__()
        self._reporter = reporter
        self._partial = ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            if line.strip():
                self._emit(line)
        return len(text)

    def _emit(self, line: str) -> None:
        try:
            record: Any = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            self._reporter.record("log", level="", function=None, message=line, fields={})
            return
        self._reporter.record(
            "log",
            level=str(record.get("level", "")),
            function=record.get("function"),
            message=str(record.get("message", "")),
            fields={k: v for k, v in record.items() if k not in _HIDDEN},
            stack=record.get("stack"),
        )
