# SPDX-License-Identifier: Apache-2.0
"""Structured logs on the AWS path (issue #8): ``examples/shop`` packaged, unzipped and run under
awslambdaric (the real Lambda runtime client) against the Runtime API emulator. Each handler
line is one JSON object CloudWatch Logs takes as it is, with every invocation field; the trace
is the published event's own, else Lambda's per-invocation X-Ray trace (``_X_AMZN_TRACE_ID``,
which awslambdaric sets from the emulator's ``Lambda-Runtime-Trace-Id``). HTTP handlers' lines
come from a small app of the tests' own (the shop's HTTP handlers do not log), through the
documented HTTP shapes (HTTP API, REST, ALB): the trace from the request's ``traceparent``, else
Lambda's W3C trace context, else the request's ``X-Amzn-Trace-Id``, else Lambda's X-Ray trace."""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

import portable_fn as pf
from portable_fn.events import to_json
from portable_fn.testing import load_app
from portable_fn_aws import native
from portable_fn_aws.adapter import adapter

from aws_fixtures import load
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


# An app whose HTTP handlers log (the shop's do not): one line through ``pf.logger``, one
# through ``ctx.logger``, and a handler that raises.
HTTP_APP = '''\
import portable_fn as pf

app = pf.App("http-logs")


@app.http("/greet/{name}", methods=["GET"])
def greet(req: pf.Request, ctx: pf.Context) -> dict:
    pf.logger.info("greeting", who=req.path_params["name"])
    ctx.logger.info("greeted", who=req.path_params["name"])
    return {"hello": req.path_params["name"]}


@app.http("/fail", methods=["GET"])
def fail(req: pf.Request) -> None:
    raise RuntimeError("secret internal detail")
'''
HTTP_FIELDS = FIELDS - {"event_id", "event_type"}


