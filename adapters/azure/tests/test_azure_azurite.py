# SPDX-License-Identifier: Apache-2.0
"""Against Azurite (the Azure Storage emulator, npm) on 127.0.0.1.

``pf.send`` from a handler writes a Storage Queue message through azure-storage-queue; it is
read back as the Functions host reads it (base64 text, decoded) and handed to the queue function
as the worker hands it (``QueueMessage`` from the host's metadata): the handler sees the
original CloudEvent. A blob uploaded to Azurite, described by Event Grid's documented
BlobCreated event with the blob's real ETag and length, reaches ``@app.storage`` in the portable
storage shape. Azurite has no Event Grid, so that one event is built from the sample, filled
with what Azurite reports.
"""

from __future__ import annotations

import base64
import copy
import json
import uuid
from typing import Any

import portable_fn as pf
import pytest
from portable_fn import App
from portable_fn.errors import NonRetryable
from portable_fn.events import CloudEvent

from portable_fn_azure import function_app, worker
from portable_fn_azure.publisher import AzurePublisher, queue_client


def _received(connection: str, queue: str) -> list[Any]:
    client = queue_client(connection, queue)
    return list(client.receive_messages(messages_per_page=32, visibility_timeout=30))


def _invocation(message: Any) -> dict[str, Any]:
    """The host's queueTrigger invocation for a message read from the queue."""
    body = message.content
    return {
        "binding": "queueTrigger",
        "data": {"type": "bytes", "base64": base64.b64encode(body).decode()},
        "metadata": {
            "Id": message.id, "DequeueCount": message.dequeue_count,
            "InsertionTime": message.inserted_on.isoformat(),
            "ExpirationTime": message.expires_on.isoformat(),
            "NextVisibleTime": message.next_visible_on.isoformat(),
            "PopReceipt": message.pop_receipt,
        },
    }


def _app(connection: str, queue: str) -> tuple[App, list[CloudEvent]]:
    app = App("azurite")
    app.use_publisher(AzurePublisher(env={"AzureWebJobsStorage": connection}))
    seen: list[CloudEvent] = []

    @app.http("/orders", methods=["POST"])
    def create(req: Any) -> dict[str, str]:
        event = pf.send(queue, req.json(), type="com.example.order")
        return {"event_id": event.id}

    @app.queue(queue, max_retries=2)
    def work(event: CloudEvent, ctx: Any) -> None:
        if event.data.get("sku") == "never":
            raise NonRetryable("no such sku")
        seen.append(event)

    @app.storage("uploads")
    def upload(event: CloudEvent) -> None:
        seen.append(event)

    return app, seen


def _post(body: bytes) -> dict[str, Any]:
    return {"binding": "httpTrigger", "data": {"type": "http", "value": {
        "method": "POST", "url": "https://azurite.azurewebsites.net/orders",
        "headers": {"content-type": "application/json"}, "query": {}, "params": {},
        "body": {"type": "bytes", "base64": base64.b64encode(body).decode()}}}}


def test_send_then_trigger_gives_the_original_cloudevent(azurite: str) -> None:
    queue = f"orders-{uuid.uuid4().hex[:8]}"
    app, seen = _app(azurite, queue)
    native = function_app(app)
    response = worker.invoke(native, "create", _post(b'{"sku": "blue-mug"}'))
    assert response.status_code == 200
    event_id = json.loads(response.get_body())["event_id"]

    [message] = _received(azurite, queue)
    raw = queue_client(azurite, queue)  # the wire text is base64, as the host expects
    assert message.dequeue_count == 1
    worker.invoke(native, "work", _invocation(message))
    [event] = seen
    assert event.id == event_id
    assert event.type == "com.example.order"
    assert event.source == "/portable-fn/azurite/create"
    assert event.data == {"sku": "blue-mug"}
    raw.delete_message(message)


def test_wire_format_is_base64_of_a_structured_cloudevent(azurite: str) -> None:
    from azure.storage.queue import QueueClient

    queue = f"wire-{uuid.uuid4().hex[:8]}"
    event = CloudEvent.create(type="t.x", source="/s", data={"a": 1})
    AzurePublisher(env={"AzureWebJobsStorage": azurite}).send(queue, event)
    plain = QueueClient.from_connection_string(azurite, queue)  # no decode policy
    [message] = list(plain.receive_messages())
    text = base64.b64decode(message.content)
    assert json.loads(text)["id"] == event.id


def test_non_retryable_goes_to_the_poison_queue_at_once(azurite: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    queue = f"jobs-{uuid.uuid4().hex[:8]}"
    app, seen = _app(azurite, queue)
    monkeypatch.setenv("AzureWebJobsStorage", azurite)
    native = function_app(app)
    event = CloudEvent.create(type="t", source="/s", data={"sku": "never"})
    AzurePublisher(env={"AzureWebJobsStorage": azurite}).send(queue, event)
    [message] = _received(azurite, queue)
    worker.invoke(native, "work", _invocation(message))  # returns: acknowledged
    [poisoned] = _received(azurite, f"{queue}-poison")
    assert json.loads(poisoned.content)["id"] == event.id
    assert seen == []


def test_blob_upload_reaches_storage_handler_in_portable_shape(azurite: str, event: Any) -> None:
    from azure.storage.blob import BlobServiceClient, ContentSettings

    service = BlobServiceClient.from_connection_string(azurite)
    container = service.get_container_client("uploads")
    if not container.exists():
        container.create_container()
    key = f"photos/{uuid.uuid4().hex[:8]}.png"
    payload = b"\x89PNG fake image bytes"
    container.upload_blob(key, payload, content_settings=ContentSettings(content_type="image/png"))
    props = container.get_blob_client(key).get_blob_properties()

    sample = copy.deepcopy(event("eventgrid_blob_created"))
    grid = sample["data"]["value"]
    grid["subject"] = f"/blobServices/default/containers/uploads/blobs/{key}"
    grid["data"].update(eTag=props.etag.strip('"'), contentLength=props.size,
                        contentType=props.content_settings.content_type,
                        url=container.get_blob_client(key).url)
    app, seen = _app(azurite, "unused-queue")
    worker.invoke(function_app(app), "upload", sample)
    [received] = seen
    assert received.subject == key
    assert received.data == {"bucket": "uploads", "key": key, "size": len(payload),
                             "etag": props.etag.strip('"'), "action": "created",
                             "content_type": "image/png"}


def test_send_with_delay_stays_invisible(azurite: str) -> None:
    queue = f"later-{uuid.uuid4().hex[:8]}"
    publisher = AzurePublisher(env={"AzureWebJobsStorage": azurite})
    publisher.send(queue, CloudEvent.create(type="t", source="/s", data={}), delay=30)
    publisher.send(queue, CloudEvent.create(type="t", source="/s", data={"now": True}))
    visible = _received(azurite, queue)
    assert [json.loads(m.content)["data"] for m in visible] == [{"now": True}]
