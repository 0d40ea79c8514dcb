"""More of the portability invariant (DESIGN section 2), on inputs the wire suite did not try:
each through every installed adapter's harness, compared with the core (``CoreHarness``) or
with the event as published. Only what every adapter already agrees on is here."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import portable_fn as pf
from portable_fn.errors import BadRequest
from portable_fn.http import Headers, QueryParams, Request
from portable_fn.testing import Harness, http_request
from tests.contract.conftest import CoreHarness
from tests.contract.test_contract_wire import _attributes, _event_app, _publish

REFERENCE = CoreHarness()


def _echo_app() -> tuple[pf.App, list[dict[str, Any]]]:
    app = pf.App("edges")
    seen: list[dict[str, Any]] = []

    @app.http("/echo/{rest+}", methods=["GET", "POST", "PATCH"], auth="anonymous")
    def echo(req: pf.Request) -> pf.Response:
        try:
            text: str | None = req.text
        except BadRequest:
            text = None
        seen.append({
            "method": req.method, "path": req.path, "path_params": dict(req.path_params),
            "query": list(req.query.items()), "cookies": req.cookies, "body": req.body,
            "text": text, "x-empty": req.headers.get("x-empty"),
        })
        return pf.Response(status=204)

    return app, seen


REQUESTS: dict[str, Request] = {
    # The order of a repeated key's values, and names that differ only in case, are kept.
    "query-interleaved": http_request("GET", "/echo/q?a=1&b=2&a=3&A=4"),
    "query-literal-plus": Request(method="GET", path="/echo/q", query=QueryParams(
        [("p", "a+b"), ("s", "a b"), ("e", "x=y"), ("amp", "&")])),
    "trailing-slash": http_request("GET", "/echo/x/"),
    "double-slash": Request(method="GET", path="/echo//a//b"),
    # HTTP/2 sends each cookie-pair in a header of its own (RFC 9113 section 8.2.3).
    "two-cookie-headers": Request(method="GET", path="/echo/c", headers=Headers(
        [("Cookie", "a=1"), ("Cookie", "b=2; c=3")])),
    "duplicate-cookie": http_request("GET", "/echo/c", headers={"Cookie": "a=1; a=2; b=x%20y"}),
    "latin1-text": http_request("POST", "/echo/t", body=b"caf\xe9",
                                headers={"Content-Type": "text/plain; charset=latin-1"}),
    "not-utf8-text": http_request("POST", "/echo/t", body=b"caf\xe9",
                                  headers={"Content-Type": "text/plain"}),
    "patch": http_request("PATCH", "/echo/p", body=b"x"),
    "empty-header": Request(method="GET", path="/echo/h", headers=Headers([("X-Empty", "")])),
}


@pytest.mark.parametrize("case", REQUESTS)
def test_edge_requests_reach_the_handler_the_same(harness: Harness, case: str) -> None:
    app, expected = _echo_app()
    assert REFERENCE.http(app, REQUESTS[case]).status == 204
    app, seen = _echo_app()
    assert harness.http(app, REQUESTS[case]).status == 204
    assert seen == expected


PAYLOADS: dict[str, dict[str, Any]] = {
    "int-beyond-2**53": {"data": {"n": 2**53 + 1, "big": 2**64, "neg": -(2**63)}},
    "negative-zero": {"data": -0.0},
    "float-exponent": {"data": 1e300},
    "whole-float": {"data": 1.0},
    "deep": {"data": {"a": [[[{"b": [1, {"c": None}]}]]]}},
    "unicode-keys": {"data": {"ü☃": 1, "": 2, "𝄞": [3]}},
    "empty-containers": {"data": {"d": {}, "l": []}},
    "json-with-charset": {"data": {"a": 1}, "datacontenttype": "application/json; charset=utf-8"},
    "json-suffix": {"data": {"a": 1}, "datacontenttype": "application/vnd.api+json"},
    "json-string": {"data": "just a string", "datacontenttype": "application/json"},
    "json-null": {"data": None, "datacontenttype": "application/json"},
    "xml-bytes": {"data": b"<a/>", "datacontenttype": "application/xml"},
    "extensions": {"data": 1, "id": "id with spaces/ü:1", "extensions": {
        "n": 0, "neg": -5, "big": 2147483647, "s": "5", "b": False, "empty": "",
        "bin": b"\x00\x01"}},
}


@pytest.mark.parametrize(("how", "function"), [
    ("publish", "on_topic"), ("send", "on_queue"), ("emit", "on_bus")])
def test_edge_payloads_arrive_as_published(harness: Harness, how: str, function: str) -> None:
    app, seen, recorder = _event_app()
    for case in PAYLOADS.values():
        _publish(app, how, **case)
    sent = [p.event for p in recorder.sent]
    assert harness.deliver(app, function, sent) == [True] * len(sent)
    received = {event.id: _attributes(event) for event in seen}
    for name, original in zip(PAYLOADS, sent, strict=True):
        assert received.get(original.id) == _attributes(original), name


KEYS = ["a+b.txt", "ü☃/𝄞.txt", "100%.txt", "a%2Bb", "q?x=1&y#z", "dir/", "sp  ace", " lead",
        "~t*(x)'!", "x=1;y"]


def test_storage_keys_arrive_as_written(harness: Harness) -> None:
    app = pf.App("edges")
    seen: list[pf.CloudEvent] = []

    @app.storage("uploads", on=("created",))
    def stored(event: pf.CloudEvent) -> None:
        seen.append(event)

    for key in KEYS:
        harness.storage(app, "stored", bucket="uploads", key=key, size=5, etag="abc",
                        action="created")
    assert [(e.subject, e.data["key"], e.data["size"]) for e in seen] == [
        (key, key, 5) for key in KEYS]


@pytest.mark.parametrize("when", [
    datetime(2026, 11, 23, 3, 0, 7, tzinfo=timezone.utc),
    datetime(2026, 11, 23, 5, 0, tzinfo=timezone(timedelta(hours=2))),
])
def test_schedule_time_is_utc_everywhere(harness: Harness, when: datetime) -> None:
    app = pf.App("edges")
    seen: list[pf.CloudEvent] = []

    @app.schedule(cron="0 3 * * *")
    def tick(event: pf.CloudEvent) -> None:
        seen.append(event)

    harness.schedule(app, "tick", when)
    (event,) = seen
    stamp = when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert event.data == {"expression": "0 3 * * *", "scheduled_time": stamp}


# Data under a content type that does not describe it as JSON would: each must still arrive as
# published (GCP's binary mode once changed all four; see portable_fn_gcp.binding).
TYPED: dict[str, dict[str, Any]] = {
    "str-as-octet-stream": {"data": "hello", "datacontenttype": "application/octet-stream"},
    "dict-as-text": {"data": {"a": 1}, "datacontenttype": "text/plain"},
    "nested-cloudevent": {"data": {"specversion": "1.0", "id": "inner", "type": "t",
                                   "source": "/s"},
                          "datacontenttype": "application/cloudevents+json"},
    "latin1-text": {"data": "café ☃", "datacontenttype": "text/plain; charset=latin-1"},
}


@pytest.mark.parametrize("case", TYPED)
def test_typed_payloads_arrive_as_published(harness: Harness, case: str) -> None:
    app, seen, recorder = _event_app()
    _publish(app, "publish", **TYPED[case])
    (sent,) = [p.event for p in recorder.sent]
    assert harness.deliver(app, "on_topic", [sent]) == [True]
    (got,) = seen
    assert _attributes(got) == _attributes(sent)


def test_a_head_request_gets_the_get_headers_and_no_body(harness: Harness) -> None:
    """RFC 9110 section 9.3.2: a HEAD response carries the GET's status and headers and no
    content. Lambda, Azure and Workers send whatever body the core hands them, so the GET
    handler's body reached a HEAD client there (GCP and dev dropped it): the core answers
    HEAD without one, a routing error and a handler's error alike."""
    app = pf.App("head")

    @app.http("/doc", auth="anonymous")
    def doc(request: pf.Request) -> pf.Response:
        if request.query.get("fail"):
            raise BadRequest("no")
        return pf.Response.text("hello", headers={"x-reply": "yes"})

    response = harness.http(app, http_request("HEAD", "/doc"))
    assert (response.status, response.body) == (200, b"")
    assert response.headers.get("x-reply") == "yes"
    # Section 8.6: sent in a HEAD response, Content-Length is the GET content's (werkzeug reset
    # GCP's to 0 for the empty body).
    assert response.headers.get("content-length") in (None, "5")
    for path, status in (("/doc?fail=1", 400), ("/missing", 404)):
        response = harness.http(app, http_request("HEAD", path))
        assert (response.status, response.body) == (status, b"")
    assert harness.http(app, http_request("GET", "/doc")).body == b"hello"
