# SPDX-License-Identifier: Apache-2.0
"""``async def`` handlers packaged and run under awslambdaric (the real Lambda runtime client)
against the Runtime API emulator: a handler that ends cancelled (``asyncio.CancelledError`` is a
BaseException) fails its own SQS message, not the whole batch, and is a JSON 500 over HTTP; a
plain function that returns a coroutine (a decorator that is not async-aware) has it awaited,
so its failure is reported instead of the message being acknowledged unrun."""

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
import functools

import portable_fn as pf

app = pf.App("asyncs")


async def cancelled_lookup():
    task = asyncio.ensure_future(asyncio.sleep(10))
    await asyncio.sleep(0)
    task.cancel()
    await task


def not_async_aware(handler):
    @functools.wraps(handler)
    def wrapper(value):
        return handler(value)

    return wrapper


@app.queue("waits")
async def waits(event: pf.CloudEvent) -> None:
    if event.data.get("mode") == "cancel":
        await cancelled_lookup()
    await asyncio.sleep(0)


@app.queue("wrapped")
@not_async_aware
async def wrapped(event: pf.CloudEvent) -> None:
    await asyncio.sleep(0)
    if event.data.get("mode") == "fail":
        raise ValueError("the wrapped handler ran and failed")


@app.http("/cancelled", methods=["GET"])
async def cancelled(req: pf.Request) -> None:
    await cancelled_lookup()
'''


@pytest.fixture(scope="module")
def task(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return packaged(tmp_path_factory.mktemp("asyncs"), "async_handlers_app", APP)[0]


@pytest.fixture
def run(task: Path, aws_env: dict[str, str]) -> Iterator[Functions]:
    functions = Functions(task, aws_env)
    yield functions
    functions.stop()


def _records(queue: str, *bodies: dict[str, Any]) -> list[dict[str, Any]]:
    return [native.sqs_record(json.dumps(body), queue=queue) for body in bodies]


def test_a_cancelled_async_handler_fails_only_its_sqs_message(run: Any) -> None:
    api = run("waits")
    records = _records("waits", {"n": 1}, {"mode": "cancel"}, {"n": 2})
    result = api.invoke({"Records": records})
    assert result.ok, result
    assert result.body == {"batchItemFailures": [{"itemIdentifier": records[1]["messageId"]}]}
    # The process's event loop is still usable by the next invocation.
    again = api.invoke({"Records": _records("waits", {"n": 3})})
    assert again.ok and again.body == {"batchItemFailures": []}, again


def test_a_cancelled_async_http_handler_is_a_json_500(run: Any) -> None:
    api = run("cancelled")
    event = load("function_url.json")
    event.update(rawPath="/cancelled", rawQueryString="", cookies=[])
    event["requestContext"]["http"].update(method="GET", path="/cancelled")
    result = api.invoke(event)
    assert result.ok, result
    assert result.body["statusCode"] == 500
    assert json.loads(result.body["body"]) == {
        "error": {"status": 500, "message": "internal server error"}
    }


def test_a_coroutine_a_plain_function_returns_is_awaited(run: Any) -> None:
    api = run("wrapped")
    records = _records("wrapped", {"mode": "fine"}, {"mode": "fail"})
    result = api.invoke({"Records": records})
    assert result.ok, result
    assert result.body == {"batchItemFailures": [{"itemIdentifier": records[1]["messageId"]}]}
