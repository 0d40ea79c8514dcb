# SPDX-License-Identifier: Apache-2.0
"""What the local runtime sends when a handler's response header is one HTTP/1.1 servers
refuse, and what it records: the client and the record always agree.

The server side is real h11 (uvicorn's pure-Python HTTP/1.1 protocol, used when httptools is
absent): the ASGI ``send`` below turns ``http.response.start`` into an ``h11.Response`` exactly
as ``uvicorn/protocols/http/h11_impl.py`` does, so h11's own RFC 9110 checks run
(https://www.rfc-editor.org/rfc/rfc9110#section-5.5: a field value has no leading or trailing
whitespace). No socket is needed for that check, so none is opened.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import h11
import pytest

import portable_fn as pf
from portable_fn._local.asgi import LocalASGI
from portable_fn._local.report import Reporter
from portable_fn._local.runtime import Options, Runtime


def _serve(
    tmp_path: Path, header_value: str
) -> tuple[list[MutableMapping[str, Any]], list[dict[str, Any]]]:
    app = pf.App("headers")

    @app.http("/x", methods=["GET"])
    def x(req: pf.Request) -> pf.Response:
        return pf.Response(status=200, headers={"x-note": header_value}, body=b"hi")

    out = io.StringIO()
    runtime = Runtime(
        app, Options(state_dir=tmp_path / "state"), Reporter(json_lines=True, stream=out)
    )
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            # What uvicorn's h11 protocol does with it; LocalProtocolError if h11 refuses.
            h11.Response(status_code=message["status"], headers=message["headers"], reason=b"")
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "path": "/x",
        "raw_path": b"/x",
        "query_string": b"",
        "headers": [],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8080),
        "root_path": "",
    }
    try:
        asyncio.run(LocalASGI(runtime)(scope, receive, send))
    finally:
        runtime.reporter.flush()
        runtime.store.close()
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    return sent, records


@pytest.mark.parametrize("value", ["ok ", " ok", "\tok\t"])
def test_whitespace_around_a_header_value_is_not_part_of_it(tmp_path: Path, value: str) -> None:
    """RFC 9110 section 5.5: surrounding whitespace is not part of the value; clients strip it,
    h11 refuses to send it. Sent without it, the request succeeds and is recorded as sent."""
    sent, records = _serve(tmp_path, value)
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 200 and (b"x-note", b"ok") in start["headers"]
    [http] = [r for r in records if r["event"] == "http"]
    assert http["status"] == 200


def test_a_header_the_server_refuses_is_recorded_as_the_failure_the_client_sees(
    tmp_path: Path,
) -> None:
    """A header value h11 refuses that no stripping fixes never reaches the server: the client
    gets the JSON 500 and the record says 500, with the reason as an error line. (CR, LF and
    NUL do not get this far: the handler's ``Response`` refuses them, test_http.py.)"""
    sent, records = _serve(tmp_path, "a\x01b")
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 500
    [http] = [r for r in records if r["event"] == "http"]
    assert http["status"] == 500
    assert any(r["event"] == "error" and "x-note" in r["message"] for r in records)


def test_a_response_the_server_fails_to_send_is_not_recorded_as_sent(tmp_path: Path) -> None:
    """The transport failing under ``send`` (the peer reset the connection while the head was
    being written): stood in for by a ``send`` that raises, as asyncio's transport would; no
    real socket fails on demand. The client got nothing: no status is recorded, the error is."""
    app = pf.App("gone")

    @app.http("/x", methods=["GET"])
    def x(req: pf.Request) -> str:
        return "hi"

    out = io.StringIO()
    runtime = Runtime(
        app, Options(state_dir=tmp_path / "state"), Reporter(json_lines=True, stream=out)
    )

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        raise ConnectionResetError(104, "Connection reset by peer")

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/x",
        "query_string": b"",
        "headers": [],
        "client": ("127.0.0.1", 1),
        "root_path": "",
    }
    asyncio.run(LocalASGI(runtime)(scope, receive, send))
    runtime.reporter.flush()
    runtime.store.close()
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    [http] = [r for r in records if r["event"] == "http"]
    assert http["status"] is None
    assert any(r["event"] == "error" and "could not be sent" in r["message"] for r in records)
