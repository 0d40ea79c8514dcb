"""Ingress parsing and routing (the HTTP side runs in test_dev_shop.py against the server)."""

from __future__ import annotations

import json

import pytest

from portable_fn._local import ingress
from portable_fn.events import CloudEvent, to_binary, to_structured


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
