"""The portability invariant on the wire: many small inputs, each run through every installed
adapter's harness and compared with what the core itself gives (``CoreHarness``, the reference)
or with the event as published.

What the providers are documented to do differently is folded before comparing, and only that:
- repeated header fields travel combined into one comma-separated value on AWS (request and
  response), Azure and GCP (RFC 9110 section 5.3 makes the two forms equivalent; the AWS, Azure
  and GCP READMEs);
- Azure sends each ``Set-Cookie`` as a cookie of the worker's reply, rebuilt with the same
  attributes in its own order (adapters/azure/README.md), so cookies compare as parsed cookies;
- a response with a body and no ``Content-Type`` gets ``application/octet-stream`` on Azure
  (adapters/azure/README.md, ``_ADDED_CONTENT_TYPE``; one without a body gets none);
- a ``HEAD`` response's body is dropped by the platform on the way out where the adapter leaves
  it (RFC 9110 section 9.3.2), so it is either empty or the ``GET`` body.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any

import pytest

import portable_fn as pf
from portable_fn.http import Headers, Request, Response
from portable_fn.testing import Harness, RecordingPublisher, http_request
from tests.contract.conftest import CoreHarness

REFERENCE = CoreHarness()

# Documented: adapters/azure/README.md (the worker's encoder writes a Content-Type for a body).
_ADDED_CONTENT_TYPE = {"azure": "application/octet-stream"}


def _combined(values: list[str]) -> list[str]:
    """A header's values as RFC 9110 section 5.3 combines them: comma-separated list members."""
    return [member.strip() for value in values for member in value.split(",")]


def _cookies(values: list[str]) -> dict[str, tuple[str, dict[str, str]]]:
    jar: dict[str, tuple[str, dict[str, str]]] = {}
    for value in values:
        parsed: SimpleCookie = SimpleCookie()
        parsed.load(value)
        for name, morsel in parsed.items():
            jar[name] = (morsel.value, {k: str(v) for k, v in morsel.items() if v})
    return jar


def _wire(response: Response, provider: str, reference: Response) -> dict[str, Any]:
    """What a client can tell apart: status, body, and headers up to the documented folds."""
    headers: dict[str, Any] = {}
    for name in {name for name, _ in response.headers.items()}:
        values = response.headers.getall(name)
        if name == "set-cookie":
            headers[name] = _cookies(values)
        elif name not in ("content-length", "date", "server"):
            headers[name] = _combined(values)
    added = _ADDED_CONTENT_TYPE.get(provider)
    if added and "content-type" not in reference.headers and headers.get("content-type") == [added]:
        del headers["content-type"]
    return {"status": response.status, "headers": headers, "body": response.body}


# -- requests: what the handler sees ----------------------------------------------------------


def _echo_app() -> tuple[pf.App, list[dict[str, Any]]]:
    app = pf.App("wire")
    seen: list[dict[str, Any]] = []

    @app.http("/echo/{rest+}", methods=["GET", "POST", "PUT", "DELETE"], auth="anonymous")
    def echo(req: pf.Request) -> pf.Response:
        seen.append({
            "method": req.method,
            "path": req.path,
            "path_params": dict(req.path_params),
            "query": list(req.query.items()),
            "x-multi": _combined(req.headers.getall("x-multi")),
            "content-type": req.headers.get("content-type"),
            "cookies": req.cookies,
            "body": req.body,
            "client_ip": req.client_ip,
        })
        return pf.Response(status=204)

    return app, seen


REQUESTS: dict[str, Request] = {
    "query-repeated-empty-encoded": http_request(
        "GET", "/echo/q?q=1&q=2&empty=&flag&sp=a+b&enc=%26%3D%25&u=%C3%BC%E2%98%83"),
    # Request.path is decoded: "%20" here is three characters a client sends as "%2520".
    "path-decoded-once": Request(method="GET", path="/echo/a%20b/100%/sp ace/ü☃/a+b;c"),
    "repeated-header": Request(method="GET", path="/echo/h", headers=Headers(
        [("X-Multi", "a"), ("X-Multi", "b, c"), ("x-multi", "d")])),
    "cookies": http_request("GET", "/echo/c", headers={"Cookie": 's=abc; q="x y"; e=a=b; t=2'}),
    "binary-body": http_request("PUT", "/echo/b", body=b"\x00\xff\xfe\x80\r\n",
                                headers={"Content-Type": "application/octet-stream"}),
    "utf8-body": http_request("POST", "/echo/t", body="ü☃\n".encode(),
                              headers={"Content-Type": "text/plain; charset=utf-8"}),
    "empty-post": http_request("POST", "/echo/e"),
    "delete-with-body": http_request("DELETE", "/echo/d", json={"a": 1}),
    "client-ip": Request(method="GET", path="/echo/ip", client_ip="203.0.113.9"),
    "client-ip-v6": Request(method="GET", path="/echo/ip", client_ip="2001:db8::7"),
}


