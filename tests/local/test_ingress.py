"""Ingress parsing and routing (the HTTP side runs in test_dev_shop.py against the server)."""

from __future__ import annotations

import json

import pytest

from portable_fn._local import ingress
from portable_fn.events import CloudEvent, to_binary, to_dict, to_structured


def _event() -> CloudEvent:
    return CloudEvent(
        id="1",
        source="/s",
        type="t.x",
        datacontenttype="application/json",
        data={"a": [1, 2]},
        extensions={"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"},
    )


@pytest.mark.parametrize("encode", [to_binary, to_structured])
def test_both_modes_round_trip(encode: object) -> None:
    headers, body = encode(_event())  # type: ignore[operator]
    [event], rejected = ingress.parse(headers, body)
    assert rejected == [] and event == _event()


def test_routes() -> None:
    assert ingress.route("/_pf/events") == ("event", "")
    assert ingress.route("/_pf/events/") == ("event", "")
    assert ingress.route("/_pf/events/fulfil") == ("function", "fulfil")
    assert ingress.route("/_pf/topics/order-events") == ("topic", "order-events")
    assert ingress.route("/_pf/queues/jobs") == ("queue", "jobs")
    assert ingress.route("/_pf/streams/clicks") == ("stream", "clicks")
    assert ingress.route("/_pf/other") is None


def test_handle_answers_4xx_json() -> None:
    calls: list[tuple[str, str, CloudEvent]] = []

    def accept(kind: str, name: str, event: CloudEvent) -> tuple[str, ...]:
        calls.append((kind, name, event))
        if name == "missing":
            raise LookupError("no event function named 'missing'")
        return ("f",)

    headers, body = to_structured(_event())
    ok = ingress.handle("POST", "/_pf/topics/t", headers, body, accept)
    assert ok.status == 202 and json.loads(ok.body)["functions"] == ["f"]
    assert calls[0][:2] == ("topic", "t")
    missing = ingress.handle("POST", "/_pf/events/missing", headers, body, accept)
    assert missing.status == 404
    bad = ingress.handle("POST", "/_pf/events", {"content-type": "application/json"}, b"{}", accept)
    assert bad.status == 400 and json.loads(bad.body)["error"]["attribute"] == "specversion"
    batch = ingress.handle(
        "POST",
        "/_pf/events",
        {"content-type": "application/cloudevents-batch+json"},
        b"[1, {}]",
        accept,
    )
    assert batch.status == 400  # nothing valid in it
    assert len(json.loads(batch.body)["error"]["rejected"]) == 2
    assert ingress.handle("PUT", "/_pf/events", headers, body, accept).status == 405


def test_json_nested_too_deep_is_a_400_not_a_500() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000

    def accept(kind: str, name: str, event: CloudEvent) -> tuple[str, ...]:
        return ("f",)

    cases = [
        ({"content-type": "application/cloudevents-batch+json"}, deep),
        ({"content-type": "application/cloudevents+json"},
         b'{"specversion": "1.0", "id": "1", "source": "/s", "type": "t", "data": ' + deep + b"}"),
        ({"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/s", "ce-type": "t",
          "content-type": "application/json"}, deep),
    ]
    for headers, body in cases:
        assert ingress.handle("POST", "/_pf/events", headers, body, accept).status == 400


def test_an_event_timed_at_the_end_of_year_9999_is_accepted() -> None:
    body = (b'{"specversion": "1.0", "id": "1", "source": "/s", "type": "t", '
            b'"time": "9999-12-31T23:30:00-05:00"}')
    answer = ingress.handle(
        "POST", "/_pf/events", {"content-type": "application/cloudevents+json"}, body,
        lambda kind, name, event: ("f",),
    )
    assert answer.status == 202


# --- Size limits: the smallest message a cloud carries ----------------------------------------
#
# Measured as the event's structured JSON, which is what the broker stores and every adapter's
# publisher sends. Queues: 48 KiB, an Azure Storage Queue message (64 KiB,
# https://learn.microsoft.com/azure/storage/queues/storage-queues-introduction) base64-encoded
# by the Functions host (the Azure adapter's default for @app.queue). Topics, events and the
# rest: 127 900 bytes, a Cloudflare Queues message less its metadata
# (https://developers.cloudflare.com/queues/platform/limits/), which carries every Cloudflare
# event. Events are the CloudEvents spec's own
# structured-mode example (http-protocol-binding.md section 3.2.1), with a bigger ``data``.


def _sized(size: int) -> tuple[dict[str, str], bytes]:
    event = CloudEvent(
        id="A234-1234-1234",
        source="https://github.com/cloudevents/spec/pull",
        type="com.example.someevent",
        datacontenttype="text/plain",
        data="x" * size,
    )
    return to_structured(event)


def _accept_all(kind: str, name: str, event: CloudEvent) -> tuple[str, ...]:
    return ("f",)


@pytest.mark.parametrize(
    ("path", "fits", "too_big"),
    [
        ("/_pf/queues/jobs", 47_000, 50_000),
        ("/_pf/topics/orders", 120_000, 130_000),
        ("/_pf/events", 120_000, 130_000),
    ],
)
def test_an_event_larger_than_the_smallest_cloud_message_is_a_413(
    path: str, fits: int, too_big: int
) -> None:
    headers, body = _sized(fits)
    assert ingress.handle("POST", path, headers, body, _accept_all).status == 202
    headers, body = _sized(too_big)
    answer = ingress.handle("POST", path, headers, body, _accept_all)
    assert answer.status == 413
    error = json.loads(answer.body)["error"]
    assert error["status"] == 413 and "bytes" in error["message"]


