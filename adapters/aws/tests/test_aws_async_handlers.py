# SPDX-License-Identifier: Apache-2.0
"""``async def`` handlers packaged and run under awslambdaric (the real Lambda runtime client)
against the Runtime API emulator: a handler that ends cancelled (``asyncio.CancelledError`` is a
BaseException) fails its own SQS message, not the whole batch, and is a JSON 500 over HTTP; a
plain function that returns a coroutine (a decorator that is not async-aware) has it awaited,
so its failure is reported instead of the message being acknowledged unrun; a task a handler
starts and does not await runs within its invocation, before Lambda freezes the sandbox."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from portable_fn_aws import native

from aws_fixtures import Functions, load, packaged

APP = '''\
import asyncio
import functools
import os

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


async def record_later(line: str) -> None:
    await asyncio.sleep(0.05)
    with open(os.environ["PF_TEST_RECORD"], "a") as record:
        record.write(line + "\\n")


@app.queue("later")
async def later(event: pf.CloudEvent, ctx: pf.Context) -> None:
    # Fire and forget: the invocation waits for the task before it answers.
    asyncio.create_task(record_later(f"{event.data['n']} {ctx.invocation_id}"))
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


def test_a_task_the_handler_does_not_await_runs_before_the_invocation_answers(
    task: Path, aws_env: dict[str, str], tmp_path: Path
) -> None:
    """Lambda freezes the sandbox once the handler has answered
    (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html): a task left
    on the loop ran at the next invocation, under its ids, or never."""
    record = tmp_path / "record.txt"
    record.write_text("")
    functions = Functions(task, {**aws_env, "PF_TEST_RECORD": str(record)})
    try:
        api = functions("later")
        result = api.invoke({"Records": _records("later", {"n": 1})})
        assert result.ok and result.body == {"batchItemFailures": []}, result
        [line] = record.read_text().splitlines()  # written before the answer
        assert line.startswith("1 ")
        again = api.invoke({"Records": _records("later", {"n": 2})})
        assert again.ok, again
        first, second = record.read_text().splitlines()
        assert second.startswith("2 ") and second.split()[1] != first.split()[1]
    finally:
        functions.stop()


WRAPPED_ONLY = '''\
import functools

import portable_fn as pf

app = pf.App("wrapsasync")


def not_async_aware(handler):
    @functools.wraps(handler)
    def wrapper(value):
        return handler(value)

    return wrapper


@app.queue("jobs")
@not_async_aware
async def job(event: pf.CloudEvent) -> None:
    pass
'''


def test_the_event_loop_module_ships_only_with_an_app_that_may_await(
    shop_package: Path, tmp_path: Path
) -> None:
    """``portable_fn/_loop.py`` (3 kB) is imported by the first async handler to run: the shop,
    all ``def``, leaves it out; an app whose only coroutine function hides behind a decorator
    that is not async-aware (a plain function returning the coroutine) keeps it."""
    shop = set(zipfile.ZipFile(shop_package / "app.zip").namelist())
    assert "portable_fn/_dispatch.py" in shop and "portable_fn/_loop.py" not in shop
    _, names = packaged(tmp_path, "wraps_async_app", WRAPPED_ONLY)
    assert "portable_fn/_loop.py" in names
