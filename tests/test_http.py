"""Request, Response, Headers and QueryParams."""

from __future__ import annotations

import dataclasses
import json
from http import HTTPStatus
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portable_fn.errors import BadRequest
from portable_fn.http import Headers, QueryParams, Request, Response, to_response

token = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=":"),
                min_size=1, max_size=20)


@given(st.lists(st.tuples(token, st.text(max_size=30)), max_size=12))
def test_headers_fold_case_and_keep_every_value(pairs: list[tuple[str, str]]) -> None:
    headers = Headers(pairs)
    for name, _ in pairs:
        expected = [v for n, v in pairs if n.lower() == name.lower()]
        assert headers.getall(name.upper()) == expected
        assert headers[name.swapcase()] == expected[0]
        assert name.upper() in headers
    assert sorted(headers.items()) == sorted((n.lower(), v) for n, v in pairs)


@given(st.lists(st.tuples(st.text(min_size=1, max_size=10), st.text(max_size=10)), max_size=10))
def test_query_round_trips_through_urlencoding(pairs: list[tuple[str, str]]) -> None:
    query = QueryParams.from_string(urlencode(pairs))
    assert query.items() == [
        (n, v) for name in dict.fromkeys(n for n, _ in pairs) for n, v in pairs if n == name
    ]


def test_query_is_case_sensitive_and_multi_valued() -> None:
    query = QueryParams.from_string("a=1&A=2&a=3&empty=")
    assert query.getall("a") == ["1", "3"]
    assert query["A"] == "2"
    assert query["empty"] == ""
    assert query.get("missing") is None
    assert QueryParams.from_multi({"a": ["1", "2"]}).getall("a") == ["1", "2"]


def test_headers_are_immutable_values() -> None:
    headers = Headers({"X-A": "1"})
    with pytest.raises(TypeError):
        headers["x-a"] = "2"  # type: ignore[index]
    assert headers == {"x-a": "1"}
    assert headers.merged({"x-b": "2"}).to_dict() == {"x-a": "1", "x-b": "2"}
    assert headers.to_dict() == {"x-a": "1"}


def test_request_body_helpers() -> None:
    request = Request(method="POST", path="/", body='{"ü": 1}'.encode())
    assert request.json() == {"ü": 1}
    assert request.text == '{"ü": 1}'
    with pytest.raises(BadRequest):
        Request(method="POST", path="/", body=b"{nope").json()
    with pytest.raises(BadRequest):
        Request(method="POST", path="/").json()
    with pytest.raises(BadRequest):
        _ = Request(method="POST", path="/", body=b"\xff").text
    with pytest.raises(AttributeError, match="immutable"):
        request.path = "/x"  # type: ignore[misc]


def test_cookies_from_every_cookie_header() -> None:
    request = Request(
        method="GET",
        path="/",
        headers=Headers([("Cookie", 'a=1; b="x y"'), ("cookie", "c=3; junk; =v")]),
    )
    assert request.cookies == {"a": "1", "b": "x y", "c": "3"}


@pytest.mark.parametrize(
    "joined",
    ["a=1; b=2, c=3", "a=1; b=2,c=3", "a=1;b=2, c=3", "a=1, b=2; c=3"],
)
def test_cookie_headers_joined_with_a_comma_are_still_every_cookie(joined: str) -> None:
    """WSGI servers, the Azure Functions host and a Worker's Fetch Headers join two Cookie
    lines with a comma: b must not read "2, c=3"."""
    request = Request(method="GET", path="/", headers=Headers({"cookie": joined}))
    assert request.cookies == {"a": "1", "b": "2", "c": "3"}


def test_a_comma_inside_a_cookie_value_stays_in_it() -> None:
    request = Request(method="GET", path="/", headers=Headers({"cookie": "list=1,2,3; d=x, y"}))
    assert request.cookies == {"list": "1,2,3", "d": "x, y"}


def test_response_constructors() -> None:
    assert Response.json({"a": "ü"}, status=201).body == '{"a":"ü"}'.encode()
    text = Response.text("hi", headers={"X-A": "1"})
    assert text.headers.to_dict() == {"x-a": "1", "content-type": "text/plain; charset=utf-8"}
    png = Response.binary(b"\x89PNG", content_type="image/png")
    assert not png.is_text and text.is_text
    assert Response(status=204).is_text
    with pytest.raises(ValueError):
        Response(status=99)
    cookies = Response(headers=Headers([("Set-Cookie", "a=1"), ("set-cookie", "b=2")]))
    assert cookies.headers.getall("set-cookie") == ["a=1", "b=2"]


@dataclasses.dataclass
class Order:
    id: str