@pytest.mark.parametrize("case", REQUESTS)
def test_the_handler_sees_the_same_request(harness: Harness, case: str) -> None:
    request = REQUESTS[case]
    app, expected = _echo_app()
    assert REFERENCE.http(app, request).status == 204
    app, seen = _echo_app()
    response = harness.http(app, request)
    assert response.status == 204, response.body
    if request.client_ip is None:  # without one, each harness's native default is its own
        for record in (*seen, *expected):
            record.pop("client_ip")
    assert seen == expected


# -- responses: what the client gets ----------------------------------------------------------

RESPONSES: dict[str, Callable[[], Any]] = {
    "json-unicode": lambda: {"a": "ü☃", "n": [1, 2.5, None, True]},
    "text": lambda: "héllo ☃",
    "bytes": lambda: b"\x00\xff\xfe",
    "none-204": lambda: None,
    "empty-200": lambda: pf.Response(status=200),
    "empty-typed": lambda: pf.Response(headers={"Content-Type": "application/json"}),
    "untyped-binary": lambda: pf.Response(body=b"\x89PNG\r\n"),
    "redirect": lambda: pf.Response(status=302, headers={"Location": "/elsewhere?a=1"}),
    "not-modified": lambda: pf.Response(status=304, headers={"ETag": '"v1"'}),
    "teapot": lambda: pf.Response.text("short and stout", status=418),
    "flask-tuple": lambda: ("made", 201, {"X-Made": "1"}),
    "svg": lambda: pf.Response(headers={"Content-Type": "image/svg+xml"}, body=b"<svg/>"),
    "gzip": lambda: pf.Response(body=b"\x1f\x8b\x08\x00\x00", headers={
        "Content-Type": "text/plain", "Content-Encoding": "gzip"}),
    "repeated-headers": lambda: pf.Response.text("v", headers=[
        ("Vary", "Origin"), ("Vary", "Accept"), ("Link", "</a>; rel=x"), ("Link", "</b>; rel=y")]),
    "set-cookies": lambda: pf.Response.text("c", headers=[
        ("Set-Cookie", "a=1; Path=/; Secure; SameSite=Lax"),
        ("Set-Cookie", "b=2; Max-Age=10; HttpOnly"),
        ("Set-Cookie", 'c="x y"; Domain=example.com; Expires=Wed, 21 Oct 2026 07:28:00 GMT')]),
}


def _responding_app() -> pf.App:
    app = pf.App("wire")

    @app.http("/r/{kind}", methods=["GET"], auth="anonymous")
    def respond(req: pf.Request) -> Any:
        return RESPONSES[req.path_params["kind"]]()

    @app.http("/r/{kind}/json", methods=["POST"], auth="anonymous")
    def parse(req: pf.Request) -> Any:
        return req.json()

    @app.http("/boom", methods=["GET"], auth="anonymous")
    def boom(req: pf.Request) -> None:
        raise RuntimeError("secret detail")

    return app


@pytest.mark.parametrize("kind", RESPONSES)
def test_the_client_gets_the_same_response(harness: Harness, kind: str) -> None:
    app = _responding_app()
    request = http_request("GET", f"/r/{kind}")
    expected = REFERENCE.http(app, request)
    got = harness.http(app, request)
    assert _wire(got, harness.provider, expected) == _wire(expected, "core", expected)


@pytest.mark.parametrize("kind", ["json-unicode", "bytes", "set-cookies", "none-204"])
def test_head_answers_as_get_without_a_body(harness: Harness, kind: str) -> None:
    app = _responding_app()
    expected = REFERENCE.http(app, http_request("GET", f"/r/{kind}"))
    got = harness.http(app, http_request("HEAD", f"/r/{kind}"))
    assert got.body in (b"", expected.body)  # the platform drops what the adapter leaves
    wire = _wire(got, harness.provider, expected)
    assert (wire["status"], wire["headers"]) == (
        expected.status, _wire(expected, "core", expected)["headers"])


# -- errors: the same status, body and Allow --------------------------------------------------

ERRORS: dict[str, Request] = {
    "no-route": http_request("GET", "/nowhere/at/all"),
    "wrong-method": http_request("DELETE", "/r/x"),
    "wrong-method-head": http_request("HEAD", "/r/x/json"),
    "bad-json": http_request("POST", "/r/x/json", body=b'{"a": ',
                             headers={"Content-Type": "application/json"}),
    "empty-json": http_request("POST", "/r/x/json"),
    "handler-error": http_request("GET", "/boom"),
}


