# SPDX-License-Identifier: Apache-2.0
"""The ingress as a client meets it through the ASGI app: what it refuses, and how.

Driven in-process through the ASGI 3 protocol (https://asgi.readthedocs.io/en/latest/specs/
www.html), as uvicorn drives it, with the real runtime and broker on a temporary state dir.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import portable_fn as pf
from portable_fn._local import ingress
from portable_fn._local.asgi import LocalASGI
from portable_fn._local.loader import load_app
from portable_fn._local.report import Reporter
from portable_fn._local.runtime import Options, Runtime
from portable_fn.events import CloudEvent, to_structured

from .asgi_client import request

SHOP = str(Path(__file__).resolve().parents[2] / "examples" / "shop" / "app.py")


def _post(
    tmp_path: Path,
    path: str,
    headers: dict[str, str],
    chunks: list[bytes],
    *,
    app: pf.App | None = None,
    options: Options | None = None,
    query: bytes = b"",
) -> tuple[int, dict[str, Any], int]:
    """POST ``chunks`` as the body (to the shop, or ``app``); (status, JSON answer, chunks the
    app read)."""
    start, body, read = request(
        app or load_app(SHOP),
        options or Options(state_dir=tmp_path / "state"),
        "POST",
        path,
        list(headers.items()),
        chunks,
        query=query,
    )
    return start["status"], json.loads(body), read


def _order() -> tuple[dict[str, str], bytes]:
    # The shop README's curl: an order event published straight to the topic.
    return to_structured(
        CloudEvent(
            id="o-9",
            source="/curl",
            type="com.example.order.created",
            datacontenttype="application/json",
            data={"id": "o-9", "sku": "book"},
        )
    )


def test_a_body_over_the_ingress_limit_is_a_413_and_is_not_read_to_the_end(
    tmp_path: Path,
) -> None:
    limit = ingress.MAX_BODY_BYTES
    chunk = b"x" * (64 * 1024)
    chunks = [chunk] * (limit // len(chunk) * 4)  # 4 MiB, sent in pieces
    headers = {"content-type": "application/cloudevents-batch+json"}
    status, answer, read = _post(tmp_path, "/_pf/topics/order-events", headers, chunks)
    assert status == 413 and answer["error"]["status"] == 413
    assert read <= limit // len(chunk) + 1  # stopped once past the limit
    announced = {**headers, "content-length": str(limit + 1)}
    status, answer, read = _post(tmp_path, "/_pf/topics/order-events", announced, [b"[]"])
    assert status == 413 and read == 0  # refused on the announced length alone


def test_an_unknown_topic_or_queue_is_a_404_naming_those_that_exist(tmp_path: Path) -> None:
    headers, body = _order()
    status, answer, _ = _post(tmp_path, "/_pf/topics/order-evnets", headers, [body])
    assert status == 404
    message = answer["error"]["message"]
    assert "order-evnets" in message and "order-events" in message
    status, answer, _ = _post(tmp_path, "/_pf/queues/fulfillment", headers, [body])
    assert status == 404 and "fulfilment" in answer["error"]["message"]
    status, answer, _ = _post(tmp_path, "/_pf/topics/order-events", headers, [body])
    assert status == 202 and answer["functions"] == ["notify_customer", "request_fulfilment"]
    # A declared dead-letter queue is the app's too, consumed or not (the runtime warns).
    status, _, _ = _post(tmp_path, "/_pf/queues/fulfilment-dlq", headers, [body])
    assert status == 202


def test_a_route_handler_past_the_function_timeout_is_a_json_504(tmp_path: Path) -> None:
    """A handler stuck in a call: API Gateway answers 504 once its integration times out
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html, 29 s) and Cloud
    Run 504 past the request timeout (https://cloud.google.com/run/docs/configuring/request-
    timeout). Before, the client waited for ever and ``ctx.deadline`` was None."""
    import threading

    app = pf.App("hangs")
    release = threading.Event()

    @app.http("/sync", methods=["POST"])
    def stuck(req: pf.Request, ctx: pf.Context) -> dict[str, Any]:
        release.wait(10)
        return {"left": ctx.remaining_time}

    @app.http("/async", methods=["POST"])
    async def astuck(req: pf.Request) -> dict[str, Any]:
        await asyncio.sleep(10)
        return {}

    @app.http("/deadline", methods=["POST"])
    def deadline(req: pf.Request, ctx: pf.Context) -> dict[str, Any]:
        return {"left": ctx.remaining_time}

    options = Options(state_dir=tmp_path / "state", timeout=0.2)
    try:
        for path in ("/sync", "/async"):
            status, answer, _ = _post(tmp_path, path, {}, [b""], app=app, options=options)
            message = answer["error"]["message"]
            assert status == 504 and "0.2 s function timeout" in message
            assert "thread" not in message  # how the handler ended is the log's, not the client's
    finally:
        release.set()
    status, answer, _ = _post(tmp_path, "/deadline", {}, [b""], app=app, options=options)
    assert status == 200 and 0 < answer["left"] <= 0.2


def test_an_async_route_that_swallows_its_cancellation_is_still_a_504(tmp_path: Path) -> None:
    """The handler catches the cancellation the timeout sends and answers anyway, late: the
    client gets the 504 a cloud gives past the timeout, not the late answer."""
    app = pf.App("swallows")

    @app.http("/late", methods=["POST"])
    async def late(req: pf.Request) -> dict[str, Any]:
        try:
            await asyncio.sleep(3)
        except BaseException:  # a lookup's "log and carry on"
            pf.logger.warning("lookup interrupted, carrying on")
        return {"late": True}

    options = Options(state_dir=tmp_path / "state", timeout=0.2)
    started = time.monotonic()
    status, answer, _ = _post(tmp_path, "/late", {}, [b""], app=app, options=options)
    assert status == 504 and "0.2 s function timeout" in answer["error"]["message"]
    assert time.monotonic() - started < 2


def test_a_route_runs_under_its_own_declared_timeout_unless_dev_lifts_every_limit(
    tmp_path: Path,
) -> None:
    """``@app.http(..., timeout=1)`` is that function's Lambda ``Timeout`` (and Cloud Run's
    ``--timeout``): ``dev`` holds it to the same, over its own 30 s default, and ``ctx.deadline``
    says so; ``dev --timeout 60`` (more room for the others) does not cut it either. Only
    ``dev --timeout 0`` (``no_timeouts``, a debugger's breakpoint) lifts it."""
    app = pf.App("limits")

    @app.http("/slow", methods=["POST"], timeout=1)
    async def slow(req: pf.Request, ctx: pf.Context) -> dict[str, Any]:
        left = ctx.remaining_time
        await asyncio.sleep(0.4)
        return {"left": left}

    own = Options(state_dir=tmp_path / "state", timeout=0.2)
    status, answer, _ = _post(tmp_path, "/slow", {}, [b""], app=app, options=own)
    assert status == 200 and 0.5 < answer["left"] <= 1
    lifted = Options(state_dir=tmp_path / "state", timeout=None, no_timeouts=True)
    status, answer, _ = _post(tmp_path, "/slow", {}, [b""], app=app, options=lifted)
    assert (status, answer["left"]) == (200, None)  # no deadline at all


def test_a_route_body_past_the_smallest_cloud_limit_is_a_413_not_read_to_the_end(
    tmp_path: Path,
) -> None:
    """AWS Lambda takes a 6 MB request payload
    (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html), the smallest of
    the clouds. Before, an app route read any body whole into memory (a 20 MB upload reached
    the handler, and would be a 413 at the first deploy)."""
    app = pf.App("uploads")

    @app.http("/up", methods=["POST"])
    def up(req: pf.Request) -> dict[str, Any]:
        return {"n": len(req.body)}

    chunk = b"x" * (1024 * 1024)
    status, answer, read = _post(tmp_path, "/up", {}, [chunk] * 20, app=app)
    assert status == 413 and "6 MB" in answer["error"]["message"]
    assert read <= 7  # stopped once past the limit
    announced = {"content-length": str(20 * len(chunk))}
    status, answer, read = _post(tmp_path, "/up", announced, [b""], app=app)
    assert status == 413 and read == 0  # refused on the announced length alone
    status, answer, _ = _post(tmp_path, "/up", {}, [chunk] * 6, app=app)
    assert status == 200 and answer == {"n": 6 * len(chunk)}
    unlimited = Options(state_dir=tmp_path / "state", max_body=None)
    status, answer, _ = _post(tmp_path, "/up", {}, [chunk] * 20, app=app, options=unlimited)
    assert status == 200 and answer == {"n": 20 * len(chunk)}
    # A limit set with --max-body is named as set, not explained as Lambda's.
    small = Options(state_dir=tmp_path / "state", max_body=100)
    status, answer, _ = _post(tmp_path, "/up", {}, [chunk], app=app, options=small)
    message = answer["error"]["message"]
    assert status == 413 and "100 bytes" in message and "--max-body" in message
    assert "6 MB" not in message


def test_raw_utf8_in_a_query_reads_as_the_clouds_read_it(tmp_path: Path) -> None:
    """curl and Go send a query's non-ASCII characters as raw UTF-8 bytes (RFC 3986 section 2.5:
    UTF-8 is what a URI's characters are encoded as); GCP and AWS give the handler ``ü``, here
    it was ``Ã¼`` (the bytes read as Latin-1). A byte that is no UTF-8 is U+FFFD, as on GCP."""
    app = pf.App("query")

    @app.http("/q", methods=["POST"])
    def q(req: pf.Request) -> dict[str, Any]:
        return {"query": list(req.query.items())}

    query = "u=ü&v=%C3%BC".encode() + b"&w=\xff"
    status, answer, _ = _post(tmp_path, "/q", {}, [b""], app=app, query=query)
    assert status == 200 and answer["query"] == [["u", "ü"], ["v", "ü"], ["w", "\ufffd"]]


def test_a_response_past_lambdas_payload_limit_is_sent_with_a_warning(tmp_path: Path) -> None:
    """dev refuses a request body past AWS Lambda's 6 MB payload but sent any response without
    a word: a 5 MB binary body (about 6.7 MB base64, as the AWS adapter returns it) was a 200
    here and an error on Lambda (https://docs.aws.amazon.com/lambda/latest/dg/
    gettingstarted-limits.html). It is still sent; a WARNING names the limit. 4.5 MB of text
    (no base64) fits, and says nothing."""
    app = pf.App("big")

    @app.http("/blob", auth="anonymous")
    def blob(request: pf.Request) -> pf.Response:
        if request.query.get("text"):
            return pf.Response.text("x" * 4_500_000)
        return pf.Response(headers={"content-type": "image/png"}, body=b"\0" * 5_000_000)

    stream = io.StringIO()
    runtime = Runtime(app, Options(state_dir=tmp_path / "state"),
                      Reporter(json_lines=True, stream=stream))
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    try:
        for query in (b"", b"text=1"):
            scope = {"type": "http", "method": "GET", "path": "/blob", "query_string": query,
                     "headers": [], "client": ("127.0.0.1", 1), "root_path": ""}
            asyncio.run(LocalASGI(runtime)(scope, receive, send))
    finally:
        runtime.store.close()
    starts = [m["status"] for m in sent if m["type"] == "http.response.start"]
    sizes = [len(m.get("body", b"")) for m in sent if m["type"] == "http.response.body"]
    assert (starts, sizes) == ([200, 200], [5_000_000, 4_500_000])
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    (warning,) = [line["message"] for line in lines if line["event"] == "warning"]
    assert warning.startswith("GET /blob: ") and "Lambda's 6 MB response payload" in warning


def _stalled(
    tmp_path: Path, path: str, headers: dict[str, str], part: bytes, options: Options,
    app: pf.App | None = None,
) -> tuple[int, dict[str, str], dict[str, Any], float]:
    """A client that sends ``part`` of its body, then nothing for 5 s, then leaves: (status,
    response headers, JSON answer, seconds until the answer started)."""
    runtime = Runtime(
        app or load_app(SHOP), options, Reporter(json_lines=True, stream=io.StringIO())
    )
    sent: list[MutableMapping[str, Any]] = []
    calls = 0
    started = 0.0

    async def receive() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            return {"type": "http.request", "body": part, "more_body": True}
        await asyncio.sleep(5)  # the client stalls, then gives up
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal started
        if message["type"] == "http.response.start":
            started = time.monotonic()
        sent.append(message)

    scope = {
        "type": "http", "method": "POST", "path": path, "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1), "root_path": "", "http_version": "1.1",
    }
    began = time.monotonic()
    try:
        asyncio.run(LocalASGI(runtime)(scope, receive, send))
    finally:
        runtime.store.close()
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert starts, "the client got no answer at all"
    head = {k.decode(): v.decode() for k, v in starts[0]["headers"]}
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return starts[0]["status"], head, json.loads(body), started - began


def test_a_client_that_stalls_mid_body_gets_a_json_408_and_the_connection_closes(
    tmp_path: Path,
) -> None:
    """A client that sends less than its Content-Length and stops (a dropped upload, a
    slowloris): RFC 9110 section 15.5.9, a 408 when the request does not arrive within the
    time the server waits, with ``Connection: close`` (the framing is out of sync). Before,
    the request waited for ever, no answer and the connection held; the wait is the function
    timeout (dev's 30 s, ``--timeout``), so a debugger's ``--timeout 0`` still waits."""
    app = pf.App("uploads")

    @app.http("/up", methods=["POST"])
    def up(req: pf.Request) -> dict[str, Any]:
        return {"n": len(req.body)}

    options = Options(state_dir=tmp_path / "state", timeout=0.3)
    for path in ("/up", "/_pf/events"):
        status, head, answer, waited = _stalled(
            tmp_path, path,
            {"host": "localhost", "content-length": "100", "content-type": "application/json"},
            b'{"a": ', options, app,
        )
        assert (status, answer["error"]["status"]) == (408, 408), answer
        assert "0.3 s" in answer["error"]["message"] and head["connection"] == "close"
        assert waited < 3  # the function timeout, not the client's own give-up


def test_a_route_that_calls_sys_exit_is_a_json_500(tmp_path: Path) -> None:
    """``sys.exit()`` in an HTTP handler: API Gateway answers a Lambda whose runtime exited a
    502/500 (``Runtime.ExitError``), in JSON here as every failure. Before, the ``SystemExit``
    left the ASGI app: uvicorn answered its plain-text "Internal Server Error" and printed its
    own traceback."""
    import sys

    app = pf.App("exits")

    @app.http("/sync", methods=["POST"])
    def leave(req: pf.Request) -> dict[str, Any]:
        sys.exit(3)

    @app.http("/async", methods=["POST"])
    async def aleave(req: pf.Request) -> dict[str, Any]:
        sys.exit(4)

    for path in ("/sync", "/async"):
        status, answer, _ = _post(tmp_path, path, {}, [b""], app=app)
        assert (status, answer) == (
            500, {"error": {"status": 500, "message": "internal server error"}}
        )
