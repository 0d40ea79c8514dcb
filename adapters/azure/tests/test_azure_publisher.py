# SPDX-License-Identifier: Apache-2.0
"""Outbound to Event Grid: the real azure-eventgrid client posts to an endpoint on 127.0.0.1
(a stand-in for an Event Grid topic, which has no emulator here: it records what the client
sends and answers 200 as Event Grid does); what it received is then delivered to an
``@app.event`` function as an Event Grid trigger invocation. The event arrives unchanged."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from portable_fn import App
from portable_fn.errors import PublishError
from portable_fn.events import CloudEvent
from portable_fn.testing import RecordingPublisher

from portable_fn_azure import AzureOptions, function_app, worker
from portable_fn_azure.publisher import AzurePublisher


@pytest.fixture
def topic_endpoint() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    received: list[tuple[dict[str, str], bytes]] = []

    class Topic(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            received.append((dict(self.headers), self.rfile.read(length)))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Topic)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/api/events", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _deliver(app: App, function: str, body: bytes) -> None:
    # Event Grid posts a batch; the host invokes the function once per element.
    for element in json.loads(body):
        worker.invoke(function_app(app), function,
                      {"binding": "eventGridTrigger", "data": {"type": "json", "value": element}})


@pytest.mark.parametrize("data", [{"invoice": 42}, "plain text", b"\x00\x01binary"])
def test_emit_reaches_event_function_unchanged(topic_endpoint: Any, data: Any) -> None:
    url, received = topic_endpoint
    publisher = AzurePublisher(env={"EVENTGRID_BUS_ENDPOINT": url, "EVENTGRID_BUS_KEY": "key"})
    original = CloudEvent.create(
        type="com.example.invoice.paid", source="/billing", subject="invoice/42", data=data,
        datacontenttype={dict: "application/json", str: "text/plain",
                         bytes: "application/octet-stream"}[type(data)],
        extensions={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
    publisher.emit(original)
    [(headers, body)] = received
    assert headers["aeg-sas-key"] == "key"
    assert headers["Content-Type"].startswith("application/cloudevents-batch+json")

    app = App("billing")
    app.use_publisher(RecordingPublisher())
    seen: list[CloudEvent] = []

    @app.event("com.example.invoice.paid")
    def paid(event: CloudEvent) -> None:
        seen.append(event)

    _deliver(app, "paid", body)
    assert seen == [original]


def test_topic_on_event_grid_uses_the_topic_settings(topic_endpoint: Any) -> None:
    url, received = topic_endpoint
    publisher = AzurePublisher(AzureOptions(topics="eventgrid"), env={
        "EVENTGRID_ORDER_EVENTS_ENDPOINT": url, "EVENTGRID_ORDER_EVENTS_KEY": "k2"})
    event = CloudEvent.create(type="com.example.order.created", source="/shop", data={"id": 1})
    publisher.publish("order-events", event)
    assert received[0][0]["aeg-sas-key"] == "k2"
    assert json.loads(received[0][1])[0]["id"] == event.id


def test_missing_settings_are_a_publish_error_naming_the_setting() -> None:
    event = CloudEvent.create(type="t", source="/s", data={})
    with pytest.raises(PublishError, match="EVENTGRID_BUS_ENDPOINT"):
        AzurePublisher(env={}).emit(event)
    with pytest.raises(PublishError, match="AzureWebJobsStorage"):
        AzurePublisher(env={}).send("jobs", event)
    with pytest.raises(PublishError, match="ServiceBusConnection"):
        AzurePublisher(env={}).publish("news", event)


def test_unreachable_endpoint_is_a_publish_error() -> None:
    publisher = AzurePublisher(env={"EVENTGRID_BUS_ENDPOINT": "http://127.0.0.1:9/api/events",
                                    "EVENTGRID_BUS_KEY": "k"})
    with pytest.raises(PublishError):
        publisher.emit(CloudEvent.create(type="t", source="/s", data={}))


def test_oversized_queue_message_is_refused_before_sending() -> None:
    big = CloudEvent.create(type="t", source="/s", data="x" * 60_000)
    with pytest.raises(PublishError, match="at most"):
        AzurePublisher(env={"AzureWebJobsStorage": "UseDevelopmentStorage=true"}).send("q", big)


def test_servicebus_message_is_what_the_trigger_reads_back() -> None:
    """No Service Bus emulator runs here: the SDK's own message object is built and its wire
    fields are handed to the trigger the way the host would."""
    from datetime import datetime, timezone

    from portable_fn_azure import servicebus
    from portable_fn_azure.publisher import STRUCTURED, servicebus_message

    event = CloudEvent.create(type="com.example.order.created", source="/shop", subject="o-1",
                              data={"id": "o-1"})
    message = servicebus_message(event, delay=60)
    assert message.message_id == event.id and message.subject == "o-1"
    assert message.content_type == STRUCTURED
    assert message.scheduled_enqueue_time_utc > datetime.now(timezone.utc)
    body = b"".join(message.body)
    doc = {"binding": "serviceBusTrigger", "data": {"type": "bytes", "value": body},
           "metadata": {"MessageId": message.message_id, "ContentType": message.content_type,
                        "DeliveryCount": 1, "UserProperties": {}, "ApplicationProperties": {}}}
    assert servicebus.to_event(worker.decode(doc), entity="orders") == event


def test_function_app_installs_a_publisher_that_sends_with_the_apps_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The publisher function_app installs loads the Azure one on first use (not at cold start)
    and honours the options: with Service Bus queues, a send needs the Service Bus setting."""
    monkeypatch.delenv("ServiceBusConnection", raising=False)
    app = App("deferred")
    function_app(app, AzureOptions(queues="servicebus"))
    assert app.publisher is not None
    event = CloudEvent.create(type="t", source="/s", data={})
    with pytest.raises(PublishError, match="ServiceBusConnection"):
        app.publisher.send("jobs", event, delay=5)


