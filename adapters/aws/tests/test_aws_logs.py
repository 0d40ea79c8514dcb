# SPDX-License-Identifier: Apache-2.0
"""Structured logs on the AWS path (issue #8): ``examples/shop`` packaged, unzipped and run under
awslambdaric (the real Lambda runtime client) against the Runtime API emulator. Each handler
line is one JSON object CloudWatch Logs takes as it is, with every invocation field; the trace
is the published event's own, else Lambda's per-invocation X-Ray trace (``_X_AMZN_TRACE_ID``,
which awslambdaric sets from the emulator's ``Lambda-Runtime-Trace-Id``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import portable_fn as pf
from portable_fn.events import to_json
from portable_fn_aws import native

from runtime_api import RuntimeAPI, RuntimeProcess

TRACE = "00-6e0c63257de34c92bf9efcd03927272e-00f067aa0ba902b7-01"
XRAY_TRACE = "5759e988bd862e3fe1be46a994272793"  # runtime_api.py's Lambda-Runtime-Trace-Id
FIELDS = {"level", "severity", "message", "timestamp", "function", "provider", "invocation_id",
          "cold_start", "correlation_id", "trace_id", "event_id", "event_type"}


def json_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith('{"level"')]


def test_handler_log_lines_under_the_real_runtime(
    task_root: Path, aws_env: dict[str, str]
) -> None:
    propagated = pf.CloudEvent.create(
        type="com.example.fulfilment.requested", source="/portable-fn/shop/request_fulfilment",
        data={"id": "o-log-1", "sku": "book"}, datacontenttype="application/json",
        extensions={"traceparent": TRACE},
    )
    with RuntimeAPI() as api:
        process = RuntimeProcess(api, task_root, "pf_entry.fulfil", aws_env)
        try:
            ours = native.sqs_record(to_json(propagated).decode(), queue="fulfilment")
            foreign = native.sqs_record('{"id": "o-log-2", "sku": "pen"}', queue="fulfilment")
            poison = native.sqs_record('{"id": "o-log-3", "sku": "poison"}', queue="fulfilment")
            result = api.invoke({"Records": [ours, foreign, poison]})
            assert result.ok
            assert result.body == {"batchItemFailures": [{"itemIdentifier": poison["messageId"]}]}
        finally:
            output = process.stop()
    lines = {line.get("order_id") or line.get("error", ""): line for line in json_lines(output)}
    fulfilled, plain = lines["o-log-1"], lines["o-log-2"]
    failed = next(line for key, line in lines.items() if "o-log-3" in key)
    for line in (fulfilled, plain, failed):
        assert line.keys() >= FIELDS, sorted(FIELDS - line.keys())
        assert (line["provider"], line["function"]) == ("aws", "fulfil")
        assert line["timestamp"].endswith("Z")
    assert fulfilled["trace_id"] == TRACE.split("-")[1]
    assert fulfilled["event_id"] == propagated.id
    assert plain["trace_id"] == XRAY_TRACE
    assert failed["level"] == "ERROR" and "ValueError" in failed["stack"]
    assert failed["invocation_id"] == fulfilled["invocation_id"]  # one Lambda invocation
