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


@pytest.mark.parametrize(("data", "content_type", "seen"), [
    (b'{"a": 1}', "application/json", {"a": 1}),
    ("caf\u00e9".encode("latin-1"), "text/plain; charset=iso-8859-1", "caf\u00e9"),
    (b"\x00\x01", None, b"\x00\x01"),
])
def test_data_base64_is_read_by_its_content_type_as_everywhere(
    data: bytes, content_type: str | None, seen: Any
) -> None:
    """JSON format 3.1.2: ``data_base64`` may be read by its ``datacontenttype``, and the core
    reads it so on every other transport (the same bytes in binary mode are that JSON or text):
    on Event Grid's CloudEvents schema a publisher's JSON bytes stayed bytes."""
    import base64

    doc = {"specversion": "1.0", "id": "b64-1", "source": "/x", "type": "com.example.blob",
           "data_base64": base64.b64encode(data).decode()}
    if content_type is not None:
        doc["datacontenttype"] = content_type
    native = worker.decode({"binding": "eventGridTrigger", "data": {"type": "json", "value": doc}})
    assert eventgrid.to_event(native).data == seen


def test_data_beside_data_base64_is_refused_as_everywhere() -> None:
    """JSON format 3.1.1: ``data`` and ``data_base64`` are mutually exclusive, and the core
    refuses an event with both on every other transport; here ``data`` was dropped silently."""
    from portable_fn.errors import EventDecodeError

    doc = {"specversion": "1.0", "id": "b64-2", "source": "/x", "type": "com.example.blob",
           "data": {"from": "json"}, "data_base64": "eyJmcm9tIjogImJhc2U2NCJ9"}
    native = worker.decode({"binding": "eventGridTrigger", "data": {"type": "json", "value": doc}})
    with pytest.raises(EventDecodeError, match=r"'b64-2'.*together with data"):
        eventgrid.to_event(native)


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


def _paid_app() -> tuple[App, list[Any]]:
    """An app whose event function ``paid`` keeps the events it gets."""
    app = App("eg")
    app.use_publisher(RecordingPublisher())
    seen: list[Any] = []

    @app.event("com.example.invoice.paid")
    def paid(ev: Any) -> None:
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


@pytest.mark.parametrize("name", ["cloudevents_blob_created_docs", "cloudevents_sftp_commit"])
def test_a_quoted_blob_etag_is_the_same_etag_as_on_the_blob_trigger(event: Any, name: str) -> None:
    """Microsoft's current samples quote ``data.eTag`` (``"\\"0x8D4BCC2E4835CD0\\""``), as the
    HTTP ETag header does; the blob trigger's ``Properties.ETag`` is quoted too and loses its
    quotes there. The portable ``etag`` is the bare value on both paths (and on S3 and GCS).
    https://learn.microsoft.com/azure/event-grid/event-schema-blob-storage"""
    ce = blob_events.to_storage_event(eventgrid.to_event(worker.decode(event(name))))
    assert ce is not None
    assert ce.data["etag"] == "0x8D4BCC2E4835CD0"


@pytest.mark.parametrize("api", ["CreateFile", "SftpCreate"])
def test_an_empty_placeholder_blob_is_not_a_created_object(event: Any, api: str) -> None:
    """Data Lake Storage Gen2 (``CreateFile``) and SFTP (``SftpCreate``) raise BlobCreated for the
    empty file first; the upload is complete at ``FlushWithClose`` / ``SftpCommit``, which Microsoft
    says to filter on. The storage handler runs once, for the complete object.
    https://learn.microsoft.com/azure/event-grid/event-schema-blob-storage
    (sections "Data Lake Storage Gen 2 events" and "SFTP events")"""
    app, seen = _storage_app()
    native = function_app(app)
    placeholder = event("eventgrid_adls_createfile")
    placeholder["data"]["value"]["data"]["api"] = api
    placeholder["data"]["value"]["subject"] = (
        "/blobServices/default/containers/testcontainer/blobs/new-file.txt")
    worker.invoke(native, "on_blob", placeholder)  # acknowledged, not run
    assert seen == []
    committed = event("cloudevents_sftp_commit")
    worker.invoke(native, "on_blob", committed)
    flushed = event("eventgrid_adls_createfile")
    flushed["data"]["value"]["data"]["api"] = "FlushWithClose"
    flushed["data"]["value"]["subject"] = placeholder["data"]["value"]["subject"]
    worker.invoke(native, "on_blob", flushed)
    assert [(e.data["key"], e.data["action"]) for e in seen] == [
        ("new-file.txt", "created"), ("new-file.txt", "created")]


