# SPDX-License-Identifier: Apache-2.0
"""PubSubPublisher in process: google-cloud-pubsub against the loopback gRPC Publish endpoint."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import portable_fn as pf
import pytest
from portable_fn.errors import PublishError
from portable_fn.events import CloudEvent
from pubsub_endpoint import PublishEndpoint

from portable_fn_gcp.binding import from_message
from portable_fn_gcp.publisher import PubSubPublisher


@pytest.fixture
def emulator(pubsub_endpoint: PublishEndpoint, monkeypatch: pytest.MonkeyPatch) -> PublishEndpoint:
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", pubsub_endpoint.host)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "unit-project")
    return pubsub_endpoint


def test_publish_send_emit_topics(emulator: PublishEndpoint) -> None:
    publisher = PubSubPublisher(bus_topic="app-events")
    sent: dict[str, CloudEvent] = {}
    calls: list[tuple[str, Callable[[CloudEvent], None]]] = [
        ("topic", lambda e: publisher.publish("t-one", e)),
        ("queue", lambda e: publisher.send("q-one", e)),
        ("bus", publisher.emit),
    ]
    for kind, call in calls:
        event = CloudEvent.create(
            type=f"com.example.{kind}",
            source="/unit",
            data={"k": kind},
            datacontenttype="application/json",
        )
        call(event)
        sent[event.id] = event
    for topic, kind in [("t-one", "topic"), ("q-one", "queue"), ("app-events", "bus")]:
        got = emulator.wait_for(lambda m, t=topic: m.topic == f"projects/unit-project/topics/{t}")
        arrived = from_message(got.data, got.attributes)
        assert arrived is not None and arrived == sent[arrived.id]
        assert arrived.type == f"com.example.{kind}"


def test_pf_publish_inside_a_handler_goes_through_pubsub(emulator: PublishEndpoint) -> None:
    from portable_fn.testing import invoke

    app = pf.App("unit")
    app.use_publisher(PubSubPublisher(bus_topic="unit-events"))

    @app.http("/go", methods=["POST"])
    def go(req: pf.Request) -> dict[str, str]:
        event = pf.publish("audit-trail", {"who": "me"}, type="com.example.audit")
        return {"id": event.id}

    response = invoke(app, "go", pf.Request(method="POST", path="/go"))
    assert isinstance(response, pf.Response) and response.status == 200
    event_id = json.loads(response.body)["id"]
    got = emulator.wait_for(lambda m: m.attributes.get("ce-id") == event_id)
    assert got.topic == "projects/unit-project/topics/audit-trail"
    assert got.attributes["ce-source"] == "/portable-fn/unit/go"
    assert got.attributes["ce-type"] == "com.example.audit"


def test_unreachable_endpoint_is_a_publish_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", f"127.0.0.1:{port}")
    publisher = PubSubPublisher(bus_topic="x", project="p", timeout=3)
    with pytest.raises(PublishError, match="t-gone"):
        publisher.publish("t-gone", CloudEvent.create(type="t", source="/s", data="x"))


def test_pubsub_sdk_is_loaded_on_first_publish_only(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from portable_fn_gcp.publisher import PubSubPublisher\n"
        "PubSubPublisher(bus_topic='b')\n"
        "print('google.cloud.pubsub_v1' in sys.modules, 'grpc' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert out.stdout.split() == ["False", "False"]


def test_dead_letter_forward_falls_back_to_pubsub_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    from portable_fn.testing import RecordingPublisher

    from portable_fn_gcp.dead_letter import forward

    class Log:
        def __init__(self) -> None:
            self.errors: list[str] = []

        def error(self, message: str, **fields: object) -> None:
            self.errors.append(message)

        def warning(self, message: str, **fields: object) -> None: ...

    app = pf.App("dl")

    @app.queue("dl-jobs")
    def job(event: pf.CloudEvent) -> None: ...

    event = CloudEvent.create(type="t", source="/s", data="x")
    app.use_publisher(RecordingPublisher())
    assert forward(app, "job", event, "NonRetryable: no", Log()) is False
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", f"127.0.0.1:{port}")  # nothing listens there
    app.use_publisher(PubSubPublisher(bus_topic="b", project="p", timeout=3))
    log = Log()
    assert forward(app, "job", event, "NonRetryable: no", log) is False
    assert log.errors == ["dead-lettering failed; leaving it to Pub/Sub"]


@pytest.mark.parametrize("project", ["p", None])
def test_missing_credentials_are_a_publish_error(
    monkeypatch: pytest.MonkeyPatch, project: str | None
) -> None:
    # Outside Google Cloud with no Application Default Credentials, the client (and the project
    # lookup) raise google.auth's own error; the caller sees the project's publish error.
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    def no_credentials(*args: object, **kwargs: object) -> None:
        raise DefaultCredentialsError("Your default credentials were not found.")

    monkeypatch.delenv("PUBSUB_EMULATOR_HOST", raising=False)
    for name in ("GOOGLE_CLOUD_PROJECT", "GCP_PROJECT", "GCLOUD_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(google.auth, "default", no_credentials)
    publisher = PubSubPublisher(bus_topic="b", project=project, timeout=3)
    with pytest.raises(PublishError, match="credentials") as info:
        publisher.publish("t-one", CloudEvent.create(type="t", source="/s", data="x"))
    assert isinstance(info.value.__cause__, DefaultCredentialsError)


def test_oversized_message_is_refused_before_sending(emulator: PublishEndpoint) -> None:
    # Pub/Sub takes at most 10 MB per publish request; the client refuses a bigger one itself.
    publisher = PubSubPublisher(bus_topic="b")
    big = CloudEvent.create(type="t", source="/s", data=b"x" * 10_000_001)
    with pytest.raises(PublishError, match="10000000 bytes"):
        publisher.publish("t-big", big)
    assert not [m for m in emulator if m.topic.endswith("/t-big")]


# Pub/Sub resource limits (https://cloud.google.com/pubsub/quotas#resource_limits): at most 100
# attributes a message, keys of at most 256 bytes, values of at most 1024 bytes; the service
# refuses a message beyond them (INVALID_ARGUMENT "... attributes ... too long").
def _within_attribute_limits(attributes: dict[str, str]) -> bool:
    return len(attributes) <= 100 and all(
        len(k.encode()) <= 256 and len(v.encode()) <= 1024 for k, v in attributes.items()
    )


@pytest.mark.parametrize(
    "long",
    [
        {"subject": "uploads/" + "é" * 600},  # an object key: up to 1024 bytes, plus a prefix
        {"extensions": {"dataref": "https://example.com/" + "x" * 1100}},
        {"extensions": {f"x{i}": "v" for i in range(120)}},  # more attributes than allowed
    ],
)
def test_event_beyond_attribute_limits_goes_structured(
    emulator: PublishEndpoint, long: dict[str, object]
) -> None:
    publisher = PubSubPublisher(bus_topic="b")
    event = CloudEvent.create(type="t", source="/s", data={"k": 1},
                              datacontenttype="application/json", **long)
    publisher.publish("t-long", event)
    got = emulator.wait_for(lambda m: m.topic.endswith("/t-long") and (
        m.attributes.get("ce-id") == event.id or event.id.encode() in m.data))
    assert _within_attribute_limits(got.attributes)
    assert from_message(got.data, got.attributes) == event


def test_event_within_attribute_limits_stays_binary(emulator: PublishEndpoint) -> None:
    publisher = PubSubPublisher(bus_topic="b")
    event = CloudEvent.create(type="t", source="/s", data={"k": 1},
                              datacontenttype="application/json", subject="é" * 512)
    publisher.publish("t-fits", event)
    got = emulator.wait_for(lambda m: m.attributes.get("ce-id") == event.id)
    assert got.attributes["ce-subject"] == "é" * 512  # exactly 1024 bytes: still an attribute
    assert from_message(got.data, got.attributes) == event
