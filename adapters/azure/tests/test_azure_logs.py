# SPDX-License-Identifier: Apache-2.0
"""Structured logs on the Azure path (issue #8): the shop's generated v2 functions invoked with
real ``azure.functions`` objects built as the worker builds them. Handler lines are JSON on
stdout (the worker forwards stdout to Application Insights), with every invocation field and
the trace the published event carried; an HTTP handler's (an app of the tests' own: the shop's
HTTP handlers do not log) carry the request's ``traceparent``, else the host's trace context."""

from __future__ import annotations

import contextlib
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


# The trace context the host hands the worker with each invocation (InvocationRequest
# ``trace_context``; the worker's ``context.trace_context.trace_parent``):
# https://learn.microsoft.com/azure/azure-functions/functions-reference-python#context
HOST_TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
CALLER_TRACE = "00-6e0c63257de34c92bf9efcd03927272e-00f067aa0ba902b7-01"
HTTP_FIELDS = FIELDS - {"event_id", "event_type"}


def _http_app() -> Any:
    """An app whose HTTP handlers log (the shop's do not), as its generated v2 functions."""
    import portable_fn as pf

    app = pf.App("http-logs")

    @app.http("/greet/{name}", methods=["GET"])
    def greet(req: pf.Request, ctx: pf.Context) -> dict[str, str]:
        pf.logger.info("greeting", who=req.path_params["name"])
        ctx.logger.info("greeted", who=req.path_params["name"])
        return {"hello": req.path_params["name"]}

    @app.http("/fail", methods=["GET"])
    def fail(req: pf.Request) -> None:
        raise RuntimeError("secret internal detail")

    return function_app(app)


def _get(path: str, headers: dict[str, str], params: dict[str, str]) -> dict[str, Any]:
    """The host's RpcHttp for ``GET path`` (an invocation document as ``events/http_*.json``)."""
    return {"binding": "httpTrigger", "data": {"type": "http", "value": {
        "method": "GET", "url": f"https://http-logs.azurewebsites.net{path}",
        "headers": headers, "query": {}, "params": params}}}


def test_http_handler_logs(capsys: pytest.CaptureFixture[str]) -> None:
    """An HTTP handler's ``pf.logger`` and ``ctx.logger`` lines: every invocation field, the
    routed function; the trace from the request's W3C ``traceparent``, else the host's trace
    context, else a new one; the correlation id from ``X-Correlation-Id``, else
    ``X-Request-Id``, else the trace id."""
    native = _http_app()
    calls = [  # (who, headers, host trace, expected trace id, expected correlation id)
        ("ann", {"traceparent": CALLER_TRACE, "x-correlation-id": "corr-1",
                 "x-request-id": "req-1"}, HOST_TRACE, CALLER_TRACE.split("-")[1], "corr-1"),
        ("bob", {"x-request-id": "req-2"}, HOST_TRACE, HOST_TRACE.split("-")[1], "req-2"),
        ("cy", {}, None, None, None),
    ]
    ids = []
    for who, headers, host, _, _ in calls:
        context = worker.InvocationContext("greet", traceparent=host)
        ids.append(context.invocation_id)
        response = worker.invoke(native, "greet", _get(f"/greet/{who}", headers, {"name": who}),
                                 context=context)
        assert response.status_code == 200
    lines = json_lines(capsys.readouterr().out)
    assert len(lines) == 6, lines
    for (pf_line, ctx_line), (who, _, _, trace, correlation), invocation in zip(
        zip(lines[::2], lines[1::2], strict=True), calls, ids, strict=True
    ):
        assert (pf_line["message"], ctx_line["message"]) == ("greeting", "greeted")
        for line in (pf_line, ctx_line):
            assert line.keys() >= HTTP_FIELDS, sorted(HTTP_FIELDS - line.keys())
            assert "event_id" not in line
            assert (line["provider"], line["function"], line["who"]) == ("azure", "greet", who)
            assert line["invocation_id"] == invocation
            assert line["trace_id"] == (trace or line["trace_id"])
            assert line["correlation_id"] == (correlation or line["trace_id"])
            assert len(line["trace_id"]) == 32
    assert len({line["trace_id"] for line in lines}) == 3  # the third one a new trace


