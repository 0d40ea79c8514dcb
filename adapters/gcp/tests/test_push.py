# SPDX-License-Identifier: Apache-2.0
"""Bare Pub/Sub push bodies after functions-framework's conversion (``push``)."""

from __future__ import annotations

import json
from typing import Any

import portable_fn as pf
import pytest
from conftest import load
from portable_fn.errors import PublishError
from portable_fn.events import CloudEvent

from portable_fn_gcp import intake
from portable_fn_gcp.harness import _client
from portable_fn_gcp.publisher import PubSubPublisher
from portable_fn_gcp.pubsub import PUBLISHED, parse
from portable_fn_gcp.push import is_push_body, restore


def converted(source: str = "//pubsub.googleapis.com/") -> CloudEvent:
    """What functions-framework hands over for ``push_ordering_no_attributes.json``."""
    return CloudEvent(
        id="3390469820526936",
        source=source,
        type=PUBLISHED,
        time="2021-11-16T19:21:09.107Z",
        datacontenttype="application/json",
        data={"message": {"data": "ZGFzZmRzYWZkYXNm", "attributes": {}}},
    )


def test_push_body_becomes_the_data_and_the_subscription_the_source() -> None:
    """Body: https://github.com/GoogleCloudPlatform/functions-framework-python/issues/170"""
    body = {**load("push_ordering_no_attributes.json"), "deliveryAttempt": 2}
    event = restore(converted(), body)
    assert event.source == (
        "//pubsub.googleapis.com/projects/matts-clean-test-project/subscriptions/"
        "message-ordering-subscription"
    )
    message = parse(event, trigger="topic")
    assert (message.ordering_key, message.delivery_attempt, message.data) == (
        "2",
        2,
        b"dasfdsafdasf",
    )


def test_a_topic_source_is_kept() -> None:
    topic = "//pubsub.googleapis.com/projects/p/topics/t"
    event = restore(converted(topic), load("push_ordering_no_attributes.json"))
    assert event.source == topic


@pytest.mark.parametrize(
    "body",
    [
        None,
        [1],
        {"message": {"data": ""}},  # no subscription
        {"message": "x", "subscription": "s"},
        {"context": {}, "message": {}, "subscription": "s"},  # a legacy event
    ],
)
def test_other_bodies_leave_the_event_alone(body: Any) -> None:
    assert not is_push_body(body)
    event = converted()
    assert restore(event, body) is event


class _DeadLetters(PubSubPublisher):
    """Forwards into a list, or fails as an unreachable Pub/Sub does."""

    def __init__(self, *, fail: bool) -> None:
        super().__init__(bus_topic="b", project="p")
        self.fail = fail
        self.forwarded: list[tuple[str, bytes, dict[str, str]]] = []

    def forward(self, topic: str, data: bytes, attributes: dict[str, str]) -> None:
        if self.fail:
            raise PublishError(f"could not publish to {topic!r}")
        self.forwarded.append((topic, data, attributes))


@pytest.mark.parametrize("fail", [False, True])
def test_undecodable_push_is_acknowledged_only_once_dead_lettered(fail: bool) -> None:
    """A push the intake cannot read is moved to the dead-letter topic and acknowledged; when
    that publish fails it is a JSON 400, so Pub/Sub keeps it and redelivers
    (https://cloud.google.com/pubsub/docs/handling-failures).

    Body: https://cloud.google.com/pubsub/docs/push#receive_push , publishTime damaged.
    """
    app = pf.App("dl")
    ran: list[pf.CloudEvent] = []

    @app.topic("orders")
    def on_order(event: pf.CloudEvent) -> None:
        ran.append(event)

    publisher = _DeadLetters(fail=fail)
    app.use_publisher(publisher)
    client = _client(app, "on_order")
    with client.application.app_context():
        intake.install(app)  # as the generated main.py does inside create_app
    body = load("push_documented.json")
    body["message"]["publishTime"] = body["message"]["publish_time"] = "yesterday"
    response = client.post("/", json=body)
    assert ran == []
    if fail:
        assert response.status_code == 400
        assert response.get_json()["error"]["status"] == 400
        assert publisher.forwarded == []
        return
    assert response.status_code == 200
    [(topic, data, attributes)] = publisher.forwarded
    assert topic == "dl-on-order-dlq"  # <app>-<function>-dlq
    assert data == b"Hello Cloud Pub/Sub! Here is my message!"
    assert attributes["key"] == "value"
    assert attributes["portable-fn-error"].startswith("EventDecodeError")


