# SPDX-License-Identifier: Apache-2.0
"""``async def`` handlers under the real functions-framework server (gunicorn, one worker with
several threads, as Cloud Run functions runs it): requests that arrive together each run their
handler's coroutine (one event loop per thread, not one shared by all); a handler that ends
cancelled (``asyncio.CancelledError``, a BaseException) is the JSON 500 of any failure."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import Servers, _package, _targets

APP = '''\
import asyncio

import portable_fn as pf

app = pf.App("asyncs")


@app.http("/slow", methods=["GET"])
async def slow(req: pf.Request) -> dict:
    await asyncio.sleep(0.3)
    return {"ok": True}


@app.http("/cancelled", methods=["GET"])
async def cancelled(req: pf.Request) -> None:
    task = asyncio.ensure_future(asyncio.sleep(10))
    await asyncio.sleep(0)
    task.cancel()
    await task


@app.queue("jobs")
async def job(event: pf.CloudEvent) -> None:
    await asyncio.sleep(0.3)
'''


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    root = tmp_path_factory.mktemp("asyncs")
    source = root / "gcp_async_app.py"
    source.write_text(APP)
    dist = _package(f"{source}:app", root / "dist" / "gcp")
    started = Servers(dist, _targets(dist), {"GOOGLE_CLOUD_PROJECT": "test-project"}, root)
    yield started
    started.close()


def test_concurrent_requests_to_an_async_handler_all_answer(servers: Servers) -> None:
    server = servers["slow"]
    with ThreadPoolExecutor(6) as pool:
        replies = list(pool.map(lambda _: server.request("/slow", method="GET"), range(6)))
    assert [status for status, _, _ in replies] == [200] * 6, server.output()
    assert all(json.loads(body) == {"ok": True} for _, _, body in replies)


def test_concurrent_events_to_an_async_handler_are_all_acknowledged(servers: Servers) -> None:
    server = servers["job"]
    headers = {
        "ce-specversion": "1.0",
        "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
        "ce-source": "//pubsub.googleapis.com/projects/test-project/topics/jobs",
        "content-type": "application/json",
    }
    body = {"message": {"data": "e30=", "messageId": "1", "publishTime": "2024-01-01T00:00:00Z"},
            "subscription": "projects/test-project/subscriptions/jobs"}

    def deliver(i: int) -> int:
        status, _, _ = server.request(
            "/", body=json.dumps(body).encode(), headers={**headers, "ce-id": f"id-{i}"}
        )
        return status

    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(deliver, range(6)))
    assert statuses == [200] * 6, server.output()


def test_a_cancelled_async_handler_is_a_json_500(servers: Servers) -> None:
    status, headers, body = servers["cancelled"].request("/cancelled", method="GET")
    assert status == 500
    assert headers["content-type"] == ["application/json"]
    assert json.loads(body) == {"error": {"status": 500, "message": "internal server error"}}