def test_servicebus_message_id_of_a_long_event_id_fits_the_128_character_limit() -> None:
    # Service Bus message ids are at most 128 characters (the SDK raises ValueError past that);
    # a longer CloudEvent id is hashed, so duplicate detection still sees the same id.
    from portable_fn_azure import servicebus
    from portable_fn_azure.publisher import servicebus_message

    event = CloudEvent.create(type="t", source="/s", id="order:" + "9" * 200, data={"n": 1})
    first, second = servicebus_message(event), servicebus_message(event)
    assert len(first.message_id) <= 128 and first.message_id == second.message_id
    body = b"".join(first.body)
    doc = {"binding": "serviceBusTrigger", "data": {"type": "bytes", "value": body},
           "metadata": {"MessageId": first.message_id, "ContentType": first.content_type,
                        "DeliveryCount": 1, "UserProperties": {}, "ApplicationProperties": {}}}
    assert servicebus.to_event(worker.decode(doc), entity="orders") == event  # id intact
    short = CloudEvent.create(type="t", source="/s", id="o-1", data=None)
    assert servicebus_message(short).message_id == "o-1"


def test_servicebus_message_carries_the_partition_key_as_its_session() -> None:
    """A session-enabled queue or topic refuses a message without a SessionId, and sessions are
    Service Bus's FIFO groups: ``partitionkey`` goes as the session (a non-session entity does
    not check it), hashed when longer than its 128 characters, as the trigger reads it back."""
    from portable_fn_azure.publisher import servicebus_message

    base = CloudEvent.create(type="t", source="/s", id="o-1", data={"n": 1})
    assert servicebus_message(base).session_id is None
    keyed = servicebus_message(base.with_extensions(partitionkey="customer-7"))
    assert keyed.session_id == "customer-7"
    long_key = base.with_extensions(partitionkey="c" * 200)
    first, second = servicebus_message(long_key), servicebus_message(long_key)
    assert len(first.session_id) <= 128 and first.session_id == second.session_id


