# SPDX-License-Identifier: Apache-2.0
"""QueuePublisher in CPython against a stand-in ``env``: what it hands a producer binding, and
what it refuses before calling one (Queues limits:
https://developers.cloudflare.com/queues/platform/limits/)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from portable_fn import App
from portable_fn.errors import PublishError
from portable_fn.events import CloudEvent, from_dict
from portable_fn_cloudflare.publisher import QueuePublisher, close_outbox, open_outbox
from portable_fn_cloudflare.settle import MAX_DELAY_SECONDS


class Producer:
    def __init__(self) -> None:
        self.sent: list[tuple[Any, dict[str, Any]]] = []

    def send(self, body: Any, **options: Any) -> object:
        self.sent.append((body, options))
        return object()  # the binding's Promise; never awaited here


class Env:
    def __init__(self) -> None:
        self.Q_JOBS = Producer()


@pytest.fixture
def env() -> Iterator[Env]:
    env = Env()
    _, token = open_outbox(env)
    try:
        yield env
    finally:
        close_outbox(token)


def test_send_hands_the_structured_event_to_the_binding(env: Env) -> None:
    event = CloudEvent.create(type="t", source="/s", data={"n": 1})
    QueuePublisher(App("a")).send("jobs", event, delay=29.5)
    ((body, options),) = env.Q_JOBS.sent
    assert from_dict(body) == event
    assert options == {"contentType": "json", "delaySeconds": 30}


def test_integer_past_js_safe_range_is_sent_as_v8(env: Env) -> None:
    """JSON cannot carry a BigInt on Workers (workerd serializes ``json`` bodies with
    ``JSON.stringify``); ``v8`` carries it exactly. Pyodide makes a Number only strictly inside
    +-Number.MAX_SAFE_INTEGER, so 2**53 - 1 itself is the first BigInt."""
    publisher = QueuePublisher(App("a"))
    publisher.send("jobs", CloudEvent.create(type="t", source="/s", data={"id": 2**53 - 2}))
    publisher.send("jobs", CloudEvent.create(type="t", source="/s", data={"id": 2**53 - 1}))
    publisher.send("jobs", CloudEvent.create(type="t", source="/s", data={"id": [-(2**53)]}))
    assert [options for _, options in env.Q_JOBS.sent] == [
        {"contentType": "json"},
        {"contentType": "v8"},
        {"contentType": "v8"},
    ]


def test_oversized_event_is_refused_before_the_binding_is_called(env: Env) -> None:
    # 128 KB (1 KB = 1000 bytes) per message; the binding would only fail it on await.
    publisher = QueuePublisher(App("a"))
    with pytest.raises(PublishError, match="128000 bytes"):
        publisher.send("jobs", CloudEvent.create(type="t", source="/s", data="x" * 128_000))
    assert env.Q_JOBS.sent == []
    publisher.send("jobs", CloudEvent.create(type="t", source="/s", data="x" * 120_000))
    assert len(env.Q_JOBS.sent) == 1


def test_delay_beyond_what_queues_accept_is_refused_not_shortened(env: Env) -> None:
    publisher = QueuePublisher(App("a"))
    event = CloudEvent.create(type="t", source="/s", data=1)
    with pytest.raises(PublishError, match=str(MAX_DELAY_SECONDS)):
        publisher.send("jobs", event, delay=MAX_DELAY_SECONDS + 60)  # not 12 h instead of 12h01
    with pytest.raises(PublishError, match=str(MAX_DELAY_SECONDS)):
        publisher.send("jobs", event, delay=-5)
    assert env.Q_JOBS.sent == []
    publisher.send("jobs", event, delay=MAX_DELAY_SECONDS)
    assert env.Q_JOBS.sent[0][1]["delaySeconds"] == MAX_DELAY_SECONDS


def test_size_budget_leaves_room_for_the_internal_metadata(env: Env) -> None:
    # Limits: "1 KB is measured as 1000 bytes. Messages can include up to ~100 bytes of internal
    # metadata that counts towards total message limits": a 127,950-byte body does not fit.
    from portable_fn.events import to_json

    publisher = QueuePublisher(App("a"))
    probe = CloudEvent.create(type="t", source="/s", data="")
    overhead = len(to_json(probe))
    event = CloudEvent.create(type="t", source="/s", data="x" * (127_950 - overhead), id=probe.id,
                              time=probe.time)
    assert 127_900 < len(to_json(event)) <= 128_000
    with pytest.raises(PublishError, match="bytes"):
        publisher.send("jobs", event)
    assert env.Q_JOBS.sent == []
    # `portable-fn dev` and RecordingPublisher refuse it too: what runs locally was sent here.
    from portable_fn._local.ingress import max_event_bytes
    from portable_fn_cloudflare.publisher import MAX_MESSAGE_BYTES

    assert max_event_bytes("topic") == MAX_MESSAGE_BYTES


def test_failed_send_names_its_queue() -> None:
    # A binding's send() is a Promise that rejects (Queues error codes page); the error the
    # Worker logs and fails the message with says which queue refused.
    import asyncio

    class Binding:
        def __init__(self, error: str | None) -> None:
            self.error = error

        def send(self, body: Any, **options: Any) -> Any:
            async def settle() -> None:
                if self.error:
                    raise RuntimeError(self.error)
            return settle()

    class TwoQueues:
        Q_JOBS = Binding(None)
        Q_AUDIT = Binding("Queue send failed: Too Many Requests")

    box, token = open_outbox(TwoQueues())
    try:
        publisher = QueuePublisher(App("a"))
        publisher.send("jobs", CloudEvent.create(type="t", source="/s", data=1))
        publisher.send("audit", CloudEvent.create(type="t", source="/s", data=2))
    finally:
        close_outbox(token)
    with pytest.raises(PublishError, match=r"'audit'.*Too Many Requests"):
        asyncio.run(box.flush())
