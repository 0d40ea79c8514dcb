# SPDX-License-Identifier: Apache-2.0
"""The real runtime, HTTP: functions-framework (gunicorn + Flask) serving the generated main.py;
requests over a socket, repeated headers and query keys, cookies, binary bodies, errors."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator

import pytest
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
    # The path as sent: `//echo/x` is no route (gunicorn's PATH_INFO keeps both slashes, and
    # every other provider answers 404 for it).
    resp = send(probe, "echo", "GET", "//echo/x", [])
    assert resp.status == 404
    resp.read()


# -- responses HTTP cannot carry as given --------------------------------------------------

_OUT_APP = '''
import portable_fn as pf

app = pf.App("out")
CASES = {
    "103": pf.Response(status=103, headers={"link": "</a.css>; rel=preload"}),
    "100": pf.Response(status=100, body="x"),
    "non-latin-1": pf.Response(headers={"x-name": "\\u65e5\\u672c"}, body="ok"),
    "bad-name": pf.Response(headers={"x name": "v"}, body="ok"),
    "control": pf.Response(headers={"x-a": "v\\x1b[2J"}, body="ok"),
    "205": pf.Response(status=205, body="stale"),
    "204": pf.Response(status=204, body="stale"),
    "cookies": pf.Response(headers=[
        ("set-cookie", "sid=abc; Path=/; Secure; HttpOnly; SameSite=None; Partitioned"),
        ("link", "</a.css>; rel=preload"),
        ("set-cookie", "theme=dark; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Priority=High"),
        ("link", "</b.js>; rel=preload"),
        ("set-cookie", "sid=; Path=/old; Max-Age=0"),
    ], body="ok"),
}
OVER_LIMIT = 32 * 1024 * 1024 + 1


@app.http("/big", methods=["GET"])
def big(req: pf.Request) -> pf.Response:
    return pf.Response(body=b"x" * (OVER_LIMIT if req.query["case"] == "over" else OVER_LIMIT - 1))


@app.http("/out", methods=["GET"])
def out(req: pf.Request) -> pf.Response:
    return CASES[req.query["case"]]
'''


@pytest.fixture(scope="module")
def out_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    from conftest import _package

    source = tmp_path_factory.mktemp("out-app") / "out_app.py"
    source.write_text(_OUT_APP)
    dist = _package(f"{source}:app", tmp_path_factory.mktemp("out") / "dist" / "gcp")
    servers = Servers(dist, ["out", "big"], {}, tmp_path_factory.mktemp("out-logs"))
    yield servers
    servers.close()


@pytest.mark.parametrize("case", ["103", "100", "non-latin-1", "bad-name", "control"])
def test_a_response_http_cannot_carry_is_a_json_500(out_server: Servers, case: str) -> None:
    """A 1xx is interim (RFC 9110 section 15.2): sent as the answer, the client waits for a
    final response (103) or the connection drops (100). A field name must be a token and a
    value Latin-1 without controls (RFC 9110 section 5): gunicorn answered its own HTML 500.
    The portable answer is the JSON 500 with no detail, as on every other provider."""
    resp = send(out_server, "out", "GET", f"/out?case={case}", [])
    body = resp.read()
    assert resp.status == 500
    assert resp.headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"error": {"status": 500, "message": "internal server error"}}


@pytest.mark.parametrize("status", ["204", "205"])
def test_a_status_without_content_is_sent_without_the_body(out_server: Servers,
                                                           status: str) -> None:
    """RFC 9110 section 15.3.6: a server must not generate content in a 205 (werkzeug drops
    the body of a 204 and a 304 only, and sent the handler's bytes after a 205)."""
    resp = send(out_server, "out", "GET", f"/out?case={status}", [])
    assert resp.status == int(status)
    assert resp.read() == b""
    assert resp.headers.get("Content-Length") in (None, "0")


def test_a_response_over_the_platform_limit_is_a_clear_json_500(out_server: Servers) -> None:
    """Cloud Run functions (2nd gen) send at most 32 MB of HTTP response that is not streamed
    (https://cloud.google.com/functions/quotas, "Max uncompressed HTTP response size"; Cloud Run
    counts in MiB): the front end refuses a larger one, with no word from the function. The
    function answers the JSON 500 saying why and logs it, as the AWS adapter does over Lambda's
    payload limit; a body at the limit is sent."""
    resp = send(out_server, "big", "GET", "/big?case=over", [])
    body = resp.read()
    assert resp.status == 500
    assert resp.headers["Content-Type"] == "application/json"
    assert json.loads(body) == {
        "error": {"status": 500, "message": "response too large: the limit is 32 MiB"}
    }
    assert "over the response size limit" in out_server["big"].output()
    resp = send(out_server, "big", "GET", "/big?case=under", [])
    assert (resp.status, len(resp.read())) == (200, 32 * 1024 * 1024)


def test_set_cookies_and_repeated_headers_go_out_apart_in_order(out_server: Servers) -> None:
    """werkzeug's ``Headers`` keep every pair, so each Set-Cookie is its own line, in the
    handler's order and byte for byte (Partitioned and Priority included), and a repeated
    ``Link`` stays two lines."""
    resp = send(out_server, "out", "GET", "/out?case=cookies", [])
    assert resp.status == 200
    assert resp.headers.get_all("Set-Cookie") == [
        "sid=abc; Path=/; Secure; HttpOnly; SameSite=None; Partitioned",
        "theme=dark; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Priority=High",
        "sid=; Path=/old; Max-Age=0",
    ]
    assert resp.headers.get_all("Link") == ["</a.css>; rel=preload", "</b.js>; rel=preload"]
    resp.read()


def test_two_cookie_lines_reach_the_handler_as_every_cookie(probe: Servers) -> None:
    """gunicorn joins repeated request fields with "," into one WSGI variable (``HTTP_COOKIE``
    too), so ``getall`` has the one joined value; ``Request.cookies`` splits it again."""
    resp = send(probe, "echo", "GET", "/echo/c", [
        ("Cookie", "sid=abc; theme=dark"), ("Cookie", "lang=en"), ("X-Multi", "a"),
        ("X-Multi", "b, c")])
    assert resp.status == 201
    seen = json.loads(resp.read())
    assert seen["cookies"] == {"sid": "abc", "theme": "dark", "lang": "en"}
    assert seen["x_multi"] == ["a,b, c"]