def test_a_malformed_push_left_to_pubsub_is_an_error_line_naming_the_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without the Pub/Sub publisher (nothing moves it to the dead-letter topic) a malformed
    push is a JSON 400 for Pub/Sub to redeliver, and an ERROR line naming the message and its
    subscription, as the other providers log a decode failure; it was a WARNING naming neither.

    Body: https://cloud.google.com/pubsub/docs/push#receive_push , an attribute made a number.
    """
    app = pf.App("quiet")

    @app.topic("my-topic")
    def news(event: pf.CloudEvent) -> None: ...

    client = _client(app, "news")
    body = load("push_documented.json")
    body["message"]["attributes"] = {"n": 1}
    capsys.readouterr()
    assert client.post("/", json=body).status_code == 400
    [line] = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert (line["severity"], line["message"]) == ("ERROR", "malformed delivery")
    assert line["field"] == "data.message.attributes"
    assert line["message_id"] == "2070443601311540"
    assert line["subscription"] == "projects/myproject/subscriptions/mysubscription"


_EVENT = {"specversion": "1.0", "id": "1", "source": "/s", "type": "com.example.t"}


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        # HTTP binding 3.3 (https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md#33-batched-content-mode),
        # JSON format section 4: a batch is a JSON array of events, possibly empty.
        ("application/cloudevents-batch+json; charset=utf-8", [_EVENT, {**_EVENT, "id": "2"}]),
        ("application/cloudevents-batch+json", []),
        # Structured mode (binding 3.2) whose body is JSON but no event object.
        ("application/cloudevents+json; charset=utf-8", [_EVENT]),
        ("application/cloudevents+json", "text"),
    ],
)
def test_batched_or_non_object_cloudevents_are_a_json_400_not_a_crash(
    content_type: str, body: Any
) -> None:
    """One delivery is one event on Cloud Run functions; a batch (the JSON Batch format) or a
    structured body that is not an object crashed functions-framework's legacy-event conversion
    (500, so the sender retried what can never succeed). They are malformed deliveries: 400."""
    app = pf.App("batch")
    ran: list[pf.CloudEvent] = []

    @app.event("com.example.t")
    def on_event(event: pf.CloudEvent) -> None:
        ran.append(event)

    client = _client(app, "on_event")
    with client.application.app_context():
        intake.install(app)  # as the generated main.py does inside create_app
    response = client.post(
        "/", data=json.dumps(body).encode(), headers={"content-type": content_type}
    )
    assert (response.status_code, response.get_json()["error"]["status"]) == (400, 400)
    assert ran == []


def test_the_dead_letter_line_carries_the_events_own_ids(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The last declared attempt fails and the message is moved: that line has the event's
    correlation and trace ids, as the handler's lines had them. It had the delivery's own
    (Eventarc's request trace), so a search on the correlation id missed the final line."""
    import base64

    from portable_fn_gcp.binding import to_message

    app = pf.App("dl")

    @app.queue("dl-q", max_retries=0, dead_letter="dl-q-dlq")
    def work(event: pf.CloudEvent) -> None:
        raise RuntimeError("always")

    app.use_publisher(_DeadLetters(fail=False))
    event = pf.CloudEvent.create(type="t", source="/s", data={"x": 1}, extensions={
        "traceparent": "00-cccccccccccccccccccccccccccccccc-3333333333333333-01",
        "correlationid": "corr-DL"})
    data, attributes = to_message(event)
    body = {"message": {"data": base64.b64encode(data).decode(), "attributes": attributes,
                        "messageId": "555", "publishTime": "2026-12-07T10:00:00Z"},
            "subscription": "projects/p/subscriptions/s", "deliveryAttempt": 1}
    headers = {"ce-specversion": "1.0", "ce-id": "555",
               "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
               "ce-source": "//pubsub.googleapis.com/projects/p/topics/dl-q",
               "traceparent": "00-dddddddddddddddddddddddddddddddd-4444444444444444-01"}
    assert _client(app, "work").post("/", headers=headers, json=body).status_code == 200
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    (moved,) = [x for x in lines if x["message"] == "message moved to the dead-letter topic"]
    assert moved["correlation_id"] == "corr-DL" and moved["trace_id"] == "c" * 32
    assert moved["event_id"] == event.id