def test_in_a_batch_only_the_oversized_event_is_refused() -> None:
    small = to_dict(CloudEvent(id="1", source="/s", type="t", data={"a": 1}))
    big = to_dict(CloudEvent(id="2", source="/s", type="t", data="x" * 130_000))
    body = json.dumps([small, big]).encode()
    headers = {"content-type": "application/cloudevents-batch+json"}
    answer = ingress.handle("POST", "/_pf/topics/orders", headers, body, _accept_all)
    assert answer.status == 202
    out = json.loads(answer.body)
    assert [a["id"] for a in out["accepted"]] == ["1"]
    [refused] = out["rejected"]
    assert (refused["index"], refused["status"]) == (1, 413)
    only_big = json.dumps([big]).encode()
    answer = ingress.handle("POST", "/_pf/topics/orders", headers, only_big, _accept_all)
    assert answer.status == 413


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
     "multipart/form-data; boundary=x"],
)
def test_a_cross_site_simple_request_enqueues_nothing(content_type: str) -> None:
    """A page the developer visits may POST to http://127.0.0.1:PORT without a preflight only
    with a CORS-safelisted Content-Type and no ``ce-*`` header (Fetch standard, "CORS-safelisted
    request-header"). The ingress needs a ``ce-specversion`` header or an
    ``application/cloudevents`` type, either of which makes the browser ask first, and the
    ingress answers no preflight (OPTIONS is a 405 without Access-Control-* headers)."""
    body = json.dumps(to_dict(_event())).encode()
    accepted: list[CloudEvent] = []

    def accept(kind: str, name: str, event: CloudEvent) -> tuple[str, ...]:
        accepted.append(event)
        return ("jobs",)

    headers = {"content-type": content_type, "origin": "https://evil.example"}
    answer = ingress.handle("POST", "/_pf/queues/jobs", headers, body, accept)
    assert answer.status == 400 and accepted == []
    preflight = ingress.handle("OPTIONS", "/_pf/queues/jobs", headers, b"", accept)
    assert preflight.status == 405
    assert not any(name.startswith("access-control-") for name in preflight.headers)


@pytest.mark.parametrize(
    ("path", "content_type", "body", "data"),
    [
        ("/_pf/queues/jobs", "application/json", b'{"sku": "a"}', {"sku": "a"}),
        ("/_pf/topics/order-events", "application/xml", b"<a/>", "<a/>"),
        ("/_pf/streams/clicks", "application/octet-stream", b"\x00\x01", b"\x00\x01"),
    ],
)
def test_a_plain_body_to_a_queue_topic_or_stream_is_the_data_as_pf_send_sends_it(
    path: str, content_type: str, body: bytes, data: object
) -> None:
    """docs/cli.md: ``/_pf/queues/QUEUE`` and the like take what ``pf.send`` / ``pf.publish``
    send. ``curl -d '{"sku":"a"}'`` with no ``ce-*`` headers was a 400 ("neither a
    ce-specversion header..."): the body is the data, the event built as ``pf.send`` builds one
    (a new id, ``type`` ``<app>.<queue>``, ``source`` the app's). Only with a Content-Type a
    browser preflights (not text/plain, a form or none: see the cross-site test above)."""
    seen: list[CloudEvent] = []

    def accept(kind: str, name: str, event: CloudEvent) -> tuple[str, ...]:
        seen.append(event)
        return ("f",)

    headers = {"content-type": content_type}
    answer = ingress.handle("POST", path, headers, body, accept, app_name="shop")
    assert answer.status == 202
    (event,) = seen
    name = path.rsplit("/", 1)[1]
    assert (event.type, event.source, event.data) == (f"shop.{name}", "/portable-fn/shop", data)
    assert json.loads(answer.body)["id"] == event.id
    # The bus and a function's own ingress still take CloudEvents only: a type is needed.
    plain = ingress.handle("POST", "/_pf/events", headers, body, accept, app_name="shop")
    assert plain.status == 400


def test_a_plain_body_a_page_could_send_cross_site_is_still_refused() -> None:
    for headers in ({}, {"content-type": "text/plain"}):
        answer = ingress.handle("POST", "/_pf/queues/jobs", headers, b"x", _accept_all)
        assert answer.status == 400


def test_a_structured_cloudevent_sent_as_plain_json_is_that_event() -> None:
    """The body an SQS or Storage Queue message holds for a published event: the AWS and Azure
    codecs deliver it as the event itself, and so does the ingress (it wrapped it as data)."""
    seen: list[CloudEvent] = []

    def accept(kind: str, name: str, event: CloudEvent) -> tuple[str, ...]:
        seen.append(event)
        return ("f",)

    body = json.dumps(to_dict(_event())).encode()
    answer = ingress.handle("POST", "/_pf/queues/jobs", {"content-type": "application/json"},
                            body, accept, app_name="shop")
    assert answer.status == 202 and seen == [_event()]
