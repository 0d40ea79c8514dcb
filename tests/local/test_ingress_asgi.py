# SPDX-License-Identifier: Apache-2.0
"""The ingress as a client meets it through the ASGI app: what it refuses, and how.

Driven in-process through the ASGI 3 protocol (https://asgi.readthedocs.io/en/latest/specs/
www.html), as uvicorn drives it, with the real runtime and broker on a temporary state dir.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from portable_fn._local import ingress
from portable_fn._local.asgi import LocalASGI
from portable_fn._local.loader import load_app
from portable_fn._local.report import Reporter
from portable_fn._local.runtime import Options, Runtime
from portable_fn.events import CloudEvent, to_structured

SHOP = str(Path(__file__).resolve().parents[2] / "examples" / "shop" / "app.py")


def _post(
    tmp_path: Path, path: str, headers: dict[str, str], chunks: list[bytes]
) -> tuple[int, dict[str, Any], int]:
    """POST ``chunks`` as the body; (status, JSON answer, chunks the app read)."""
    runtime = Runtime(
        load_app(SHOP),
        Options(state_dir=tmp_path / "state"),
        Reporter(json_lines=True, stream=io.StringIO()),
    )
    read = 0
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        read += 1
        return {"type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1),
        "root_path": "",
    }
    try:
        asyncio.run(LocalASGI(runtime)(scope, receive, send))
    finally:
        runtime.store.close()
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
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