@pytest.mark.parametrize(
    ("value", "status", "content_type", "body"),
    [
        ({"a": 1}, 200, "application/json", b'{"a":1}'),
        ([1, 2], 200, "application/json", b"[1,2]"),
        ("hi", 200, "text/plain; charset=utf-8", b"hi"),
        (b"\x00", 200, "application/octet-stream", b"\x00"),
        (None, 204, None, b""),
        (Order("7"), 200, "application/json", b'{"id":"7"}'),
        (3, 200, "application/json", b"3"),
    ],
)
def test_to_response(value: object, status: int, content_type: str | None, body: bytes) -> None:
    response = to_response(value)
    assert (response.status, response.content_type, response.body) == (status, content_type, body)


def test_a_body_status_tuple_sets_the_status_as_in_flask() -> None:
    """``return body, status`` and ``return body, status, headers`` (Flask and
    functions-framework): the status is not lost in a JSON array answered 200."""
    response = to_response(({"error": "gone"}, 404))
    assert (response.status, response.content_type, response.body) == (
        404, "application/json", b'{"error":"gone"}'
    )
    response = to_response(("a,b", 201, {"Content-Type": "text/csv", "X-Id": "7"}))
    assert (response.status, response.body) == (201, b"a,b")
    assert response.headers.to_multi() == {"content-type": ["text/csv"], "x-id": ["7"]}
    response = to_response((Response.text("x", headers={"x-a": "1"}), 202, [("x-b", "2")]))
    assert (response.status, response.headers.getall("x-a"), response.headers["x-b"]) == (
        202, ["1"], "2"
    )
    assert to_response((None, 201)).status == 201
    assert type(to_response(("gone", HTTPStatus.GONE)).status) is int
    with pytest.raises(ValueError):
        to_response(({}, 1000))
    # Other tuples are JSON arrays, as before.
    assert to_response((1, 2, 3)).body == b"[1,2,3]"
    assert to_response(("a", "b")).body == b'["a","b"]'


def test_to_response_refuses_other_objects() -> None:
    with pytest.raises(TypeError):
        to_response(object())


def test_json_response_survives_a_lone_surrogate() -> None:
    import json as _json

    response = Response.json({"error": "bad method \udc80"})
    assert _json.loads(response.body) == {"error": "bad method \udc80"}


def test_utf16_json_body_with_bom_still_parses() -> None:
    assert Request(method="POST", path="/", body='{"a": 1}'.encode("utf-16")).json() == {"a": 1}


def test_utf8_json_body_with_bom_parses() -> None:
    """RFC 8259 section 8.1 lets a parser ignore a UTF-8 BOM; json.loads, Flask and Starlette
    do, and PowerShell and .NET clients send one."""
    body = b"\xef\xbb\xbf" + b'{"a": 1}'
    assert Request(method="POST", path="/", body=body).json() == {"a": 1}
    with pytest.raises(BadRequest):
        Request(method="POST", path="/", body=b"\xef\xbb\xbf{nope").json()


@pytest.mark.parametrize(
    "text", ['{"n": NaN}', "[Infinity]", '{"n": -Infinity}', '{"n": 1e999}', "-1E400"]
)
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-8-sig"])
def test_nan_infinity_and_overflowing_numbers_are_a_400(text: str, encoding: str) -> None:
    """RFC 8259 has no NaN or infinities; json.loads reads them (and 1e999 as inf), and the
    response encoder refuses them, so a handler that echoed or published the body turned the
    client's bad input into a 500."""
    from portable_fn import App
    from portable_fn.testing import invoke

    with pytest.raises(BadRequest):
        Request(method="POST", path="/", body=text.encode(encoding)).json()
    app = App("echo")

    @app.http("/echo", methods=["POST"])
    def echo(req: Request) -> object:
        return req.json()

    response = invoke(app, "echo", Request(method="POST", path="/echo", body=text.encode(encoding)))
    assert response.status == 400, response.body
    assert Request(method="POST", path="/", body=b'[1.5, -2e300, 0]').json() == [1.5, -2e300, 0]


