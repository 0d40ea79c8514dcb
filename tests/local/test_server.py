"""``portable_fn._local.server``: what the dev server serves before the app sees a request."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from portable_fn._local.server import loopback_only


def _call(asgi: Any, host: bytes | None) -> tuple[int, list[str]]:
    reached: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    headers = [] if host is None else [(b"host", host)]
    scope = {"type": "http", "path": "/orders", "headers": [(b"accept", b"*/*"), *headers]}
    asyncio.run(asgi(app)(scope, receive, send))
    return sent[0]["status"], reached


@pytest.mark.parametrize(
    "host",
    [b"localhost:8080", b"127.0.0.1:8080", b"127.0.0.1", b"[::1]:8080", b"LOCALHOST",
     b"shop.localhost:8080", None],
)
def test_loopback_names_reach_the_app(host: bytes | None) -> None:
    assert _call(lambda app: loopback_only(app, "127.0.0.1"), host) == (200, ["/orders"])


@pytest.mark.parametrize("host", [b"evil.example", b"evil.example:8080", b"192.168.1.5:8080"])
def test_another_site_s_name_is_refused_on_loopback(host: bytes) -> None:
    """DNS rebinding: a page points its own name at 127.0.0.1 and reads the dev server's
    answers from the user's browser. The Host header still names that page's site."""
    assert _call(lambda app: loopback_only(app, "127.0.0.1"), host) == (403, [])
    assert _call(lambda app: loopback_only(app, "localhost"), host) == (403, [])


def test_a_server_bound_beyond_loopback_serves_every_name() -> None:
    assert _call(lambda app: loopback_only(app, "0.0.0.0"), b"evil.example") == (200, ["/orders"])


def test_an_allowed_alias_reaches_the_app() -> None:
    """--allow-host api.test: a hosts-file alias of 127.0.0.1 the user chose."""

    def allowed(app: Any) -> Any:
        return loopback_only(app, "127.0.0.1", ("API.test",))

    assert _call(allowed, b"api.test:8080") == (200, ["/orders"])
    assert _call(allowed, b"evil.example") == (403, [])


@pytest.mark.parametrize("bound", ["127.0.0.2", "127.1.2.3", "0:0:0:0:0:0:0:1", "LOCALHOST"])
def test_every_loopback_address_is_guarded_and_reached_by_its_own_name(bound: str) -> None:
    """127.0.0.0/8 is loopback as a whole (RFC 1122 section 3.2.1.3), and ``::1`` has longer
    spellings: ``--host 127.0.0.2`` served a rebinding page's requests, since only the three
    spellings in the set were guarded, and with the guard its own address must still pass."""
    assert _call(lambda app: loopback_only(app, bound), b"evil.example") == (403, [])
    literal = (f"[{bound}]" if ":" in bound else bound).encode()
    assert _call(lambda app: loopback_only(app, bound), literal + b":8080") == (200, ["/orders"])


@contextlib.contextmanager
def _uvicorn(parser: str, reached: list[str]) -> Iterator[tuple[str, int]]:
    """A real uvicorn server on 127.0.0.1 with ``dev``'s protocol for ``parser``, serving an
    app that records each path it is reached with and answers 200."""
    import threading

    import uvicorn

    from portable_fn._local.protocol import settings
    from portable_fn._local.server import bind

    pytest.importorskip(parser)  # httptools is CPython-only (the `local` extra's marker)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            reached.append(scope["path"])
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})

    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="off", log_level="critical", **settings(parser))
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            thread.join(0.01)
        yield sock.getsockname()
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def _exchange(address: tuple[str, int], data: bytes) -> bytes:
    """Send ``data`` and read until the server closes (or 20 s pass: a server still waiting
    for the rest of a request answers nothing)."""
    with socket.create_connection(address, timeout=20) as client:
        client.sendall(data)
        answer = b""
        try:
            while chunk := client.recv(65536):
                answer += chunk
        except TimeoutError:
            pass
    return answer


@pytest.mark.parametrize("parser", ["httptools", "h11"])
def test_each_uvicorn_parser_answers_what_it_cannot_read_in_json(parser: str) -> None:
    """Both of uvicorn's HTTP/1.1 parsers, each under a real uvicorn server on 127.0.0.1: a
    request line neither can read is a JSON 400 (uvicorn's own is text/plain), and the app
    behind is never reached."""
    from portable_fn._local.protocol import BODY

    reached: list[str] = []
    with _uvicorn(parser, reached) as address:
        answer = _exchange(address, b"NOT HTTP AT ALL\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ") and b"content-type: application/json" in head
    assert body == BODY and reached == []


def _head(size: int, *, end: bool = True) -> bytes:
    """A GET whose request line and header lines are ``size`` bytes, one header padding it;
    without ``end``, the head goes on (no blank line, the padding header unfinished)."""
    start = b"GET /big HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Pad: "
    pad = size - len(start) - 2
    return start + b"a" * pad + (b"\r\n\r\n" if end else b"")


@pytest.mark.parametrize("parser", ["httptools", "h11"])
def test_a_request_head_past_the_api_gateway_limit_is_a_json_431(parser: str) -> None:
    """The request line and headers may be 10240 bytes, as on an API Gateway HTTP API: a head
    past it, whole or still coming, is a JSON 431 and the connection closed, with either parser.
    With httptools a head was never limited (a 200 MiB header line was read into memory, and
    served); h11 answered a 400 past its own 16 KiB, and served a larger head that came in one
    read."""
    from portable_fn._local.protocol import MAX_HEAD_BYTES, TOO_LARGE

    reached: list[str] = []
    with _uvicorn(parser, reached) as address:
        fits = _exchange(address, _head(MAX_HEAD_BYTES))
        whole = _exchange(address, _head(MAX_HEAD_BYTES + 1))
        endless = _exchange(address, _head(4 * MAX_HEAD_BYTES, end=False))
    assert fits.startswith(b"HTTP/1.1 200 ") and reached == ["/big"]
    for answer in (whole, endless):
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 431 "), answer[:200]
        assert b"connection: close" in head and json.loads(body) == json.loads(TOO_LARGE)
    assert reached == ["/big"]