@pytest.fixture(scope="module")
def http_task(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``HTTP_APP`` packaged by the aws target and unzipped, as Lambda lays it out."""
    root = tmp_path_factory.mktemp("http_logs")
    app_file = root / "src" / "http_logs_app.py"
    app_file.parent.mkdir()
    app_file.write_text(HTTP_APP)
    ref = f"{app_file}:app"
    try:
        adapter.package(load_app(ref), ref, root / "out")
    finally:  # the loader put the app's folder on sys.path and the module in sys.modules
        if str(app_file.parent) in sys.path:
            sys.path.remove(str(app_file.parent))
        sys.modules.pop("_portable_fn_app_http_logs_app", None)
    with zipfile.ZipFile(root / "out" / "app.zip") as archive:
        archive.extractall(root / "task")
    return root / "task"


def _rest(path: str, headers: dict[str, str]) -> dict[str, Any]:
    """API Gateway's REST (payload 1.0) sample event (``sam local generate-event apigateway
    aws-proxy``) for ``GET path`` with ``headers`` added. With X-Ray tracing on the stage, API
    Gateway adds ``X-Amzn-Trace-Id`` to the request it proxies
    (https://docs.aws.amazon.com/xray/latest/devguide/xray-services-apigateway.html)."""
    event = load("sam_apigw_v1.json")
    event.update(path=path, resource=path, pathParameters=None, body=None,
                 isBase64Encoded=False, httpMethod="GET")
    event["headers"].update(headers)
    event["multiValueHeaders"].update({name: [value] for name, value in headers.items()})
    return event


def _alb(path: str) -> dict[str, Any]:
    """The ALB sample event (``sam local generate-event alb``) for ``GET path``: an ALB adds
    ``X-Amzn-Trace-Id: Root=1-...`` to every request it forwards
    (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-request-tracing.html)."""
    event = load("sam_alb.json")
    event.update(path=path, httpMethod="GET", body="", isBase64Encoded=False)
    return event


def _run(task: Path, function: str, env: dict[str, str], *events: Any,
         api: RuntimeAPI | None = None) -> tuple[list[Any], list[dict[str, Any]]]:
    """``events`` invoked in order on one awslambdaric process of ``function``: the results
    and the JSON lines it wrote."""
    results = []
    with api or RuntimeAPI() as runtime:
        process = RuntimeProcess(runtime, task, f"pf_entry.{function}", env)
        try:
            results = [runtime.invoke(event) for event in events]
        finally:
            output = process.stop()
    return results, json_lines(output)


def test_http_handler_log_lines_under_the_real_runtime(
    http_task: Path, aws_env: dict[str, str]
) -> None:
    """An HTTP handler's ``pf.logger`` and ``ctx.logger`` lines, under awslambdaric: every
    invocation field, the routed function; the trace from the W3C ``traceparent`` header, else
    the request's ``X-Amzn-Trace-Id`` (API Gateway REST, ALB), else Lambda's own
    (``_X_AMZN_TRACE_ID``); the correlation id from ``X-Correlation-Id``, else ``X-Request-Id``,
    else the trace id."""
    w3c = native.http_v2(pf.Request(method="GET", path="/greet/ann", headers=pf.Headers(
        [("traceparent", TRACE), ("x-correlation-id", "corr-1"), ("x-request-id", "req-1")])))
    rest = _rest("/greet/bob", {"X-Amzn-Trace-Id": "Root=1-67891233-abcdef012345678912345678;"
                                                   "Parent=463ac35c9f6413ad;Sampled=1",
                                "X-Request-Id": "req-2"})
    alb = _alb("/greet/cy")
    plain = native.http_v2(pf.Request(method="GET", path="/greet/dee"))
    results, lines = _run(http_task, "greet", aws_env, w3c, rest, alb, plain)
    assert [result.body["statusCode"] for result in results] == [200] * 4, results
    assert len(lines) == 8, lines
    expected = [  # (who, trace id, correlation id, cold start)
        ("ann", TRACE.split("-")[1], "corr-1", True),
        ("bob", "67891233abcdef012345678912345678", "req-2", False),
        ("cy", "5c5363483d683b8b04734faae651f476", "5c5363483d683b8b04734faae651f476", False),
        ("dee", XRAY_TRACE, XRAY_TRACE, False),
    ]
    for (pf_line, ctx_line), (who, trace, correlation, cold) in zip(
        zip(lines[::2], lines[1::2], strict=True), expected, strict=True
    ):
        assert (pf_line["message"], ctx_line["message"]) == ("greeting", "greeted")
        for line in (pf_line, ctx_line):
            assert line.keys() >= HTTP_FIELDS, sorted(HTTP_FIELDS - line.keys())
            assert "event_id" not in line
            assert (line["provider"], line["function"], line["who"]) == ("aws", "greet", who)
            assert (line["trace_id"], line["correlation_id"]) == (trace, correlation), who
            assert line["cold_start"] is cold
        assert pf_line["invocation_id"] == ctx_line["invocation_id"]
    assert len({line["invocation_id"] for line in lines}) == 4


def test_http_handler_error_line_under_the_real_runtime(
    http_task: Path, aws_env: dict[str, str]
) -> None:
    """A handler that raises: one ERROR line with the error's type, text and stack, under the
    request's trace; the client gets the JSON 500 without any of them."""
    request = native.http_v2(pf.Request(method="GET", path="/fail", headers=pf.Headers(
        [("traceparent", TRACE), ("x-correlation-id", "corr-9")])))
    (result,), lines = _run(http_task, "fail", aws_env, request)
    assert result.ok and result.body["statusCode"] == 500
    body = result.body["body"]
    assert json.loads(body) == {"error": {"status": 500, "message": "internal server error"}}
    assert "secret" not in body and "Traceback" not in body
    (line,) = lines
    assert line.keys() >= HTTP_FIELDS | {"error_type", "error", "stack"}
    assert (line["level"], line["function"], line["provider"]) == ("ERROR", "fail", "aws")
    assert (line["error_type"], line["error"]) == ("RuntimeError", "secret internal detail")
    assert line["stack"].startswith("Traceback") and "http_logs_app.py" in line["stack"]
    assert (line["trace_id"], line["correlation_id"]) == (TRACE.split("-")[1], "corr-9")


class W3CRuntimeAPI(RuntimeAPI):
    """The emulator, handing each invocation a W3C trace context in its client context
    (``Lambda-Runtime-Client-Context``'s ``w3c`` member), which awslambdaric 4.2 and later
    give the function as ``context.w3c()``
    (https://github.com/aws/aws-lambda-python-runtime-interface-client/releases/tag/4.2.0)."""

    def __init__(self, w3c: dict[str, str]) -> None:
        super().__init__()
        header = json.dumps({"w3c": w3c})
        base: Any = self.server.RequestHandlerClass

        class Handler(base):  # type: ignore[misc, valid-type]
            def send_header(self, keyword: str, value: str) -> None:
                super().send_header(keyword, value)
                if keyword == "Lambda-Runtime-Trace-Id":  # only on .../invocation/next
                    super().send_header("Lambda-Runtime-Client-Context", header)

        self.server.RequestHandlerClass = Handler


LAMBDA_W3C = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_http_handler_takes_lambdas_w3c_trace_context(
    http_task: Path, aws_env: dict[str, str]
) -> None:
    """The W3C trace context Lambda hands the invocation (``context.w3c()``) is the adapter's
    ``ctx.traceparent``, as Azure's host trace context is: a request without its own
    ``traceparent`` header logs under it rather than under X-Ray's; one with it keeps its own."""
    from awslambdaric.lambda_context import LambdaContext

    if not hasattr(LambdaContext, "w3c"):  # the test extra takes awslambdaric>=3.0
        pytest.skip("awslambdaric before 4.2 gives no context.w3c()")
    bare = native.http_v2(pf.Request(method="GET", path="/greet/eve"))
    own = native.http_v2(pf.Request(method="GET", path="/greet/fay",
                                    headers=pf.Headers([("traceparent", TRACE)])))
    api = W3CRuntimeAPI({"traceparent": LAMBDA_W3C, "tracestate": "aws=1"})
    results, lines = _run(http_task, "greet", aws_env, bare, own, api=api)
    assert all(result.body["statusCode"] == 200 for result in results), results
    by_who = {line["who"]: line for line in lines}
    assert by_who["eve"]["trace_id"] == LAMBDA_W3C.split("-")[1]
    assert by_who["eve"]["correlation_id"] == LAMBDA_W3C.split("-")[1]
    assert by_who["fay"]["trace_id"] == TRACE.split("-")[1]


def test_repeated_correlation_header_is_its_first_value(
    http_task: Path, aws_env: dict[str, str]
) -> None:
    """Two ``X-Correlation-Id`` lines: HTTP API joins repeated headers with commas
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html),
    REST keeps them apart in ``multiValueHeaders``; the correlation id is the first value
    either way, as on every provider, not the joined list."""
    joined = native.http_v2(pf.Request(method="GET", path="/greet/gus", headers=pf.Headers(
        [("x-correlation-id", "corr-a"), ("x-correlation-id", "corr-b")])))
    assert joined["headers"]["x-correlation-id"] == "corr-a,corr-b"
    rest = _rest("/greet/hal", {"X-Correlation-Id": "corr-b"})
    rest["multiValueHeaders"]["X-Correlation-Id"] = ["corr-a", "corr-b"]
    _, lines = _run(http_task, "greet", aws_env, joined, rest)
    assert [(line["who"], line["correlation_id"]) for line in lines] == [
        ("gus", "corr-a"), ("gus", "corr-a"), ("hal", "corr-a"), ("hal", "corr-a")]
