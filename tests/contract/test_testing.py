"""``portable_fn.testing``: the helpers a user's own tests are built on must not make a correct
test fail or a wrong one pass."""

from __future__ import annotations

import asyncio
import datetime
import json

import pytest

import portable_fn as pf
from portable_fn.errors import FunctionNotFoundError, InvalidCloudEventError, PublishError
from portable_fn.testing import (
    Harness,
    RecordingPublisher,
    http_request,
    invoke,
    invoke_async,
    recording,
)


def test_json_keeps_a_content_type_given_in_any_case() -> None:
    request = http_request("POST", "/x", json={"a": 1},
                           headers={"Content-Type": "application/vnd.api+json"})
    assert request.headers.getall("content-type") == ["application/vnd.api+json"]
    assert http_request("POST", "/x", json=[]).headers.get("content-type") == "application/json"


def test_query_adds_to_the_query_in_the_path() -> None:
    request = http_request("GET", "/x?a=1&b=2", query={"c": "3"})
    assert list(request.query.items()) == [("a", "1"), ("b", "2"), ("c", "3")]
    assert list(http_request("GET", "/x?a=1", query="a=2").query.items()) == [
        ("a", "1"), ("a", "2")
    ]


def test_query_and_headers_take_what_httpx_takes() -> None:
    # A list in query= (httpx's params: one pair per item) became one parameter whose value
    # was the list itself, a request no client can send: the handler saw ["a", "b"] through
    # invoke and "['a', 'b']" through a harness. Headers given as pairs lost all but the last
    # of a repeated name.
    request = http_request("GET", "/x", query={"q": ["a", "b"], "n": 1, "on": True},
                           headers=[("X-A", "1"), ("X-A", "2")])
    assert list(request.query.items()) == [("q", "a"), ("q", "b"), ("n", "1"), ("on", "true")]
    assert request.headers.getall("x-a") == ["1", "2"]
    # A request's own Headers (forwarded from another request) keep every pair too.
    again = http_request("GET", "/x", headers=request.headers)
    assert again.headers.getall("x-a") == ["1", "2"]


def test_json_and_body_together_are_refused() -> None:
    with pytest.raises(TypeError, match="not both"):
        http_request("POST", "/x", json={"a": 1}, body=b"other")


def test_invoke_refuses_a_missing_function_and_the_wrong_kind_of_value() -> None:
    # Each was an outcome a test could assert on: Outcome(ok=False) for a typo (so "it fails"
    # passed), and an HTTP handler run with a CloudEvent (so "it succeeds" passed).
    app = pf.App("kit")

    @app.http("/h")
    def page(req: pf.Request) -> str:
        return type(req).__name__

    @app.queue("jobs")
    def job(event: pf.CloudEvent) -> None: ...

    event = pf.CloudEvent.create(type="t", source="/s", data={})
    with pytest.raises(FunctionNotFoundError):
        invoke(app, "jbo", event)
    with pytest.raises(TypeError, match="takes a Request"):
        invoke(app, "page", event)
    with pytest.raises(TypeError, match="takes a CloudEvent"):
        invoke(app, "job", http_request("GET", "/h"))
    assert invoke(app, "page", http_request("GET", "/h")).body == b"Request"
    assert invoke(app, "job", event).ok


def test_invoke_simulates_a_redelivery() -> None:
    app = pf.App("kit")
    attempts: list[int] = []

    @app.queue("jobs")
    def job(event: pf.CloudEvent, ctx: pf.Context) -> None:
        attempts.append(ctx.attempt)

    event = pf.CloudEvent.create(type="t", source="/s", data={})
    invoke(app, "job", event)
    invoke(app, "job", event, attempt=3)
    assert attempts == [1, 3]


def test_the_recorder_keeps_what_was_sent_not_what_the_handler_did_after() -> None:
    app = pf.App("kit")
    recorder = RecordingPublisher()
    app.use_publisher(recorder)

    @app.http("/orders", methods=["POST"])
    def create(req: pf.Request) -> None:
        order = req.json()
        pf.publish("orders", order)
        order["status"] = "changed after publishing"
        pf.send("audit", b"\x00\x01", delay=2)

    response = invoke(app, "create", http_request("POST", "/orders", json={"sku": "a"}))
    assert response.status == 204
    (published,) = recorder.to("orders")
    assert published.data == {"sku": "a"}
    assert published.datacontenttype == "application/json"
    (audit,) = recorder.sent[1:]
    assert (audit.event.data, audit.delay) == (b"\x00\x01", 2)


def test_the_recorder_refuses_data_no_provider_can_send() -> None:
    # A real publisher serialises the event and fails on a datetime in its data: a test that
    # recorded it as published passed while production failed.
    app = pf.App("kit")
    app.use_publisher(RecordingPublisher())

    @app.http("/orders", methods=["POST"])
    def create(req: pf.Request) -> None:
        pf.publish("orders", {"at": datetime.datetime.now(datetime.timezone.utc)})

    response = invoke(app, "create", http_request("POST", "/orders"))
    assert response.status == 500
    with pytest.raises(InvalidCloudEventError):
        pf.publish("orders", {"at": datetime.date.today()}, app=app)
    assert json.loads(response.body)["error"]["status"] == 500


