# SPDX-License-Identifier: Apache-2.0
"""examples/shop packaged, unzipped and run under awslambdaric (the real Lambda runtime
interface client) against the Runtime API emulator in runtime_api.py: every function answers
each native event the way its provider expects."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from portable_fn.events import from_json
from portable_fn_aws import native

from aws_fixtures import load
from runtime_api import RuntimeAPI, RuntimeProcess, template_environment, template_limits


@pytest.fixture
def run(task_root: Path, shop_package: Path, aws_env: dict[str, str]) -> Iterator[Any]:
    """run(function, env) -> a Runtime API emulator with ``pf_entry.<function>`` polling it
    (``module.<function>`` in ``task``, when given), with the timeout, memory and the
    variables known before deploy (``PF_APP``...) the shop's generated template.yaml gives the
    function; ``env`` adds what a deployed stack would fill in (moto's queue URLs...).

    One emulator per runtime process: a stopped process may leave a ``next`` request pending
    in its emulator, which must not swallow the next function's events.
    """
    started: list[tuple[RuntimeAPI, RuntimeProcess]] = []

    def start(
        function: str,
        env: dict[str, str] | None = None,
        *,
        task: Path = task_root,
        module: str = "pf_entry",
    ) -> RuntimeAPI:
        template = shop_package / "template.yaml"
        limits = template_limits(template, function)
        api = RuntimeAPI(timeout=limits.timeout).__enter__()
        variables = {**aws_env, **template_environment(template, function), **(env or {})}
        process = RuntimeProcess(
            api, task, f"{module}.{function}", variables, memory=limits.memory
        )
        started.append((api, process))
        return api

    yield start
    for api, process in started:
        process.stop()
        api.__exit__(None, None, None)


def test_zip_is_what_runs(task_root: Path, shop_package: Path) -> None:
    probe = (
        "import portable_fn, portable_fn_aws, examples.shop.app as a, importlib.util as u;"
        "print(portable_fn.__file__, portable_fn_aws.__file__, a.__file__,"
        " u.find_spec('portable_fn_aws.target'), u.find_spec('portable_fn._local'))"
    )
    env = {**os.environ, "PYTHONPATH": str(task_root)}
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=task_root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert all(path.startswith(str(task_root)) for path in out[:3]), out
    assert out[3:] == ["None", "None"]  # tooling and the local runtime are left out
    assert (shop_package / "app.zip").stat().st_size < 100_000


def _v2(method: str, path: str, body: str | None = None) -> dict[str, Any]:
    event = load("function_url.json")
    event["requestContext"]["domainName"] = "abc.execute-api.us-east-1.amazonaws.com"
    event.update(rawPath=path, rawQueryString="", cookies=[])
    event["requestContext"]["http"].update(method=method, path=path)
    if body is not None:
        event.update(body=body, isBase64Encoded=False)
        event["headers"]["content-type"] = "application/json"
    return event


def test_http_shapes(run: Any) -> None:
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="order-events")["TopicArn"]
    inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn["Attributes"]["QueueArn"])
    api = run("create_order", {"PF_TOPIC_ORDER_EVENTS": topic})
    created = api.invoke(_v2("POST", "/orders", '{"sku": "book", "id": "o-1"}'))
    assert created.ok and created.body["statusCode"] == 202
    assert json.loads(created.body["body"])["id"] == "o-1"
    # The same function behind a REST API, an ALB (base64 body) and a function URL.
    rest = load("sam_apigw_v1.json")
    rest.update(httpMethod="POST", path="/orders", body='{"sku": "pen"}', isBase64Encoded=False)
    balancer = load("sam_alb.json")
    balancer.update(path="/orders", body=base64.b64encode(b'{"sku": "ink"}').decode())
    url = load("function_url.json")
    url.update(rawPath="/orders", rawQueryString="", body='{"sku": "cup"}')
    url["requestContext"]["http"].update(method="POST", path="/orders")
    for event in (rest, balancer, url):
        result = api.invoke(event)
        assert result.ok and result.body["statusCode"] == 202, result
        assert json.loads(result.body["body"])["id"]
    assert result.body["headers"]["content-type"] == "application/json"
    assert "statusDescription" not in result.body
    # What the runtime process published (boto3 inside it, pointed at moto) fanned out to SQS.
    messages = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10)["Messages"]
    published = [from_json(json.loads(m["Body"])["Message"]) for m in messages]
    assert sorted(e.data["sku"] for e in published) == ["book", "cup", "ink", "pen"]
    assert {e.type for e in published} == {"com.example.order.created"}
    bad = api.invoke(_v2("POST", "/orders", "not json"))
    assert bad.body["statusCode"] == 400 and bad.body["isBase64Encoded"] is False
    assert json.loads(bad.body["body"])["error"]["status"] == 400

    api = run("get_order")
    url = load("function_url.json")  # GET /orders/7: unknown in this fresh process
    for event, shape in (
        (url, "url"),
        (load("sam_apigw_v1.json"), "v1"),
        (load("alb_multi_value.json"), "alb"),
        (load("sam_alb.json"), "alb1"),
    ):
        result = api.invoke(event)
        assert result.ok, result
        out = result.body
        assert out["statusCode"] == 404, shape
        assert json.loads(out["body"])["error"]["status"] == 404
        if shape == "alb":
            assert out["statusDescription"] == "404 Not Found"
            assert out["multiValueHeaders"]["content-type"] == ["application/json"]
        else:
            assert out["headers"]["content-type"] == "application/json"


def test_sqs_batch_with_one_failing_record(run: Any) -> None:
    api = run("fulfil")
    good = native.sqs_record('{"id": "o-1", "sku": "book"}', queue="fulfilment")
    poison = native.sqs_record(
        '{"id": "o-2", "sku": "poison"}', queue="fulfilment", receive_count=2
    )
    result = api.invoke({"Records": [good, poison]})
    assert result.ok
    assert result.body == {"batchItemFailures": [{"itemIdentifier": poison["messageId"]}]}


def test_topic_storage_bus_and_schedule(run: Any) -> None:
    api = run("notify_customer")
    ok = api.invoke(native.sns_event('{"id": "o-1"}', topic="order-events"))
    assert ok.ok and ok.body is None
    via_sqs = api.invoke(load("sqs_sns_cloudevent.json"))
    assert via_sqs.ok and via_sqs.body == {
        "batchItemFailures": [{"itemIdentifier": "2e1424d4-f796-459a-8184-9c92662be6da"}]
    }  # its data has no "id"
    failed = api.invoke(native.sns_event('{"no": "id"}', topic="order-events"))
    # An asynchronous event that fails is an invocation error, so Lambda retries it.
    assert not failed.ok
    assert failed.body["errorType"] == "NonRetryable"  # the shop refuses a non-order

    api = run("on_upload")
    for fixture in ("sam_s3_put.json", "sns_s3.json", "eventbridge_s3_object_created.json"):
        result = api.invoke(load(fixture))
        assert result.ok and result.body is None, fixture

    api = run("invoice_paid")
    for fixture in ("eventbridge_custom.json", "eventbridge_cloudevent.json"):
        result = api.invoke(load(fixture))
        assert result.ok and result.body is None, fixture

    api = run("nightly_report")
    result = api.invoke(load("sam_scheduled.json"))
    assert result.ok and result.body is None


# Beside the shop's entry in the unzipped task: what awslambdaric hands pf_entry.nightly_report
# (the Lambda context's time left and memory), then the shop's own handler's result.
LIMITS_PROBE = '''\
import pf_entry


def nightly_report(event, context):
    seen = {"remaining_ms": context.get_remaining_time_in_millis(),
            "memory": context.memory_limit_in_mb}
    seen["result"] = pf_entry.nightly_report(event, context)
    return seen
'''


def test_nightly_report_gets_its_template_limits(
    run: Any, task_root: Path, shop_package: Path, tmp_path: Path
) -> None:
    """The shop's ``nightly_report`` (``timeout=120, memory=512``) under the real runtime gets
    what its generated template.yaml gives it, not the emulator's old fixed 30 s / 256 MB: a
    deadline about ``Timeout`` seconds away and ``MemorySize`` as the context's
    ``memory_limit_in_mb`` (awslambdaric reads AWS_LAMBDA_FUNCTION_MEMORY_SIZE)."""
    limits = template_limits(shop_package / "template.yaml", "nightly_report")
    assert (limits.timeout, limits.memory) == (120, 512)  # the shop's own, over Globals' 30/256
    task = tmp_path / "task"
    shutil.copytree(task_root, task)
    (task / "limits_probe.py").write_text(LIMITS_PROBE)
    api = run("nightly_report", task=task, module="limits_probe")
    result = api.invoke(load("sam_scheduled.json"))
    assert result.ok, result
    assert result.body["result"] is None  # the shop's handler ran and succeeded
    assert limits.timeout - 10 < result.body["remaining_ms"] / 1000 <= limits.timeout
    assert result.body["memory"] == str(limits.memory)  # an environment variable: a string


# Two scheduled functions, one with its own limits, one on the template's Globals: each logs
# the portable ``ctx.remaining_time`` and the Lambda context's ``memory_limit_in_mb``.
LIMITS_APP = '''\
import portable_fn as pf

app = pf.App("limits")


def _report(ctx: pf.Context) -> None:
    ctx.logger.info("limits", remaining_time=ctx.remaining_time,
                    memory=ctx.native_context.memory_limit_in_mb)


@app.schedule("rate(1 day)", timeout=120, memory=512)
def heavy(event: pf.CloudEvent, ctx: pf.Context) -> None:
    _report(ctx)


@app.schedule("rate(1 hour)")
def light(event: pf.CloudEvent, ctx: pf.Context) -> None:
    _report(ctx)
'''


def test_handler_context_carries_the_template_limits(
    aws_env: dict[str, str], tmp_path: Path
) -> None:
    """A handler's ``ctx.remaining_time`` and ``ctx.native_context.memory_limit_in_mb`` under
    the real runtime follow the generated template: a function's own ``Timeout``/``MemorySize``,
    else the Globals' (30 s / 256 MB)."""
    import zipfile

    from portable_fn._local.loader import load_app
    from portable_fn_aws.adapter import adapter

    source = tmp_path / "src" / "aws_limits_app.py"
    source.parent.mkdir()
    source.write_text(LIMITS_APP)
    ref = f"{source}:app"
    try:
        adapter.package(load_app(ref), ref, tmp_path / "aws")
    finally:  # the loader put the app's folder on sys.path and the module in sys.modules
        if str(source.parent) in sys.path:
            sys.path.remove(str(source.parent))
        sys.modules.pop("_portable_fn_app_aws_limits_app", None)
    with zipfile.ZipFile(tmp_path / "aws" / "app.zip") as archive:
        archive.extractall(tmp_path / "task")
    template = tmp_path / "aws" / "template.yaml"
    for function, expected in (("heavy", (120, 512)), ("light", (30, 256))):
        limits = template_limits(template, function)
        assert (limits.timeout, limits.memory) == expected, function
        with RuntimeAPI(timeout=limits.timeout) as api:
            process = RuntimeProcess(api, tmp_path / "task", f"pf_entry.{function}", aws_env,
                                     memory=limits.memory)
            try:
                result = api.invoke(load("sam_scheduled.json"))
                assert result.ok, result
            finally:
                output = process.stop()
        (line,) = [json.loads(text) for text in output.splitlines()
                   if text.startswith("{") and '"limits"' in text]
        assert limits.timeout - 10 < line["remaining_time"] <= limits.timeout, (function, line)
        assert line["memory"] == str(limits.memory), (function, line)


def test_unknown_shape_is_an_invocation_error(run: Any) -> None:
    api = run("fulfil")
    result = api.invoke({"hello": "world"})
    assert not result.ok and result.body["errorType"] == "EventDecodeError"


def test_bytecode_zip_runs_under_the_runtime(
    aws_env: dict[str, str], tmp_path: Path
) -> None:
    """The opt-in bytecode zip (compiled here for this interpreter, as it would be for the
    function's runtime): the framework is sourceless .pyc, the app stays source, and
    awslambdaric runs it with bytecode writing off, as on Lambda's read-only task root."""
    import zipfile

    from examples.shop.app import app

    from portable_fn_aws.adapter import AwsAdapter

    runtime = f"python{sys.version_info.major}.{sys.version_info.minor}"
    out = tmp_path / "aws"
    findings = AwsAdapter(runtime=runtime, bytecode=True).package(app, "examples.shop.app:app", out)
    assert not any("bytecode" in f.message for f in findings)
    with zipfile.ZipFile(out / "app.zip") as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "task")
    assert {"portable_fn/app.pyc", "portable_fn_aws/_handler.pyc"} <= names
    assert not any(n.startswith(("portable_fn/", "portable_fn_aws/")) and n.endswith(".py")
                   for n in names)
    assert "examples/shop/app.py" in names  # the app's own code stays source
    with RuntimeAPI() as api:
        process = RuntimeProcess(api, tmp_path / "task", "pf_entry.fulfil", aws_env)
        try:
            good = native.sqs_record('{"id": "o-1", "sku": "book"}', queue="fulfilment")
            poison = native.sqs_record('{"id": "o-2", "sku": "poison"}', queue="fulfilment")
            result = api.invoke({"Records": [good, poison]})
            assert result.ok, result
            assert result.body == {"batchItemFailures": [{"itemIdentifier": poison["messageId"]}]}
        finally:
            process.stop()
    probe = "import portable_fn; print(portable_fn.__file__)"
    where = subprocess.run([sys.executable, "-B", "-c", probe], cwd=tmp_path / "task",
                           env={**os.environ, "PYTHONPATH": str(tmp_path / "task")},
                           capture_output=True, text=True, check=True).stdout.strip()
    assert where == str(tmp_path / "task" / "portable_fn" / "__init__.pyc")


