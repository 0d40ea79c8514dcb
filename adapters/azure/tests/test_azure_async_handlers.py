# SPDX-License-Identifier: Apache-2.0
"""``async def`` handlers through the generated function app with real ``azure.functions``
objects. Event entries are plain functions, which the Python worker runs in its thread pool
(``PYTHON_THREADPOOL_THREAD_COUNT``, several threads by default), so async event handlers run
from several threads at once; async HTTP entries are awaited on the worker's own loop."""

from __future__ import annotations

import json
import threading
from typing import Any

from portable_fn import App
from portable_fn.testing import RecordingPublisher

from portable_fn_azure import function_app, worker


def _app() -> tuple[App, Any]:
    import asyncio

    app = App("asyncs")
    app.use_publisher(RecordingPublisher())

    @app.queue("jobs")
    async def job(ev: Any) -> None:
        await asyncio.sleep(0.2)

    @app.http("/cancelled", methods=["GET"])
    async def cancelled(req: Any) -> None:
        task = asyncio.ensure_future(asyncio.sleep(10))
        await asyncio.sleep(0)
        task.cancel()
        await task

    return app, function_app(app)


def test_async_queue_handlers_run_from_the_workers_threads_at_once(event: Any) -> None:
    _, native = _app()
    barrier = threading.Barrier(4)
    failures: list[BaseException] = []

    def one() -> None:
        barrier.wait()
        try:
            worker.invoke(native, "job", event("queue_cloudevent"))
        except BaseException as exc:  # the invocation failed: the host would redeliver it
            failures.append(exc)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_a_cancelled_async_http_handler_is_a_json_500() -> None:
    import base64

    _, native = _app()
    request = {"binding": "httpTrigger", "data": {"type": "http", "value": {
        "method": "GET", "url": "https://x.azurewebsites.net/cancelled",
        "headers": {}, "query": {}, "params": {},
        "body": {"type": "bytes", "base64": base64.b64encode(b"").decode()}}}}
    resp = worker.invoke(native, "cancelled", request)
    assert resp.status_code == 500
    assert json.loads(resp.get_body()) == {
        "error": {"status": 500, "message": "internal server error"}
    }
