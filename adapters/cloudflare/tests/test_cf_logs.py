# SPDX-License-Identifier: Apache-2.0
"""Structured logs on the Cloudflare path (issue #8): the shop's handlers, run by the generated
Worker on real Pyodide with the real ``workers`` SDK, write JSON lines (Workers Logs ingests
them as they are) with every invocation field, and one trace id follows the order from the
``fetch`` through both queue hops. HTTP handlers' lines come from ``cf_apps/log_app.py`` (the
shop's HTTP handlers do not log): ``cf-ray`` is the invocation id, the request's ``traceparent``
the trace, else a new one."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import package_app
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
    by_queue = {s["queue"]: s for s in created["sent"]}
    notify = by_queue["shop--order-events--notify-customer"]
    request = by_queue["shop--order-events--request-fulfilment"]
    for queue, sent, mid in (("shop--order-events--notify-customer", notify, "l-1"),
                             ("shop--order-events--request-fulfilment", request, "l-2")):
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


HTTP_FIELDS = FIELDS
# The Ray ID Cloudflare adds to every request it proxies, as its documentation shows it
# (https://developers.cloudflare.com/fundamentals/reference/http-headers/#cf-ray).
RAY = "230b030023ae2822-SJC"


@pytest.fixture(scope="module")
def log_worker(sdk_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PyodideWorker]:
    dist = package_app("cf_apps.log_app:app", tmp_path_factory.mktemp("logs") / "cloudflare")
    worker = PyodideWorker(sdk_dir, dist)
    yield worker
    worker.close()


def _get(worker: PyodideWorker, path: str, headers: list[list[str]]) -> dict[str, Any]:
    return worker.call("fetch", method="GET", url=f"https://logs.example.workers.dev{path}",
                       headers=headers)


def test_http_handler_log_lines(log_worker: PyodideWorker) -> None:
    """An HTTP handler's ``pf.logger`` and ``ctx.logger`` lines on the Worker: every invocation
    field, the routed function, the request's ``cf-ray`` as the invocation id; the trace from
    the W3C ``traceparent`` header, else a new one (Workers take no trace id from outside:
    https://developers.cloudflare.com/workers/observability/traces/known-limitations/); the
    correlation id from ``X-Correlation-Id``, else ``X-Request-Id``, else the trace id."""
    calls = [  # (who, headers, expected invocation id, trace id, correlation id)
        ("ann", [["traceparent", TRACE], ["x-correlation-id", "corr-1"],
                 ["x-request-id", "req-1"], ["cf-ray", RAY]], RAY, TRACE.split("-")[1], "corr-1"),
        ("bob", [["x-request-id", "req-2"], ["cf-ray", "230b030023ae2823-SJC"]],
         "230b030023ae2823-SJC", None, "req-2"),
        ("cy", [], None, None, None),
    ]
    for who, headers, _, _, _ in calls:
        assert _get(log_worker, f"/greet/{who}", headers)["status"] == 200
    lines = [line for line in log_lines(log_worker) if "who" in line]
    assert len(lines) == 6, lines
    for (pf_line, ctx_line), (who, _, invocation, trace, correlation) in zip(
        zip(lines[::2], lines[1::2], strict=True), calls, strict=True
    ):
        assert (pf_line["message"], ctx_line["message"]) == ("greeting", "greeted")
        for line in (pf_line, ctx_line):
            assert line.keys() >= HTTP_FIELDS, sorted(HTTP_FIELDS - line.keys())
            assert "event_id" not in line
            assert (line["provider"], line["function"], line["who"]) == ("cloudflare", "greet", who)
            assert line["invocation_id"] == (invocation or line["invocation_id"])
            assert line["trace_id"] == (trace or line["trace_id"])
            assert line["correlation_id"] == (correlation or line["trace_id"])
            assert len(line["trace_id"]) == 32
            assert line["cold_start"] is (who == "ann")
        assert pf_line["invocation_id"] == ctx_line["invocation_id"]
    assert len({line["trace_id"] for line in lines}) == 3
    assert len({line["invocation_id"] for line in lines}) == 3


def test_http_handler_error_line(log_worker: PyodideWorker) -> None:
    """A handler that raises: one ERROR line with the error's type, text and stack, under the
    request's trace; the client gets the JSON 500 without any of them."""
    reply = _get(log_worker, "/fail", [["traceparent", TRACE], ["x-correlation-id", "corr-9"],
                                        ["cf-ray", "230b030023ae2829-SJC"]])
    assert reply["status"] == 500
    body = base64.b64decode(reply["body_b64"]).decode()
    assert json.loads(body) == {"error": {"status": 500, "message": "internal server error"}}
    assert "secret" not in body and "Traceback" not in body
    (line,) = [line for line in log_lines(log_worker) if line.get("function") == "fail"]
    assert line.keys() >= HTTP_FIELDS | {"error_type", "error", "stack"}
    assert (line["level"], line["provider"]) == ("ERROR", "cloudflare")
    assert (line["error_type"], line["error"]) == ("RuntimeError", "secret internal detail")
    assert line["stack"].startswith("Traceback") and "log_app.py" in line["stack"]
    assert line["invocation_id"] == "230b030023ae2829-SJC"
    assert (line["trace_id"], line["correlation_id"]) == (TRACE.split("-")[1], "corr-9")


def test_repeated_correlation_header_is_its_first_value(log_worker: PyodideWorker) -> None:
    """Two ``X-Correlation-Id`` lines: the Workers ``Headers`` object joins them with ", "
    (https://fetch.spec.whatwg.org/#concept-header-list-get); the correlation id is the first
    value, as on every provider, not the joined list."""
    headers = [["x-correlation-id", "corr-a"], ["x-correlation-id", "corr-b"]]
    assert _get(log_worker, "/greet/jo", headers)["status"] == 200
    lines = [line for line in log_lines(log_worker) if line.get("who") == "jo"]
    assert [line["correlation_id"] for line in lines] == ["corr-a", "corr-a"]