def test_http_handler_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    """A handler that raises: one ERROR line with the error's type, text and stack, under the
    request's trace; the client gets the JSON 500 without any of them."""
    native = _http_app()
    context = worker.InvocationContext("fail", traceparent=HOST_TRACE)
    response = worker.invoke(native, "fail", _get(
        "/fail", {"traceparent": CALLER_TRACE, "x-correlation-id": "corr-9"}, {}),
        context=context)
    assert response.status_code == 500
    body = response.get_body().decode()
    assert json.loads(body) == {"error": {"status": 500, "message": "internal server error"}}
    assert "secret" not in body and "Traceback" not in body
    (line,) = json_lines(capsys.readouterr().out)
    assert line.keys() >= HTTP_FIELDS | {"error_type", "error", "stack"}
    assert (line["level"], line["function"], line["provider"]) == ("ERROR", "fail", "azure")
    assert (line["error_type"], line["error"]) == ("RuntimeError", "secret internal detail")
    assert line["stack"].startswith("Traceback") and "test_azure_logs.py" in line["stack"]
    assert line["invocation_id"] == context.invocation_id
    assert (line["trace_id"], line["correlation_id"]) == (CALLER_TRACE.split("-")[1], "corr-9")


def test_repeated_correlation_header_is_its_first_value(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Two ``X-Correlation-Id`` lines reach the worker joined with ", " (the host keeps one
    value per header name: azure-functions-host ``GrpcMessageConversionExtensions.ToRpcHttp``):
    the correlation id is the first value, as on every provider, not the joined list."""
    response = worker.invoke(_http_app(), "greet", _get(
        "/greet/ida", {"x-correlation-id": "corr-a, corr-b"}, {"name": "ida"}))
    assert response.status_code == 200
    lines = json_lines(capsys.readouterr().out)
    assert [line["correlation_id"] for line in lines] == ["corr-a", "corr-a"]


def _queue_invocation(body: bytes, dequeue_count: int = 1) -> dict[str, Any]:
    import base64

    return {"binding": "queueTrigger",
            "data": {"type": "bytes", "base64": base64.b64encode(body).decode()},
            "metadata": {"Id": "m1", "DequeueCount": dequeue_count, "PopReceipt": "x",
                         "InsertionTime": "2026-12-07T10:00:00Z",
                         "ExpirationTime": "2026-12-14T10:00:00Z",
                         "NextVisibleTime": "2026-12-07T10:00:10Z"}}


def test_an_invalid_traceparent_in_the_event_keeps_the_hosts_trace(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Upper-case hex is no traceparent (W3C trace-context, ignored as the test suite's
    test_traceparent_trace_id_uppercase expects): the host's trace goes on, as on GCP, where
    a new random one was started instead."""
    import portable_fn as pf
    from portable_fn.events import to_json

    app = pf.App("inv")

    @app.queue("inv-q")
    def work(event: pf.CloudEvent) -> None:
        pf.logger.info("handled")

    event = pf.CloudEvent.create(type="t", source="/s", data={"x": 1}, extensions={
        "traceparent": "00-ABCDEF0123456789ABCDEF0123456789-00F067AA0BA902B7-01"})
    context = worker.InvocationContext("work", traceparent=HOST_TRACE)
    worker.invoke(function_app(app), "work", _queue_invocation(to_json(event)), context=context)
    (line,) = [json.loads(x) for x in capsys.readouterr().out.splitlines() if "handled" in x]
    assert line["trace_id"] == HOST_TRACE.split("-")[1]


def test_an_undecodable_messages_line_has_the_invocations_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Provider, trace and correlation ids as on every other line: a search on them found every
    line of a poison message but the one saying it could not be decoded."""
    import portable_fn as pf

    app = pf.App("inv")

    @app.queue("inv-q")
    def work(event: pf.CloudEvent) -> None: ...

    bad = b'{"specversion": "1.0", "source": "/s", "type": "t"}'  # a CloudEvent without an id
    context = worker.InvocationContext("work", traceparent=HOST_TRACE)
    with contextlib.suppress(Exception):  # the host's retry or poison queue: not checked here
        worker.invoke(function_app(app), "work", _queue_invocation(bad), context=context)
    (line,) = [json.loads(x) for x in capsys.readouterr().out.splitlines() if "decoded" in x]
    assert line["level"] == "ERROR" and line["provider"] == "azure"
    assert line["trace_id"] == HOST_TRACE.split("-")[1] and line["function"] == "work"