@pytest.mark.parametrize("pyodide", [False, True])
def test_deeply_nested_json_body_is_a_400_not_a_crash(
    pyodide: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A body nested past any sane depth: CPython's decoder raises RecursionError, and under
    Pyodide the parse would overflow the JavaScript stack (fatal for the whole Worker isolate),
    so there it is refused before parsing. Either way it is the client's 400. (The Pyodide
    path under the real runtime: adapters/cloudflare/tests/test_cf_variants.py.)"""
    from portable_fn import http

    monkeypatch.setattr(http, "_PYODIDE", pyodide)
    if pyodide:  # the real parse would not fail here: only the depth check can answer
        monkeypatch.setattr(http._json, "loads", lambda text: pytest.fail("parsed"))
    depth = 1_001 if pyodide else 100_000
    request = Request(method="POST", path="/", body=b"[" * depth + b"]" * depth)
    with pytest.raises(BadRequest) as info:
        request.json()
    assert info.value.status == 400


def test_a_handler_may_return_pydantic_models_as_json() -> None:
    """FastAPI's habit: return the model (or a list of them). The body is its JSON-mode dump,
    datetimes as RFC 3339 and enums as their values; a pydantic.v1 model as its .json()."""
    import datetime
    import enum

    pydantic = pytest.importorskip("pydantic")

    class Status(enum.Enum):
        PAID = "paid"

    class Order(pydantic.BaseModel):
        id: str
        status: Status
        at: datetime.datetime

    at = datetime.datetime(2026, 12, 6, tzinfo=datetime.timezone.utc)
    order = Order(id="o-1", status=Status.PAID, at=at)
    expected = {"id": "o-1", "status": "paid", "at": "2026-12-06T00:00:00Z"}
    single = to_response(order)
    assert (single.status, single.headers.get("content-type")) == (200, "application/json")
    assert json.loads(single.body) == expected
    assert json.loads(to_response([order, order]).body) == [expected, expected]
    assert json.loads(to_response(({"order": order}, 201)).body) == {"order": expected}

    from pydantic import v1

    class Legacy(v1.BaseModel):
        id: str

    assert json.loads(to_response(Legacy(id="l-1")).body) == {"id": "l-1"}
    with pytest.raises(TypeError):
        to_response([object()])


@pytest.mark.parametrize("header", ['a="x\\"; b=2', 'b=2; a="\\"', 'b=2; a="unterminated\\\\\\"'])
def test_a_malformed_quoted_cookie_never_raises(header: str) -> None:
    """RFC 6265 section 4.1.1: a cookie value holds no backslash or inner quote; a client that
    sends one anyway must not turn the request into a 500 (the property is read by handlers)."""
    cookies = Request(method="GET", path="/", headers=Headers({"cookie": header})).cookies
    assert cookies["b"] == "2"
    assert "a" in cookies


def test_the_first_of_two_cookies_of_one_name_wins() -> None:
    """RFC 6265 section 5.4: a browser lists the cookie with the longer (more specific) path
    first; Werkzeug (pallets/werkzeug#1118), Express's ``cookie``, Go's ``Request.Cookie`` and
    Spring read that first one."""
    request = Request(
        method="GET",
        path="/app",
        headers=Headers([("cookie", "sid=app; theme=dark; sid=root"), ("cookie", "theme=x")]),
    )
    assert request.cookies == {"sid": "app", "theme": "dark"}


def test_whitespace_around_a_cookie_name_is_not_part_of_it() -> None:
    """RFC 6265 section 5.2 (steps 4 and 5) trims whitespace off a cookie's name and value;
    Starlette's and Django's ``cookie_parser`` strip both."""
    request = Request(method="GET", path="/", headers=Headers({"cookie": "a = 1 ; b=2"}))
    assert request.cookies == {"a": "1", "b": "2"}


@pytest.mark.parametrize(
    ("content_type", "encoded"),
    [
        ("text/plain; charset=iso-8859-1", "café".encode("latin-1")),
        ('text/plain;charset="ISO-8859-1"', "café".encode("latin-1")),
        ("text/csv; header=present; Charset=windows-1252", "café €".encode("cp1252")),
        ("text/plain; charset=utf-16", "café".encode("utf-16")),
        ("text/plain; charset=utf-8", "café".encode()),
        ("text/plain", "café".encode()),
        (None, "café".encode()),
    ],
)
def test_text_decodes_with_the_declared_charset(content_type: str | None, encoded: bytes) -> None:
    """RFC 9110 section 8.3.2: the charset parameter names the body's encoding (aiohttp's
    ``Request.text()`` and Django's ``request.encoding`` honour it); UTF-8 when none is given."""
    headers = Headers({} if content_type is None else {"content-type": content_type})
    text = Request(method="POST", path="/", headers=headers, body=encoded).text
    assert text == encoded.decode(
        "cp1252" if "1252" in (content_type or "") else
        "latin-1" if "8859" in (content_type or "") else
        "utf-16" if "16" in (content_type or "") else "utf-8"
    )


@pytest.mark.parametrize("charset", ["no-such-charset", "base64", "rot13", "zlib"])
def test_text_with_an_unknown_or_non_text_charset_is_a_400(charset: str) -> None:
    headers = Headers({"content-type": f"text/plain; charset={charset}"})
    with pytest.raises(BadRequest, match="charset"):
        _ = Request(method="POST", path="/", headers=headers, body=b"eA==").text


def test_text_with_a_charset_the_body_does_not_match_is_a_400() -> None:
    headers = Headers({"content-type": "text/plain; charset=ascii"})
    with pytest.raises(BadRequest):
        _ = Request(method="POST", path="/", headers=headers, body="é".encode()).text


def test_a_response_body_given_as_text_or_a_buffer_is_bytes() -> None:
    """Starlette's ``Response(content=str)``, Chalice's and Powertools' ``Response(body=str)``
    encode text as UTF-8; an adapter reads ``body`` as bytes (``body.decode``, base64)."""
    response = Response(body="héllo", headers={"content-type": "text/html; charset=utf-8"})
    assert response.body == "héllo".encode()
    assert Response(body=bytearray(b"ab")).body == b"ab"
    assert Response(body=memoryview(b"ab")).body == b"ab"
    assert type(Response(body=bytearray(b"ab")).body) is bytes
    with pytest.raises(TypeError, match="body"):
        Response(body={"a": 1})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "headers",
    [
        {"location": "/next\r\nSet-Cookie: session=attacker"},
        {"location": "/next\nX-Injected: 1"},
        {"location": "/next\rX-Injected: 1"},
        {"x-name": "a\x00b"},
        [("x-a\r\nset-cookie", "session=attacker")],
    ],
)
def test_a_header_with_a_line_break_or_nul_is_refused_when_returned(headers: object) -> None:
    """RFC 9110 section 5.5: CR, LF and NUL in a field are "invalid and dangerous". A handler
    that copies input into a header (a redirect's Location from ``?next=``) must not let the
    client add headers of its own (OWASP "HTTP Response Splitting"). Before, API Gateway got
    the value as it was, Azure and GCP failed in their adapter and only the local server
    refused it: now what the handler returned is its error, a JSON 500 everywhere (werkzeug
    refuses such a header when it is set)."""
    with pytest.raises(ValueError, match="line break"):
        to_response(Response(status=302, headers=headers))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="line break"):
        to_response(Response.json({}, headers=headers))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="line break"):
        to_response(("moved", 302, headers))
    from portable_fn.adapter import Context, dispatch_http
    from portable_fn.app import App

    app = App("redirect")

    @app.http("/go", methods=["GET"])
    def go(req: Request) -> Response:
        return Response(status=302, headers=headers)  # type: ignore[arg-type]

    ctx = Context(provider="core", function_name="go", invocation_id="i")
    response = dispatch_http(app, Request(method="GET", path="/go"), ctx)
    assert response.status == 500
    assert json.loads(response.body)["error"] == {"status": 500, "message": "internal server error"}
    assert "location" not in response.headers and "set-cookie" not in response.headers


