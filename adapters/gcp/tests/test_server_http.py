# SPDX-License-Identifier: Apache-2.0
"""The real runtime, HTTP: functions-framework (gunicorn + Flask) serving the generated main.py;
requests over a socket, repeated headers and query keys, cookies, binary bodies, errors."""

from __future__ import annotations

import http.client
import json

from conftest import Servers


def send(
    probe: Servers,
    target: str,
    method: str,
    path: str,
    headers: list[tuple[str, str]],
    body: bytes = b"",
) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", probe[target].port, timeout=20)
    conn.putrequest(method, path)
    for name, value in headers:
        conn.putheader(name, value)  # repeated names stay separate header lines
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    return conn.getresponse()


def test_request_in_response_out(probe: Servers) -> None:
    resp = send(
        probe,
        "echo",
        "POST",
        "/echo/b%C3%B6b?x=1&x=2&y=&q=%C3%A9+f",
        [
            ("X-Multi", "a"),
            ("X-Multi", "b"),
            ("Cookie", "sid=abc; theme=dark"),
            ("X-Forwarded-For", "6.6.6.6, 203.0.113.9"),
            ("Content-Type", "text/plain"),
        ],
        "héllo".encode(),
    )
    assert resp.status == 201
    assert resp.headers.get_all("Set-Cookie") == ["a=1", "b=2"]
    assert resp.headers["Content-Type"] == "application/json"
    assert json.loads(resp.read()) == {
        "method": "POST",
        "path": "/echo/böb",
        "name": "böb",
        "query": {"x": ["1", "2"], "y": [""], "q": ["é f"]},
        # WSGI (gunicorn) folds repeated request headers into one, comma-joined (RFC 9110
        # 5.3 says that is equivalent); the adapter cannot see them apart.
        "x_multi": ["a,b"],
        "cookies": {"sid": "abc", "theme": "dark"},
        "text": "héllo",
        "client_ip": "203.0.113.9",
    }


def test_binary_body_and_default_content_type(probe: Servers) -> None:
    resp = send(probe, "raw_bytes", "GET", "/bytes", [])
    assert resp.status == 200
    assert resp.read() == bytes(range(256))
    assert resp.headers["Content-Type"] == "application/octet-stream"


def test_exception_is_500_json_without_detail(probe: Servers) -> None:
    resp = send(probe, "boom", "GET", "/boom", [])
    body = resp.read()
    assert resp.status == 500
    assert json.loads(body) == {"error": {"status": 500, "message": "internal server error"}}
    assert b"secret" not in body and b"Traceback" not in body


def test_routing_errors(probe: Servers) -> None:
    resp = send(probe, "echo", "GET", "/elsewhere", [])
    assert resp.status == 404
    assert json.loads(resp.read())["error"]["status"] == 404
    resp = send(probe, "echo", "DELETE", "/echo/x", [])
    assert resp.status == 405
    assert resp.headers["Allow"] == "GET, HEAD, POST"  # a GET route answers HEAD too
    resp.read()