class _Recording:
    """A real QueueClient (to Azurite) that keeps what Put Message answered."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.sent: list[Any] = []

    def send_message(self, *args: Any, **kwargs: Any) -> Any:
        message = self._client.send_message(*args, **kwargs)
        self.sent.append(message)
        return message

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


SEVEN_DAYS = 7 * 24 * 3600


@pytest.mark.parametrize("delay", [6 * 24 * 3600, SEVEN_DAYS])
def test_delayed_storage_queue_message_lives_once_visible(azurite: str, delay: int) -> None:
    # Put Message: the visibility timeout may be up to 7 days but "should be set to a value
    # smaller than the time-to-live", whose default is 7 days: a message delayed by 7 days
    # expires as it becomes visible, one delayed by 6 days lives 1 day. A delayed message keeps
    # the lifetime an undelayed one has, counted from when it becomes visible.
    from portable_fn_azure.publisher import queue_client

    queue = f"later-{delay}"
    publisher = AzurePublisher(env={"AzureWebJobsStorage": azurite})
    spy = _Recording(queue_client(azurite, queue))
    publisher._clients[("queue", queue)] = spy
    publisher.send(queue, CloudEvent.create(type="t", source="/s", data={}), delay=delay)
    (message,) = spy.sent
    assert (message.expires_on - message.next_visible_on).total_seconds() >= SEVEN_DAYS - 60


def test_storage_queue_delay_beyond_seven_days_is_refused_before_sending() -> None:
    publisher = AzurePublisher(env={"AzureWebJobsStorage": "UseDevelopmentStorage=true"})
    with pytest.raises(PublishError, match="7 days"):
        publisher.send("q", CloudEvent.create(type="t", source="/s", data={}),
                       delay=SEVEN_DAYS + 1)


def test_binary_extension_reaches_event_grid_as_base64(topic_endpoint: Any) -> None:
    # A Binary attribute is a base64 string in the JSON format (json-format.md 2.2), as every
    # other structured-mode publisher writes it; it used to fail JSON serialisation unsent.
    from portable_fn.events import from_json, to_json

    url, received = topic_endpoint
    publisher = AzurePublisher(env={"EVENTGRID_BUS_ENDPOINT": url, "EVENTGRID_BUS_KEY": "k"})
    original = CloudEvent.create(type="com.example.signed", source="/s", data={"n": 1},
                                 extensions={"signature": b"\x00\x01\xff"})
    publisher.emit(original)
    [(_, body)] = received
    assert json.loads(body)[0]["signature"] == "AAH/"
    app = App("sig")
    app.use_publisher(RecordingPublisher())
    seen: list[CloudEvent] = []

    @app.event("com.example.signed")
    def signed(event: CloudEvent) -> None:
        seen.append(event)

    _deliver(app, "signed", body)
    assert seen == [from_json(to_json(original))]  # what SQS, SNS, Service Bus... deliver


@pytest.mark.parametrize("data", [bytearray(b"\x89PNG\r\n"), memoryview(b"\x89PNG\r\n")])
def test_bytes_like_data_reaches_event_grid_as_its_bytes(topic_endpoint: Any, data: Any) -> None:
    """Data the core takes as binary (bytes, bytearray, memoryview: ``application/octet-stream``)
    travels as ``data_base64``, as every other publisher sends it. Rebuilt as the SDK's
    CloudEvent, anything but exactly ``bytes`` went as its repr, ``"bytearray(b'...')"`` or
    ``"<memory at 0x...>"``, and the consumer got that text. An extension named with digits
    only, which the spec allows, is sent too (the SDK's CloudEvent refused it)."""
    url, received = topic_endpoint
    publisher = AzurePublisher(env={"EVENTGRID_BUS_ENDPOINT": url, "EVENTGRID_BUS_KEY": "k"})
    original = CloudEvent.create(type="com.example.scan", source="/s", data=data,
                                 extensions={"2024": "q1"})
    publisher.emit(original)
    [(_, body)] = received
    assert "data" not in json.loads(body)[0]
    app = App("scans")
    app.use_publisher(RecordingPublisher())
    seen: list[CloudEvent] = []

    @app.event("com.example.scan")
    def scan(event: CloudEvent) -> None:
        seen.append(event)

    _deliver(app, "scan", body)
    [event] = seen
    assert event.data == b"\x89PNG\r\n" and event.extensions["2024"] == "q1"


def test_data_json_cannot_hold_is_refused_before_sending(topic_endpoint: Any) -> None:
    """As every other publisher refuses it (``to_json``): it was sent as its text."""
    from datetime import datetime, timezone

    from portable_fn.errors import InvalidCloudEventError

    url, received = topic_endpoint
    publisher = AzurePublisher(env={"EVENTGRID_BUS_ENDPOINT": url, "EVENTGRID_BUS_KEY": "k"})
    for data in ({"at": datetime(2026, 1, 1, tzinfo=timezone.utc)}, {"x": float("nan")}):
        with pytest.raises(InvalidCloudEventError):
            publisher.emit(CloudEvent.create(type="t", source="/s", data=data))
    assert received == []


def test_a_service_bus_delay_past_any_date_is_a_publish_error() -> None:
    """The core takes any finite delay; Service Bus schedules by date, and one past the last
    date Python holds escaped as an ``OverflowError`` from building the message. A
    ``PublishError`` now, before anything is sent, as the other publishers refuse a delay."""
    publisher = AzurePublisher(AzureOptions(queues="servicebus"), env={
        "ServiceBusConnection": "Endpoint=sb://127.0.0.1/;SharedAccessKeyName=k;"
                                "SharedAccessKey=a2V5"})
    with pytest.raises(PublishError, match="cannot schedule"):
        publisher.send("orders", CloudEvent.create(type="t", source="/s", data={}), delay=1e12)
