# SPDX-License-Identifier: Apache-2.0
"""Structured logs on the Cloudflare path (issue #8): the shop's handlers, run by the generated
Worker on real Pyodide with the real ``workers`` SDK, write JSON lines (Workers Logs ingests
them as they are) with every invocation field, and one trace id follows the order from the
``fetch`` through both queue hops."""

from __future__ import annotations

import base64
import json
from typing import Any

from pyodide_worker import PyodideWorker

from portable_fn.events import from_dict

TRACE = "00-6e0c63257de34c92bf9efcd03927272e-00f067aa0ba902b7-01"
FIELDS = {"level", "severity", "message", "timestamp", "function", "provider", "invocation_id",
          "cold_start", "correlation_id", "trace_id"}


def log_lines(worker: PyodideWorker) -> list[dict[str, Any]]:
    found = []
    worker.stderr.seek(0)  # the whole log file, not logs()'s tail window
    for line in worker.stderr.read().decode(errors="replace").splitlines():
        line = line.strip()
        if line.startswith("{") and '"message"' in line:
            found.append(json.loads(line))
    return found


def test_handler_logs_are_json_with_one_trace_across_hops(shop_worker: PyodideWorker) -> None:
    order = {"sku": "lamp", "id": "o-logs-1"}
    created = shop_worker.call(
        "fetch",
        method="POST",
        url="https://shop.example.workers.dev/orders",
        headers=[["content-type", "application/json"], ["traceparent", TRACE]],
        body_b64=base64.b64encode(json.dumps(order).encode()).decode(),
    )
    notify = next(s for s in created["sent"] if s["queue"] == "order-events--notify-customer")
    request = next(s for s in created["sent"] if s["queue"] == "order-events--request-fulfilment")
    for queue, sent, mid in (("order-events--notify-customer", notify, "l-1"),
                             ("order-events--request-fulfilment", request, "l-2")):
        reply = shop_worker.call("queue", queue=queue, messages=[
            {"id": mid, "timestamp": 1732370400000, "attempts": 1, "body": sent["body"]}])
        assert reply["calls"] == [{"id": mid, "op": "ack"}]
        if queue.endswith("fulfilment"):
            (fulfilment,) = reply["sent"]
    assert from_dict(fulfilment["body"]).extensions["traceparent"].split("-")[1] == TRACE.split(
        "-")[1]
    done = shop_worker.call("queue", queue="fulfilment", messages=[
        {"id": "l-3", "timestamp": 1732370401000, "attempts": 1, "body": fulfilment["body"]}])
    assert done["calls"] == [{"id": "l-3", "op": "ack"}]

    ours = [line for line in log_lines(shop_worker) if line.get("order_id") == "o-logs-1"]
    by_message = {line["message"]: line for line in ours}
    assert {"order confirmation sent", "order fulfilled"} <= set(by_message)
    for line in by_message.values():
        assert line.keys() >= FIELDS, sorted(FIELDS - line.keys())
        assert line["provider"] == "cloudflare"
        assert line["trace_id"] == TRACE.split("-")[1]
        assert "event_id" in line and "event_type" in line
    assert by_message["order fulfilled"]["function"] == "fulfil"
    assert by_message["order confirmation sent"]["function"] == "notify_customer"