@pytest.mark.parametrize("case", ERRORS)
def test_errors_have_the_same_shape(harness: Harness, case: str) -> None:
    request = ERRORS[case]
    app = _responding_app()
    expected = REFERENCE.http(app, request)
    got = harness.http(app, request)
    assert got.status == expected.status
    assert got.headers.get("allow") == expected.headers.get("allow")
    assert b"secret detail" not in got.body and b"Traceback" not in got.body
    if request.method == "HEAD" and not got.body:
        return  # the body of a HEAD answer is dropped on the way out (GCP's werkzeug does it)
    assert got.headers.get("content-type") == "application/json"
    error = json.loads(got.body)["error"]
    reference = json.loads(expected.body)["error"]
    assert error["status"] == reference["status"] == expected.status
    # The same words whether the adapter names the function it runs (AWS, GCP) or the core
    # routes the request (Azure's catch-all, Cloudflare, local).
    assert error == reference


# -- published events: the same CloudEvent on every provider ----------------------------------

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

PAYLOADS: dict[str, dict[str, Any]] = {
    "dict": {"data": {"sku": "a", "qty": 2, "tags": ["x", None, True], "price": 9.5}},
    "list": {"data": [1, "two", {"three": 3}]},
    "str": {"data": "plain text"},
    "unicode": {"data": "ünïcødé ☃ 𝄞 \u2028 \x00"},
    "json-looking-str": {"data": '{"not": "parsed"}'},
    "bytes": {"data": b"\x89PNG\r\n\x1a\n\x00\xff"},
    "int": {"data": 42},
    "float": {"data": 0.1},
    "bool": {"data": False},
    "none": {"data": None},
    "empty-str": {"data": ""},
    "empty-bytes": {"data": b""},
    "large": {"data": {"blob": "x" * 40_000, "n": list(range(500))}},
    "typed": {"data": "<a>1</a>", "datacontenttype": "application/xml"},
    "attributes": {
        "data": {"a": 1}, "subject": "orders/42 ü", "id": "order-42:v1",
        "extensions": {"traceparent": TRACEPARENT, "tracestate": "vendor=abc",
                       "correlationid": "corr-7", "tenant": "acme", "priority": 5,
                       "urgent": True},
    },
}


def _event_app() -> tuple[pf.App, list[pf.CloudEvent], RecordingPublisher]:
    app = pf.App("wire")
    seen: list[pf.CloudEvent] = []
    recorder = RecordingPublisher()
    app.use_publisher(recorder)

    @app.topic("wire-orders")
    def on_topic(event: pf.CloudEvent) -> None:
        seen.append(event)

    @app.queue("wire-jobs")
    def on_queue(event: pf.CloudEvent) -> None:
        seen.append(event)

    @app.event("com.example.wire")
    def on_bus(event: pf.CloudEvent) -> None:
        seen.append(event)

    return app, seen, recorder


def _publish(app: pf.App, how: str, **kwargs: Any) -> None:
    if how == "publish":
        pf.publish("wire-orders", type="com.example.wire", app=app, **kwargs)
    elif how == "send":
        pf.send("wire-jobs", type="com.example.wire", app=app, **kwargs)
    else:
        pf.emit("com.example.wire", app=app, **kwargs)


def _attributes(event: pf.CloudEvent) -> dict[str, Any]:
    return {
        "id": event.id, "type": event.type, "source": event.source,
        "specversion": event.specversion, "time": event.time, "subject": event.subject,
        "datacontenttype": event.datacontenttype, "dataschema": event.dataschema,
        "data": event.data, "data_type": type(event.data).__name__,
        "extensions": {k: (v, type(v).__name__) for k, v in event.extensions.items()},
    }


@pytest.mark.parametrize(("how", "function"), [
    ("publish", "on_topic"), ("send", "on_queue"), ("emit", "on_bus")])
def test_published_payloads_arrive_as_published(harness: Harness, how: str, function: str) -> None:
    app, seen, recorder = _event_app()
    for case in PAYLOADS.values():
        _publish(app, how, **case)
    sent = [p.event for p in recorder.sent]
    assert len(sent) == len(PAYLOADS)
    assert harness.deliver(app, function, sent) == [True] * len(sent)
    received = {event.id: _attributes(event) for event in seen}
    for name, original in zip(PAYLOADS, sent, strict=True):
        assert received.get(original.id) == _attributes(original), name
