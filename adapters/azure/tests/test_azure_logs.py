# SPDX-License-Identifier: Apache-2.0
"""Structured logs on the Azure path (issue #8): the shop's generated v2 functions invoked with
real ``azure.functions`` objects built as the worker builds them. Handler lines are JSON on
stdout (the worker forwards stdout to Application Insights), with every invocation field and
the trace the published event carried."""

from __future__ import annotations

import json
from typing import Any

import pytest

from portable_fn_azure import function_app, worker

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"  # the traceparent inside queue_cloudevent.json
FIELDS = {"level", "severity", "message", "timestamp", "function", "provider", "invocation_id",
          "cold_start", "correlation_id", "trace_id", "event_id", "event_type"}


def json_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"level"')]


def test_queue_handler_logs(shop: Any, event: Any, capsys: pytest.CaptureFixture[str]) -> None:
    app, _ = shop
    native = function_app(app)
    assert worker.invoke(native, "fulfil", event("queue_cloudevent")) is None
    poison = event("queue_cloudevent")
    poison["data"]["value"] = poison["data"]["value"].replace("blue-mug", "poison")
    with pytest.raises(ValueError, match="poison"):
        worker.invoke(native, "fulfil", poison)
    fulfilled, failed = json_lines(capsys.readouterr().out)
    for line in (fulfilled, failed):
        assert line.keys() >= FIELDS, sorted(FIELDS - line.keys())
        assert (line["provider"], line["function"]) == ("azure", "fulfil")
        assert line["trace_id"] == TRACE_ID
        assert line["event_type"] == "com.example.fulfilment.requested"
    assert (fulfilled["level"], fulfilled["message"]) == ("INFO", "order fulfilled")
    assert failed["level"] == "ERROR" and "ValueError" in failed["stack"]