STDLIB_APP = '''\
import logging

import portable_fn as pf

app = pf.App("stdlibs")


@app.queue("jobs")
def job(event: pf.CloudEvent) -> None:
    logging.getLogger("shop.lib").warning("stdlib record %s", event.id)
'''


def test_lambdas_own_logging_handler_is_left_alone(
    aws_env: dict[str, str], tmp_path: Path
) -> None:
    """awslambdaric puts its own handler on the root logger before it imports the function
    (https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html: the runtime writes the
    ``logging`` records, as text or with AWS_LAMBDA_LOG_FORMAT=JSON as JSON): portable-fn's
    bridge of ``logging`` records stays out, so a record is written once, by Lambda."""
    import zipfile

    from portable_fn._local.loader import load_app
    from portable_fn_aws.adapter import adapter

    source = tmp_path / "aws_stdlib_app.py"
    source.write_text(STDLIB_APP)
    ref = f"{source}:app"
    adapter.package(load_app(ref), ref, tmp_path / "aws")
    with zipfile.ZipFile(tmp_path / "aws" / "app.zip") as archive:
        archive.extractall(tmp_path / "task")
    with RuntimeAPI() as api:
        process = RuntimeProcess(api, tmp_path / "task", "pf_entry.job", aws_env)
        try:
            record = native.sqs_record('{"id": "o-1"}', queue="jobs")
            result = api.invoke({"Records": [record]})
            assert result.ok, result
        finally:
            output = process.stop()
    said = [line for line in output.splitlines() if "stdlib record" in line]
    assert len(said) == 1, output
    assert not said[0].startswith("{"), said  # Lambda's text line, not a portable-fn one
