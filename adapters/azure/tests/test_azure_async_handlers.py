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


class _Grid:
    """A loopback Event Grid topic endpoint for the real azure-eventgrid client: it records
    each POST's events and answers once ``release`` is set (5 s at most), with ``status``."""

    def __init__(self) -> None:
        import http.server

        self.release = threading.Event()
        self.released: list[bool] = []
        self.received: list[Any] = []
        self.status = 200
        grid = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                grid.received.extend(json.loads(body))
                grid.released.append(grid.release.wait(timeout=5))
                self.send_response(grid.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _http(native: Any, name: str, method: str, path: str) -> Any:
    request = {"binding": "httpTrigger", "data": {"type": "http", "value": {
        "method": method, "url": f"https://x.azurewebsites.net/{path}", "headers": {},
        "query": {}, "params": {}, "body": {"type": "bytes", "base64": ""}}}}
    entry = worker._function(native, name).get_user_function()
    return entry(req=worker.decode(request), context=worker.InvocationContext(name))


def test_an_async_handlers_publish_does_not_hold_the_workers_loop(monkeypatch: Any) -> None:
    """The worker awaits async HTTP entries on its one loop, and the SDK clients are
    synchronous: a pf.emit in an async handler held the loop for its network call, and every
    request the worker served waited (python-scale-performance-reference#async). The real
    azure-eventgrid client posts to a loopback topic that answers only once a /ping, sent
    while the post is in flight, has been answered: it timed out (the ping could not run)."""
    import asyncio

    import portable_fn as pf

    grid = _Grid()
    monkeypatch.setenv("EVENTGRID_BUS_ENDPOINT", f"http://127.0.0.1:{grid.server.server_port}/api/events")
    monkeypatch.setenv("EVENTGRID_BUS_KEY", "k")
    app = App("loop")

    @app.http("/order", methods=["POST"], auth="anonymous")
    async def order(req: pf.Request) -> dict[str, bool]:
        pf.emit("com.example.order.placed", {"n": 1})
        pf.emit("com.example.order.placed", {"n": 2})
        return {"ok": True}

    @app.http("/ping", methods=["GET"], auth="anonymous")
    async def ping(req: pf.Request) -> dict[str, bool]:
        return {"pong": True}

    native = function_app(app)

    async def ping_then_release() -> int:
        await asyncio.sleep(0.05)  # the order's publish is under way
        status: int = (await _http(native, "ping", "GET", "ping")).status_code
        grid.release.set()
        return status

    async def both() -> list[int]:
        placed, pinged = await asyncio.gather(_http(native, "order", "POST", "order"),
                                              ping_then_release())
        return [placed.status_code, pinged]

    try:
        assert asyncio.run(both()) == [200, 200]
        assert grid.released[0] is True, "the publish held the loop: the ping waited for it"
        assert [e["data"]["n"] for e in grid.received] == [1, 2]  # in the handler's order
        grid.status = 403  # a topic refusing the events (no SDK retry): the client is told
        failed = asyncio.run(_http(native, "order", "POST", "order"))
        assert failed.status_code == 500
        assert json.loads(failed.get_body())["error"]["status"] == 500
    finally:
        grid.close()


def test_the_sdks_http_lines_stay_out_of_the_functions_logs_unless_asked_for() -> None:
    """azure-core's HTTP logging policy wrote each publish's request and response (URL,
    headers) at INFO: two lines per publish, which the logging bridge wrote as JSON lines. Its
    logger goes to WARNING when the publisher makes its first client, unless the app set it."""
    import logging

    from portable_fn_azure.publisher import AzurePublisher

    http = logging.getLogger("azure.core.pipeline.policies.http_logging_policy")
    before = http.level
    try:
        http.setLevel(logging.NOTSET)
        AzurePublisher()._client(("eventgrid", "bus"), object)
        assert http.level == logging.WARNING
        http.setLevel(logging.DEBUG)  # the app's own choice: kept
        AzurePublisher()._client(("eventgrid", "bus"), object)
        assert http.level == logging.DEBUG
    finally:
        http.setLevel(before)