def test_a_tab_or_non_ascii_text_in_a_header_is_still_sent() -> None:
    response = to_response(Response(headers={"x-a": "a\tb", "x-b": "caf\xe9"}))
    assert response.headers["x-b"] == "caf\xe9"


@pytest.mark.parametrize("sent", ["..", ".", "..\\..\\win", "a\x00b", "%2e%2e"])
def test_a_path_parameter_is_one_decoded_segment_and_nothing_safer(sent: str) -> None:
    """What the Request docstring promises a handler that joins a parameter to a path: one
    segment, never a '/', but '..' and other path syntax arrive as sent (Starlette's ``{name}``
    and API Gateway's ``{name}`` are the same); a '/' (an encoded %2F, decoded by the server)
    does not match a one-segment parameter."""
    from portable_fn.adapter import Context, dispatch_http
    from portable_fn.app import App

    app = App("files")

    @app.http("/files/{name}", methods=["GET"])
    def get(req: Request) -> dict[str, str]:
        return dict(req.path_params)

    ctx = Context(provider="core", function_name="get", invocation_id="i")
    found = dispatch_http(app, Request(method="GET", path=f"/files/{sent}"), ctx)
    assert json.loads(found.body) == {"name": sent}
    across = dispatch_http(app, Request(method="GET", path="/files/../etc/passwd"), ctx)
    assert across.status == 404


def test_with_headers_sets_the_names_given_and_keeps_the_rest() -> None:
    """What a middleware adds to a response: a name given replaces its values, several values
    of one name given as pairs are all kept, everything else (body, status) stays."""
    response = Response.json({"ok": True}, status=201, headers=[("set-cookie", "a=1"),
                                                                   ("cache-control", "no-store")])
    changed = response.with_headers(
        [("Cache-Control", "max-age=60"), ("x-trace", "1"), ("x-trace", "2")]
    )
    assert changed.headers.getall("cache-control") == ["max-age=60"]
    assert changed.headers.getall("x-trace") == ["1", "2"]
    assert changed.headers.getall("set-cookie") == ["a=1"]
    assert (changed.status, changed.body, changed.content_type) == (
        201, response.body, "application/json")
    assert response.headers.get("cache-control") == "no-store"  # the original is unchanged
