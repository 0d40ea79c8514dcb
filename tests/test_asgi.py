"""``portable_fn.asgi``: the local runtime under any ASGI server, driven here by the ASGI 3
protocol itself (lifespan, then HTTP), as uvicorn or hypercorn would drive it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

import portable_fn as pf
from portable_fn.asgi import asgi


async def _drive(application: Any) -> tuple[list[dict[str, Any]], list[str]]:
    lifespan_in: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    lifespan_out: list[str] = []

    async def lifespan_send(message: dict[str, Any]) -> None:
        lifespan_out.append(message["type"])

    await lifespan_in.put({"type": "lifespan.startup"})
    task = asyncio.create_task(application({"type": "lifespan", "asgi": {"version": "3.0"}},
                                           lifespan_in.get, lifespan_send))
    while "lifespan.startup.complete" not in lifespan_out:
        await asyncio.sleep(0.01)

    sent: list[dict[str, Any]] = []
    body = json.dumps({"sku": "a"}).encode()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "path": "/orders", "raw_path": b"/orders", "query_string": b"",
             "headers": [(b"content-type", b"application/json")], "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 8080), "scheme": "http", "root_path": ""}
    await application(scope, receive, send)
    await asyncio.sleep(0.3)  # the topic subscriber runs in the background
    await lifespan_in.put({"type": "lifespan.shutdown"})
    await task
    return sent, lifespan_out


def test_asgi_app_serves_routes_and_delivers_events(tmp_path: Path) -> None:
    app = pf.App("shop")
    seen: list[Any] = []

    @app.http("/orders", methods=["POST"])
    def create(req: pf.Request) -> pf.Response:
        pf.publish("orders", req.json())
        return pf.Response.json({"ok": True}, status=202)

    @app.topic("orders")
    def on_order(event: pf.CloudEvent) -> None:
        seen.append(event.data)

    sent, lifespan = asyncio.run(_drive(asgi(app, state_dir=tmp_path / "state")))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert (start["status"], json.loads(body)) == (202, {"ok": True})
    assert lifespan == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert seen == [{"sku": "a"}]
    assert (tmp_path / "state").is_dir()


def test_a_failure_inside_the_runtime_answers_json_500_without_a_traceback(
    tmp_path: Path,
) -> None:
    """The broker failing (a full disk, say) under the ingress: the client gets the JSON error
    every other failure gets, not the server's plain-text page, and the cause is reported."""
    app = pf.App("broken")

    @app.topic("orders")
    def on_t(event: pf.CloudEvent) -> None: ...

    application = asgi(app, state_dir=tmp_path / "state")

    def full_disk(kind: str, target: str, event: pf.CloudEvent) -> tuple[str, ...]:
        raise OSError(28, "No space left on device")

    application.runtime.accept = full_disk
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"ce-specversion", b"1.0"), (b"ce-id", b"1"), (b"ce-source", b"/s"),
               (b"ce-type", b"x"), (b"content-type", b"application/json")]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "path": "/_pf/topics/orders", "raw_path": b"/_pf/topics/orders",
             "query_string": b"", "headers": headers, "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 8080), "scheme": "http", "root_path": ""}
    asyncio.run(application(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert start["status"] == 500 and (b"content-type", b"application/json") in start["headers"]
    assert json.loads(body) == {"error": {"status": 500, "message": "internal server error"}}
    application.runtime.store.close()


def test_routes_match_below_the_root_path_a_mount_or_proxy_sets(tmp_path: Path) -> None:
    """``uvicorn --root-path /api`` or a Starlette ``Mount("/api", ...)``: ASGI puts the prefix
    in both ``root_path`` and ``path``, and routes match the rest (Starlette does the same)."""
    app = pf.App("mounted")

    @app.http("/orders/{order_id}")
    def get_order(req: pf.Request) -> dict[str, Any]:
        return {"id": req.path_params["order_id"], "path": req.path}

    application = asgi(app, state_dir=tmp_path / "state")

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    def get(path: str, root_path: str) -> tuple[int, Any]:
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": "GET", "path": path, "raw_path": path.encode(), "query_string": b"",
                 "headers": [], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8080),
                 "scheme": "http", "root_path": root_path}
        asyncio.run(application(scope, receive, send))
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return sent[0]["status"], json.loads(body)

    assert get("/api/orders/7", "/api") == (200, {"id": "7", "path": "/orders/7"})
    assert get("/orders/7", "") == (200, {"id": "7", "path": "/orders/7"})
    assert get("/apix/orders/7", "/api")[0] == 404  # a prefix of a segment is no root
    application.runtime.store.close()


GONE = [{"type": "http.disconnect"}]
CUT = [{"type": "http.request", "body": b"half of ", "more_body": True}, *GONE]


@pytest.mark.parametrize(
    ("messages", "headers", "runs"),
    [
        (CUT, [(b"content-length", b"100")], False),  # part of the body, then gone
        (GONE, [(b"content-length", b"100")], False),  # gone before the body was read
        (GONE, [(b"transfer-encoding", b"chunked")], False),
        (GONE, [], True),  # no body announced: the request was whole
    ],
    ids=["part", "none", "chunked", "bodiless"],
)
def test_a_client_gone_before_its_body_ends_runs_no_handler(
    tmp_path: Path, messages: list[dict[str, Any]], headers: list[tuple[bytes, bytes]], runs: bool
) -> None:
    """The server says ``http.disconnect`` before the body ends: the handler must not run on
    the truncated bytes (a partial upload stored, half an order taken)."""
    app = pf.App("cut")
    seen: list[bytes] = []

    @app.http("/upload", methods=["POST"])
    def upload(req: pf.Request) -> None:
        seen.append(req.body)

    application = asgi(app, state_dir=tmp_path / "state")
    pending = list(messages)

    async def receive() -> dict[str, Any]:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        pass

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "path": "/upload", "raw_path": b"/upload", "query_string": b"",
             "headers": headers, "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 8080), "scheme": "http", "root_path": ""}
    asyncio.run(application(scope, receive, send))
    assert seen == ([b""] if runs else [])
    application.runtime.store.close()
