"""An app for the trace test: HTTP -> topic -> queue, each hop logging; OpenTelemetry's SDK with
an in-memory exporter runs inside the local runtime's process, and ``GET /spans`` reads it."""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import portable_fn as pf

EXPORTER = InMemorySpanExporter()
_provider = TracerProvider()
_provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
trace.set_tracer_provider(_provider)

app = pf.App("traced")


@app.http("/orders", methods=["POST"], auth="anonymous")
def create(req: pf.Request, ctx: pf.Context) -> pf.Response:
    ctx.logger.info("order accepted")
    pf.publish("orders", req.json())
    return pf.Response.json({"ok": True}, status=202)


@app.topic("orders")
def route(event: pf.CloudEvent, ctx: pf.Context) -> None:
    ctx.logger.info("routing order")
    pf.send("work", event.data)


@app.queue("work")
def work(event: pf.CloudEvent) -> None:
    pf.logger.info("working on order")


@app.http("/spans", auth="anonymous")
def spans(req: pf.Request) -> list[dict[str, Any]]:
    return [
        {
            "name": span.name,
            "trace_id": f"{span.context.trace_id:032x}",
            "span_id": f"{span.context.span_id:016x}",
            "parent": f"{span.parent.span_id:016x}" if span.parent else None,
            "kind": span.kind.name,
        }
        for span in EXPORTER.get_finished_spans()
        if not span.name.startswith("GET /spans")
    ]
