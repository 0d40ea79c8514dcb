# SPDX-License-Identifier: Apache-2.0
"""Core benchmarks, side by side with the anchors in one run (ratios are what carry over):

1. cold start: ``import portable_fn`` (and defining a small app) against ``chalice.app`` and
   Powertools' ``APIGatewayHttpResolver`` (``shared/reference/performance-anchors.md``);
2. logging one line inside an invocation: ``ctx.logger`` against the standard library's
   ``logging`` with a JSON formatter, both writing to a null stream.

Run: ``python -m nox -s bench`` (or ``python benchmarks/bench_core.py`` with the anchors installed).
Compile the sources first (nox does): an editable install writes no ``.pyc`` when
PYTHONDONTWRITEBYTECODE is set, and a deployed package ships them.
"""

from __future__ import annotations

import io
import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._harness import compare, import_cost

APP = (
    "import portable_fn as pf\n"
    "app = pf.App('shop')\n"
    "@app.http('/orders/{order_id}')\n"
    "def get(req): return {}\n"
    "@app.queue('jobs')\n"
    "def job(event): pass\n"
)


def bench_import() -> None:
    import_cost(
        {
            "chalice.app": "import chalice.app",
            "import portable_fn": "import portable_fn",
            "portable_fn + a 2-function app": APP,
            "Powertools APIGatewayHttpResolver":
                "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver",
        },
        baseline="chalice.app",
        runs=20,
        title="Cold start: import cost (ms over a bare interpreter; ratio to chalice.app)",
    )


def bench_logging() -> None:
    import portable_fn as pf
    from portable_fn import log
    from portable_fn.adapter import dispatch_event

    sink = io.StringIO()
    log.set_stream(sink)

    class JsonFormatter(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return json.dumps({
                "level": record.levelname, "message": record.getMessage(),
                "timestamp": self.formatTime(record), "function": "fn", "invocation_id": "i",
                "order_id": getattr(record, "order_id", None),
            })

    std = logging.getLogger("bench.std")
    handler = logging.StreamHandler(sink)
    handler.setFormatter(JsonFormatter())
    std.addHandler(handler)
    std.setLevel(logging.INFO)
    std.propagate = False

    app = pf.App("bench")
    event = pf.CloudEvent.create(type="t", source="/s", data={})
    ctx = pf.Context(provider="aws", function_name="fn", invocation_id="i")

    @app.queue("jobs", name="ours")
    def ours(ev: pf.CloudEvent, c: pf.Context) -> None:
        c.logger.info("order fulfilled", order_id="o-1")

    @app.queue("jobs", name="stdlib")
    def stdlib(ev: pf.CloudEvent) -> None:
        std.info("order fulfilled", extra={"order_id": "o-1"})

    @app.queue("jobs", name="silent")
    def silent(ev: pf.CloudEvent) -> None:
        pass

    def reset() -> None:
        sink.seek(0)
        sink.truncate()

    compare(
        {
            "invocation, no log line": lambda: dispatch_event(app, "silent", event, ctx),
            "invocation + stdlib logging JSON formatter": lambda: (
                dispatch_event(app, "stdlib", event, ctx), reset()),
            "invocation + ctx.logger (all invocation fields)": lambda: (
                dispatch_event(app, "ours", event, ctx), reset()),
        },
        baseline="invocation + stdlib logging JSON formatter",
        number=5000,
        title="Logging one line per invocation (µs per invocation; ratio to stdlib logging)",
    )
    log.set_stream(None)


if __name__ == "__main__":
    bench_import()
    bench_logging()
