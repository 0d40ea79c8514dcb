# SPDX-License-Identifier: Apache-2.0
"""Event Grid trigger, both delivery schemas: custom events for ``@app.event`` and blob events
for ``@app.storage`` (Microsoft's documented samples)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import azure.functions as func
import pytest
from portable_fn import App
from portable_fn.events import CloudEvent, to_dict
from portable_fn.testing import RecordingPublisher

from portable_fn_azure import blob_events, eventgrid, function_app, worker

CUSTOM_GOLDEN = {"type": "com.example.invoice.paid", "subject": "invoice/42",
                 "data": {"invoice": 42, "amount": "19.99"}}


def test_cloudevents_schema_passes_through(event: Any) -> None:
    native = worker.decode(event("cloudevents_custom"))
    assert isinstance(native, func.CloudEvent)
    ce = eventgrid.to_event(native)
    assert ce.id == "A234-1234-1234" and ce.source == "/billing/invoices"
    assert ce.time == datetime(2026, 4, 5, 17, 31, tzinfo=timezone.utc)
    assert dict(ce.extensions) == {
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    for attribute, value in CUSTOM_GOLDEN.items():
        assert getattr(ce, attribute) == value


def test_eventgrid_schema_maps_field_for_field(event: Any) -> None:
    native = worker.decode(event("eventgrid_custom"))
    assert isinstance(native, func.EventGridEvent)
    ce = eventgrid.to_event(native)
    assert ce.id == "1807"
    assert ce.source.endswith("/Microsoft.EventGrid/topics/invoices")
    assert ce.time == datetime(2017, 8, 10, 21, 3, 7, tzinfo=timezone.utc)
    assert ce.datacontenttype == "application/json"
    for attribute, value in CUSTOM_GOLDEN.items():
        assert getattr(ce, attribute) == value


def test_a_published_event_round_trips_with_binary_data() -> None:
    original = CloudEvent.create(type="com.example.blob", source="/x", data=b"\x00\x01",
                                 datacontenttype="application/octet-stream")
    doc = {"binding": "eventGridTrigger", "data": {"type": "json", "value": to_dict(original)}}
    assert eventgrid.to_event(worker.decode(doc)) == original


@pytest.mark.parametrize(("name", "container", "key", "size", "etag", "action", "ctype"), [
    ("eventgrid_blob_created", "testcontainer", "testfile.txt", 524288, "0x8D4BCC2E4835CD0",
     "created", "text/plain"),
    ("cloudevents_blob_created", "testcontainer", "photos/new-file.png", 30699,
     "0x8D76C39E4407333", "created", "image/png"),  # subject without the leading slash
    ("eventgrid_blob_deleted", "testcontainer", "testfile.txt", None, None, "deleted",
     "text/plain"),
])
def test_blob_events_become_the_portable_storage_shape(
        event: Any, name: str, container: str, key: str, size: int | None, etag: str | None,
        action: str, ctype: str) -> None:
    native_doc = event(name)["data"]["value"]
    ce = blob_events.to_storage_event(eventgrid.to_event(worker.decode(event(name))))
    assert ce is not None
    assert ce.subject == key
    assert ce.id == native_doc["id"]  # Event Grid's own attributes are kept
    assert ce.type == native_doc.get("eventType", native_doc.get("type"))
    assert ce.data == {"bucket": container, "key": key, "size": size, "etag": etag,
                       "action": action, "content_type": ctype}


@pytest.mark.parametrize("subject", [
    "/blobServices/default/containers/c", "/queueServices/default/queues/q", None])
def test_non_blob_subjects_fail_typed(subject: str | None) -> None:
    from portable_fn.errors import EventDecodeError

    with pytest.raises(EventDecodeError):
        blob_events.parse_subject(subject)


def _storage_app(on: tuple[str, ...] = ("created",)) -> tuple[App, list[Any]]:
    app = App("files")
    app.use_publisher(RecordingPublisher())
    seen: list[Any] = []

    @app.storage("testcontainer", on=on)  # type: ignore[arg-type]
    def on_blob(ev: Any) -> None:
        seen.append(ev)

    return app, seen


def test_storage_function_gets_created_and_skips_other_actions(event: Any) -> None:
    app, seen = _storage_app()
    native = function_app(app)
    worker.invoke(native, "on_blob", event("eventgrid_blob_created"))
    worker.invoke(native, "on_blob", event("eventgrid_blob_deleted"))  # acknowledged, not run
    assert [e.data["action"] for e in seen] == ["created"]


def test_storage_function_skips_other_containers_and_kinds(event: Any) -> None:
    app, seen = _storage_app(("created", "deleted"))
    native = function_app(app)
    other = event("cloudevents_blob_created")
    other["data"]["value"]["subject"] = "blobServices/default/containers/other/blobs/x.png"
    worker.invoke(native, "on_blob", other)
    worker.invoke(native, "on_blob", event("cloudevents_custom"))
    assert seen == []
    worker.invoke(native, "on_blob", event("eventgrid_blob_deleted"))
    assert len(seen) == 1


def test_event_function_both_schemas_and_type_filter(shop: Any, event: Any) -> None:
    app, _ = shop
    native = function_app(app)
    worker.invoke(native, "invoice_paid", event("cloudevents_custom"))
    worker.invoke(native, "invoice_paid", event("eventgrid_custom"))
    # Another type on the same subscription is acknowledged without running the handler.
    worker.invoke(native, "invoice_paid", event("eventgrid_blob_created"))


def test_handler_failure_raises_so_event_grid_retries(event: Any) -> None:
    app = App("bus")
    app.use_publisher(RecordingPublisher())

    @app.event("com.example.invoice.*")
    def paid(ev: Any) -> None:
        raise ConnectionError("ledger down")

    with pytest.raises(ConnectionError):
        worker.invoke(function_app(app), "paid", event("cloudevents_custom"))
