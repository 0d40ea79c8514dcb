# SPDX-License-Identifier: Apache-2.0
"""``@app.middleware`` packaged and run under awslambdaric (the real Lambda runtime client)
against the Runtime API emulator: the zip carries the middleware module only for an app that
registers one, an HTTP middleware's headers and mapped errors reach API Gateway's response, and
an ``async def`` middleware around a ``def`` queue handler keeps per-message failures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from portable_fn_aws import native

from aws_fixtures import Functions, load, packaged

APP = '''\
import asyncio

import portable_fn as pf

app = pf.App("wrapped")


class OutOfStock(Exception):
    pass


@app.http("/buy/{sku}", methods=["POST"])
def buy(req: pf.Request) -> dict:
    if req.path_params["sku"] == "gone":
        raise OutOfStock("sold out")
    return {"sku": req.path_params["sku"]}


@app.queue("jobs")
def job(event: pf.CloudEvent) -> None:
    if event.data["n"] < 0:
        raise ValueError("negative")


@app.middleware("http")
def answers(req, ctx, call_next):
    try:
        return call_next(req, ctx).with_headers({"x-served-by": ctx.function_name})
    except OutOfStock as exc:
        return pf.Response.json({"error": str(exc)}, status=409)


@app.middleware("queue")
async def refuse_zero(event, ctx, call_next):
    await asyncio.sleep(0)
    if event.data["n"] == 0:
        raise pf.NonRetryable("zero is no job")
    return await call_next(event, ctx)
'''


@pytest.fixture(scope="module")
def task(tmp_path_factory: pytest.TempPathFactory) -> Path:
    task, names = packaged(tmp_path_factory.mktemp("middleware"), "middleware_app", APP)
    assert "portable_fn/_middleware.py" in names
    return task


@pytest.fixture
def run(task: Path, aws_env: dict[str, str]) -> Iterator[Functions]:
    functions = Functions(task, aws_env)
    yield functions
    functions.stop()


def _buy(sku: str) -> dict[str, Any]:
    event = load("function_url.json")
    event.update(rawPath=f"/buy/{sku}", rawQueryString="", cookies=[])
    event["requestContext"]["http"].update(method="POST", path=f"/buy/{sku}")
    return event


def test_an_http_middleware_sets_headers_and_maps_errors_in_lambda(run: Any) -> None:
    api = run("buy")
    ok = api.invoke(_buy("book"))
    assert ok.ok, ok
    assert ok.body["statusCode"] == 200 and ok.body["headers"]["x-served-by"] == "buy"
    gone = api.invoke(_buy("gone"))
    assert gone.ok, gone
    assert gone.body["statusCode"] == 409
    assert json.loads(gone.body["body"]) == {"error": "sold out"}


def test_an_async_middleware_around_a_def_handler_keeps_per_message_failures(run: Any) -> None:
    api = run("job")
    records = [
        native.sqs_record(json.dumps({"n": n}), queue="jobs") for n in (1, -1, 0, 2)
    ]
    result = api.invoke({"Records": records})
    assert result.ok, result
    # -1: the handler's failure; 0: the middleware's NonRetryable, which goes to the function's
    # dead-letter queue when the template's PF_DEAD_LETTER_URL is set, and without it (as
    # here) is reported failed for SQS's own redrive. Both fail alone: 1 and 2 are done.
    failed = {f["itemIdentifier"] for f in result.body["batchItemFailures"]}
    assert failed == {records[1]["messageId"], records[2]["messageId"]}