def test_the_recorder_refuses_an_event_larger_than_the_clouds_take() -> None:
    # portable-fn dev refuses it (and so does the smallest cloud limit: an Azure Storage Queue
    # message, a Cloudflare Queues message): recorded as sent, the test passed and the first
    # deploy failed.
    app = pf.App("kit")
    app.use_publisher(RecordingPublisher())
    with pytest.raises(PublishError, match="bytes"):
        pf.send("jobs", {"blob": "x" * 60_000}, app=app)
    with pytest.raises(PublishError, match="bytes"):
        pf.publish("orders", "x" * 130_000, app=app)
    pf.publish("orders", "x" * 60_000, app=app)  # within a topic message's limits


def _async_app(seen: list[int]) -> pf.App:
    app = pf.App("aio")

    @app.http("/orders", methods=["POST"])
    async def create(req: pf.Request) -> dict[str, object]:
        await asyncio.sleep(0)
        pf.publish("order-events", req.json())
        return {"ok": True}

    @app.queue("jobs")
    async def work(event: pf.CloudEvent) -> None:
        await asyncio.sleep(0)
        seen.append(event.data["n"])
        if event.data["n"] < 0:
            raise ValueError("negative")

    return app


def test_an_async_test_awaits_async_handlers_with_invoke_async() -> None:
    # pytest-asyncio and anyio tests run inside an event loop, where the sync invoke cannot
    # drive a coroutine: it answered 500 / a failed outcome about the loop, not the handler.
    seen: list[int] = []
    app = _async_app(seen)
    recorder = RecordingPublisher()
    app.use_publisher(recorder)

    async def a_test() -> None:
        response = await invoke_async(app, "create", http_request("POST", "/orders", json={}))
        assert response.status == 200 and json.loads(response.body) == {"ok": True}
        ok = await invoke_async(app, "work", pf.CloudEvent.create(type="t", source="/s",
                                                                    data={"n": 1}))
        failed = await invoke_async(app, "work", pf.CloudEvent.create(type="t", source="/s",
                                                                        data={"n": -1}))
        assert ok.ok and not failed.ok and isinstance(failed.error, ValueError)
        with pytest.raises(RuntimeError, match="invoke_async"):
            invoke(app, "work", pf.CloudEvent.create(type="t", source="/s", data={"n": 2}))

    asyncio.run(a_test())
    assert seen == [1, -1] and len(recorder.to("order-events")) == 1
    # Outside a loop, the sync invoke still runs async handlers.
    assert invoke(app, "work", pf.CloudEvent.create(type="t", source="/s", data={"n": 3})).ok


def test_recording_puts_back_the_apps_publisher_after_the_test() -> None:
    # An app imported once for the session: a recorder one test installed with
    # app.use_publisher stayed, and the next test's "it publishes nothing" saw its events.
    app = pf.App("kit")

    @app.http("/orders", methods=["POST"])
    def create(req: pf.Request) -> None:
        pf.publish("orders", req.json())

    with recording(app) as first:
        assert invoke(app, "create", http_request("POST", "/orders", json=1)).status == 204
    assert app.publisher is None and [e.data for e in first.to("orders")] == [1]
    outer = RecordingPublisher()
    app.use_publisher(outer)
    with recording(app) as second:
        invoke(app, "create", http_request("POST", "/orders", json=2))
    assert app.publisher is outer and outer.sent == [] and len(second.sent) == 1
    assert invoke(app, "create", http_request("POST", "/orders", json=3)).status == 204
    assert [e.data for e in outer.to("orders")] == [3]


def test_http_request_decodes_the_path_as_the_adapters_do(harness: Harness) -> None:
    """``Request.path`` is decoded on every adapter and in ``dev`` (an ASGI server's
    ``scope["path"]``, RFC 3986 section 2.1 percent-encoding): ``http_request`` kept
    ``%20`` in it, so a test's path parameter was not the one production hands the handler.
    The query stays as parsed (its ``%2B`` is a ``+``, its ``+`` a space)."""
    app = pf.App("paths")

    @app.http("/e/{name}", auth="anonymous")
    def echo(request: pf.Request) -> dict[str, object]:
        name = request.path_params["name"]
        return {"name": name, "path": request.path, "q": request.query.get("q")}

    request = http_request("GET", "/e/a%20b%C3%A9?q=x%2By+z")
    expected = {"name": "a bé", "path": "/e/a bé", "q": "x+y z"}
    assert json.loads(invoke(app, "echo", request).body) == expected
    assert json.loads(harness.http(app, request).body) == expected