def test_cloudevents_schema_null_and_structured_extensions() -> None:
    """CloudEvents JSON format: a ``null`` attribute "MUST be treated as the equivalent of unset
    or omitted" (https://github.com/cloudevents/spec/blob/main/cloudevents/formats/json-format.md);
    an object-valued extension (not a CloudEvents type) is kept as its JSON text,
    not as a Python repr. https://learn.microsoft.com/azure/event-grid/cloud-event-schema"""
    doc = {"binding": "eventGridTrigger", "data": {"type": "json", "value": {
        "specversion": "1.0", "type": "com.example.invoice.paid", "source": "/billing/invoices",
        "id": "A234-1234-1234", "time": "2026-04-05T17:31:00Z", "tenant": None,
        "routing": {"region": "eu", "tier": 1}, "data": {"invoice": 42}}}}
    ce = eventgrid.to_event(worker.decode(doc))
    assert "tenant" not in ce.extensions
    assert ce.extensions["routing"] == '{"region":"eu","tier":1}'


@pytest.mark.parametrize(("schema", "field", "moment"), [
    ("eventgrid_custom", "eventTime", "2026-11-23T12:15:00.1234567+02:00"),
    ("cloudevents_custom", "time", "2026-11-23T15:45:00+05:30"),
])
def test_an_event_time_with_a_utc_offset_reaches_the_handler(
        event: Any, schema: str, field: str, moment: str) -> None:
    """A publisher may stamp its own time with an offset: the Event Grid schema's ``eventTime``
    and the CloudEvents ``time`` are RFC 3339 timestamps
    (https://learn.microsoft.com/azure/event-grid/event-schema, cloud-event-schema;
    https://github.com/cloudevents/spec/blob/main/cloudevents/spec.md#time), and the .NET
    ``DateTimeOffset`` a publisher sets is serialised with its offset. The library's own
    converter (``azure.functions`` ``EventGridEventInConverter.decode``) parses it with UTC-only
    formats and raises before any function code runs, so Event Grid retried the event for a day
    and dead-lettered it. The entry takes the event's JSON text instead and reads it itself."""
    app, seen = _paid_app()
    doc = event(schema)
    doc["data"]["value"][field] = moment
    worker.invoke(function_app(app), "paid", doc)
    [ev] = seen
    assert ev.time == datetime(2026, 11, 23, 10, 15, 0, 123456 if "." in moment else 0,
                               tzinfo=timezone.utc)
    for attribute, value in CUSTOM_GOLDEN.items():
        assert getattr(ev, attribute) == value


def test_a_wide_integer_extension_is_kept_as_its_string_and_errors_name_the_event(
        event: Any) -> None:
    """The JavaScript SDK sends ``sequence: Date.now()``, an integer past the spec's 32-bit
    Integer: kept as the string binary mode carries it (``received_extension``), as the core
    and GCP keep it; the event was refused into dead-letter. And an invalid event's error names
    its id (it said ``None`` once the entry took the JSON text)."""
    app, seen = _paid_app()
    doc = event("cloudevents_custom")
    doc["data"]["value"]["sequence"] = 1_765_000_000_000
    worker.invoke(function_app(app), "paid", doc)
    assert seen[0].extensions["sequence"] == "1765000000000"
    from portable_fn.errors import EventDecodeError

    from portable_fn_azure import eventgrid

    with pytest.raises(EventDecodeError, match="'e-bad' is not valid"):
        eventgrid.to_event('{"specversion": "1.0", "id": "e-bad", "source": "s", "type": "t",'
                           ' "time": "nope"}')
    # Valid JSON nested past the parser: a malformed delivery, not a RecursionError that Event
    # Grid would retry into dead-letter.
    with pytest.raises(EventDecodeError, match="nested too deeply"):
        eventgrid.to_event('{"id": "1", "data": ' + "[" * 100_000 + "]" * 100_000 + "}")
