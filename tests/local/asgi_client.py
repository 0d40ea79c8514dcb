"""One HTTP request through the local runtime's ASGI app, in-process, as uvicorn drives it
(the ASGI 3 HTTP protocol, https://asgi.readthedocs.io/en/latest/specs/www.html), with the real
runtime and broker on the given options' state dir."""

from __future__ import annotations

import asyncio
import io
from collections.abc import MutableMapping, Sequence
from typing import Any

import portable_fn as pf
from portable_fn._local.asgi import LocalASGI
from portable_fn._local.report import Reporter
from portable_fn._local.runtime import Options, Runtime


def request(
    app: pf.App,
    options: Options,
    method: str,
    path: str,
    headers: Sequence[tuple[str, str]],
    chunks: Sequence[bytes] = (b"",),
    *,
    query: bytes = b"",
) -> tuple[MutableMapping[str, Any], bytes, int]:
    """Send ``chunks`` as the body; (the response's start message, its body, chunks read)."""
    runtime = Runtime(app, options, Reporter(json_lines=True, stream=io.StringIO()))
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
        "method": method,
        "path": path,
        "query_string": query,
        "headers": [(k.encode(), v.encode()) for k, v in headers],
        "client": ("127.0.0.1", 1),
        "root_path": "",
    }
    try:
        asyncio.run(LocalASGI(runtime)(scope, receive, send))
    finally:
        runtime.store.close()
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start, body, read
