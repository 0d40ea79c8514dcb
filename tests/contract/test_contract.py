"""The portability invariant (DESIGN section 2) as a test: one portable app, the same
assertions, through every installed adapter's native shapes (and the core as reference)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import portable_fn as pf
from portable_fn.testing import Harness, http_request
from tests.contract.portable_app import PNG, build


def test_http_request_reaches_the_handler_the_same_everywhere(harness: Harness) -> None:
    app, seen = build()
    request = http_request(
        "POST",
        "/items/42?q=a&q=b",
        body=b'{"n": 1}',
        headers={"X-Custom-Header": "v", "Cookie": "s=abc; t=2",
                 "Content-Type": "application/json"},
    )
    response = harness.http(app, request)
    assert response.status == 201
    assert json.loads(response.body) == {"id": "42", "ok": True}
    assert response.headers.get("x-reply") == "yes"
    assert sorted(response.headers.getall("set-cookie")) == ["a=1; Path=/", "b=2; HttpOnly"]
    assert seen == [
        {
            "method": "POST",
            "path": "/items/42",
            "item_id": "42",
            "query_q": ["a", "b"],
            "header": "v",
            "cookies": {"s": "abc", "t": "2"},
            "body": b'{"n": 1}',
        }
    ]


def test_binary_response_survives(harness: Harness) -> None:
    app, _ = build()
    response = harness.http(app, http_request("GET", "/image"))
    assert response.status == 200
    assert response.body == PNG
    assert response.headers.get("content-type") == "image/png"


def test_handler_exception_is_a_json_500_without_traceback(harness: Harness) -> None:
    app, _ = build()
    response = harness.http(app, http_request("GET", "/boom"))
    assert response.status == 500
    assert json.loads(response.body)["error"]["status"] == 500
    assert b"secret detail" not in response.body and b"Traceback" not in response.body


def test_published_events_arrive_as_the_original_cloudevent(harness: Harness) -> None:
    app, seen = build()
    events = [
        pf.CloudEvent.create(type="com.example.order.created", source="/shop/create",
                             data={"sku": "a", "qty": 2}, datacontenttype="application/json",
                             extensions={"traceparent":
                                         "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}),
        pf.CloudEvent.create(type="com.example.note", source="/shop/notes",
                             data="plain text ☃", datacontenttype="text/plain; charset=utf-8"),
    ]
    assert harness.deliver(app, "on_order", events) == [True, True]
    received = [s["event"] for s in seen]
    for original, got in zip(events, received, strict=True):
        assert (got.id, got.type, got.source, got.data) == (
            original.id, original.type, original.source, original.data
        )
        assert got.extensions.get("traceparent") == original.extensions.get("traceparent")


def test_one_failure_fails_only_its_message(harness: Harness) -> None:
    app, seen = build()
    events = [
        pf.CloudEvent.create(type="job", source="/t", data={"n": n, "fail": n == 1},
                             datacontenttype="application/json")
        for n in range(3)
    ]
    assert harness.deliver(app, "on_job", events) == [True, False, True]
    assert [s["event"].data["n"] for s in seen] == [0, 2]


def test_a_failure_retrying_cannot_fix_is_not_done_on_any_provider(harness: Harness) -> None:
    """``deliver``'s answer for a message whose handler raised ``pf.NonRetryable`` is False on
    every provider: the handler failed it, and it is dead-lettered, never done. The Cloudflare
    Worker acks the message it dead-letters itself, and its harness answered True."""
    app = pf.App("final")

    @app.queue("bills", dead_letter="bills-dead")
    def bill(event: pf.CloudEvent) -> None:
        if event.data == 0:
            raise pf.NonRetryable("nothing to bill")

    events = [pf.CloudEvent.create(type="bill", source="/t", data=n) for n in (0, 1)]
    assert harness.deliver(app, "bill", events) == [False, True]


def test_schedule_carries_expression_and_time(harness: Harness) -> None:
    app, seen = build()
    when = datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc)
    harness.schedule(app, "tick", when)
    (record,) = seen
    assert record["event"].data == {"expression": "rate(5 minutes)",
                                    "scheduled_time": "2026-11-23T03:00:00Z"}


def test_storage_event_has_the_portable_shape(harness: Harness) -> None:
    app, seen = build()
    harness.storage(app, "stored", bucket="uploads", key="in/photo 1.png", size=1234,
                    etag="d41d8cd98f00b204e9800998ecf8427e", action="created")
    harness.storage(app, "stored", bucket="uploads", key="in/old.txt", size=0,
                    etag="", action="deleted")
    created, deleted = (s["event"] for s in seen)
    assert created.subject == "in/photo 1.png"
    data = {k: created.data[k] for k in ("bucket", "key", "size", "etag", "action")}
    assert data == {"bucket": "uploads", "key": "in/photo 1.png", "size": 1234,
                    "etag": "d41d8cd98f00b204e9800998ecf8427e", "action": "created"}
    assert (deleted.data["key"], deleted.data["action"]) == ("in/old.txt", "deleted")


def test_a_header_copied_from_input_cannot_split_the_response(harness: Harness) -> None:
    """OWASP "HTTP Response Splitting": a redirect whose Location a handler copies from the
    query. A CR or LF in it reached API Gateway as it was and crashed the Azure and GCP adapters;
    now it is the handler's error everywhere, a JSON 500 (RFC 9110 section 5.5)."""
    app = pf.App("split")

    @app.http("/go", methods=["GET"])
    def go(req: pf.Request) -> pf.Response:
        return pf.Response(status=302, headers={"location": req.query.get("next") or "/"})

    response = harness.http(app, http_request("GET", "/go?next=/a%0d%0aSet-Cookie:%20s=evil"))
    assert response.status == 500
    assert json.loads(response.body)["error"]["status"] == 500
    assert "set-cookie" not in response.headers and "location" not in response.headers
