# SPDX-License-Identifier: Apache-2.0
"""Structured logs on the GCP path (issue #8): ``examples/shop`` under the real
functions-framework servers. Handler lines are JSON on stdout that Cloud Logging lifts as they
are (``severity``, ``message``, ``logging.googleapis.com/trace``), and the trace id of an
incoming ``traceparent`` follows the order through Pub/Sub (the ``ce-traceparent`` attribute of
the binding) to the fulfilment worker."""

from __future__ import annotations

import json
from typing import Any

from conftest import Servers, _package, _targets
from pubsub_endpoint import PublishEndpoint
from test_server_shop import TOPIC, push

TRACE = "00-7c8f7a1d2e3b4c5d6e7f8091a2b3c4d5-00f067aa0ba902b7-01"
TRACE_ID = TRACE.split("-")[1]
FIELDS = {"level", "severity", "message", "timestamp", "function", "provider", "invocation_id",
          "cold_start", "correlation_id", "trace_id", "event_id", "event_type"}


def lines_about(server: Any, order_id: str) -> list[dict[str, Any]]:
    found = []
    for line in server.output().splitlines():
        if line.startswith('{"level"'):
            record = json.loads(line)
            if record.get("order_id") == order_id:
                found.append(record)
    return found


def test_handler_logs_carry_the_trace_through_pubsub(
    shop: Servers, pubsub_endpoint: PublishEndpoint
) -> None:
    status, _, body = shop["create_order"].request(
        "/orders", body=json.dumps({"sku": "lamp", "id": "o-gcp-log"}).encode(),
        headers={"content-type": "application/json", "traceparent": TRACE},
    )
    assert status == 202, body
    created = json.loads(body)
    published = pubsub_endpoint.wait_for(
        lambda m: m.attributes.get("ce-id") == created["event_id"]
    )
    assert published.attributes["ce-traceparent"].split("-")[1] == TRACE_ID
    assert push(shop["notify_customer"], published) == 200
    assert push(shop["request_fulfilment"], published) == 200
    sent = pubsub_endpoint.wait_for(
        lambda m: m.topic == TOPIC + "fulfilment" and json.loads(m.data).get("id") == "o-gcp-log"
    )
    assert push(shop["fulfil"], sent) == 200

    (confirmation,) = lines_about(shop["notify_customer"], "o-gcp-log")
    (fulfilled,) = lines_about(shop["fulfil"], "o-gcp-log")
    # Each line sits under the span its event came from: what create_order published, and
    # what request_fulfilment sent on.
    assert confirmation["logging.googleapis.com/spanId"] == published.attributes[
        "ce-traceparent"
    ].split("-")[2]
    assert fulfilled["logging.googleapis.com/spanId"] == sent.attributes["ce-traceparent"].split(
        "-"
    )[2]
    for line, function in ((confirmation, "notify_customer"), (fulfilled, "fulfil")):
        assert line["logging.googleapis.com/trace_sampled"] is True  # TRACE's flags are 01
        assert line.keys() >= FIELDS, sorted(FIELDS - line.keys())
        assert (line["provider"], line["function"]) == ("gcp", function)
        assert line["trace_id"] == TRACE_ID
        assert line["logging.googleapis.com/trace"] == f"projects/test-project/traces/{TRACE_ID}"
        assert line["severity"] == "INFO"


STDLIB_APP = '''\
import logging

import portable_fn as pf

app = pf.App("stdlibs")
log = logging.getLogger("shop.lib")


@app.http("/hello", methods=["GET"])
def hello(req: pf.Request) -> dict:
    log.info("hello from %s", "logging", extra={"user": "u1"})
    return {"ok": True}


@app.queue("jobs")
def job(event: pf.CloudEvent) -> None:
    try:
        raise ValueError("bad job")
    except ValueError:
        log.exception("job failed")
'''


def test_stdlib_logging_records_are_the_invocations_lines(tmp_path_factory: Any) -> None:
    """A handler's ``logging.getLogger(__name__).info(...)`` under the real functions-framework
    server (its root logger has no handler, as on Cloud Run functions, so Python dropped INFO
    and printed WARNING+ as bare stderr text): a JSON line with the invocation's fields and
    Cloud Logging's trace, once. Cloud Logging's structured payload:
    https://cloud.google.com/logging/docs/structured-logging; the Pub/Sub push event as
    functions-framework's CloudEvent tests send it."""
    root = tmp_path_factory.mktemp("stdlibs")
    source = root / "gcp_stdlib_app.py"
    source.write_text(STDLIB_APP)
    dist = _package(f"{source}:app", root / "dist" / "gcp")
    servers = Servers(dist, _targets(dist), {"GOOGLE_CLOUD_PROJECT": "test-project"}, root)
    try:
        status, _, body = servers["hello"].request(
            "/hello", method="GET", headers={"traceparent": TRACE}
        )
        assert status == 200, body
        status, _, _ = servers["job"].request("/", body=json.dumps({
            "message": {"data": "e30=", "messageId": "m-1", "publishTime": "2024-01-01T00:00:00Z"},
            "subscription": "projects/test-project/subscriptions/jobs",
        }).encode(), headers={
            "ce-specversion": "1.0", "ce-id": "m-1", "content-type": "application/json",
            "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
            "ce-source": "//pubsub.googleapis.com/projects/test-project/topics/jobs",
        })
        assert status == 200
        hello_out, job_out = servers["hello"].output(), servers["job"].output()
    finally:
        servers.close()
    said = [json.loads(line) for line in hello_out.splitlines() if "hello from" in line]
    assert len(said) == 1, hello_out
    (line,) = said
    assert line["message"] == "hello from logging" and line["severity"] == "INFO"
    assert line["logger"] == "shop.lib" and line["user"] == "u1" and line["function"] == "hello"
    assert line["trace_id"] == TRACE_ID
    assert line["logging.googleapis.com/trace"] == f"projects/test-project/traces/{TRACE_ID}"
    failed = [json.loads(line) for line in job_out.splitlines() if "job failed" in line]
    assert len(failed) == 1, job_out
    assert failed[0]["severity"] == "ERROR" and failed[0]["event_id"] == "m-1"
    assert failed[0]["error_type"] == "ValueError" and "stack_trace" in failed[0]
