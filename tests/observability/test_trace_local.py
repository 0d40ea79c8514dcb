"""One trace id through the real local runtime: an HTTP request with a ``traceparent`` publishes
to a topic whose subscriber sends to a queue; all three functions log with that trace id, and
with the OpenTelemetry SDK in the runtime's process the spans form one trace."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from tests.local.devserver import DevServer

TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
APP = "tests/observability/traced_app.py"


def app_logs(server: DevServer) -> list[dict[str, Any]]:
    found = []
    for line in list(server.lines):
        if line.startswith("{"):
            record = json.loads(line)
            if "message" in record and "function" in record:
                found.append(record)
    return found


def test_trace_follows_http_topic_queue(dev: Callable[..., DevServer]) -> None:
    server = dev(APP)
    status, _, body = server.request(
        "POST", "/orders", b'{"sku": "a"}',
        {"content-type": "application/json", "traceparent": TRACE},
    )
    assert (status, body) == (202, {"ok": True})
    server.wait_for(lambda r: r.get("event") == "invocation" and r.get("function") == "work"
                    and r.get("outcome") == "ok")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        logs = {r["function"]: r for r in app_logs(server)}
        if {"create", "route", "work"} <= set(logs):
            break
        time.sleep(0.05)
    assert {fn: logs[fn]["trace_id"] for fn in ("create", "route", "work")} == {
        "create": TRACE_ID, "route": TRACE_ID, "work": TRACE_ID}
    for record in logs.values():
        assert {"level", "message", "timestamp", "provider", "invocation_id"} <= set(record)
        assert record["provider"] == "local"

    _, _, spans = server.request("GET", "/spans")
    by_name = {span["name"]: span for span in spans}
    assert {"POST /orders", "send orders", "process orders", "send work", "process work"} <= set(
        by_name)
    assert {span["trace_id"] for span in spans} == {TRACE_ID}
    assert by_name["POST /orders"]["parent"] == TRACE.split("-")[2]
    assert by_name["send orders"]["parent"] == by_name["POST /orders"]["span_id"]
    assert by_name["process orders"]["parent"] == by_name["send orders"]["span_id"]
    assert by_name["send work"]["parent"] == by_name["process orders"]["span_id"]
    assert by_name["process work"]["parent"] == by_name["send work"]["span_id"]
