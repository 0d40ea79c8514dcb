# SPDX-License-Identifier: Apache-2.0
"""Cloud Storage object events (Eventarc and Pub/Sub notifications) to the portable shape."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from conftest import load
from portable_fn.app import App
from portable_fn.errors import EventDecodeError
from portable_fn.events import CloudEvent, from_dict

from portable_fn_gcp.pubsub import PUBLISHED
from portable_fn_gcp.route import decode
from portable_fn_gcp.storage import to_storage_event

SOURCE = "//storage.googleapis.com/projects/_/buckets/sample-bucket"


def native(kind: str, data: Any) -> CloudEvent:
    return CloudEvent(
        id="g-1",
        source=SOURCE,
        type=f"google.cloud.storage.object.v1.{kind}",
        subject="objects/x",
        data=data,
        datacontenttype="application/json",
        time="2020-04-23T07:38:57.230Z",
    )


@pytest.mark.parametrize(
    ("fixture", "kind", "expected"),
    [
        (
            "storage_simple_data.json",
            "finalized",
            {
                "bucket": "sample-bucket",
                "key": "folder/Test.cs",
                "size": 352,
                "etag": "CNHZkbuF/ugCEAE=",
                "action": "created",
                "content_type": "text/plain",
            },
        ),
        (
            "storage_complex_data.json",
            "deleted",
            {
                "bucket": "sample-bucket",
                "key": "MyFile",
                "size": 0,
                "etag": "COu8mb3Dn+kCEAE=",
                "action": "deleted",
                "content_type": "text/plain",
            },
        ),
    ],
)
def test_google_samples(fixture: str, kind: str, expected: dict[str, Any]) -> None:
    event = to_storage_event(native(kind, load(fixture)))
    assert event is not None
    assert event.data == expected
    assert event.subject == expected["key"]
    assert (event.id, event.source, event.type) == ("g-1", SOURCE, native(kind, {}).type)


def test_structured_workflows_sample() -> None:
    event = to_storage_event(from_dict(load("storage_structured_workflows.json")))
    assert event is not None
    assert (event.subject, event.data["size"], event.data["content_type"]) == (
        "MyFile",
        0,
        "esse commodo",
    )
    # Eventarc's `bucket` attribute names the real bucket, where data.bucket is the declared
    # name: a portable storage event carries the spec's extensions only (event-mapping rule 5),
    # as on AWS and Azure. A trace it came with is kept.
    assert dict(event.extensions) == {}
    traced = from_dict({
        **load("storage_structured_workflows.json"),
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    })
    kept = to_storage_event(traced)
    assert kept is not None and set(kept.extensions) == {"traceparent"}


@pytest.mark.parametrize("kind", ["archived", "metadataUpdated"])
def test_non_portable_actions_are_not_storage_events(kind: str) -> None:
    assert to_storage_event(native(kind, load("storage_simple_data.json"))) is None


@pytest.mark.parametrize(("state", "action"), [("not_exists", "deleted"), ("exists", "created")])
def test_legacy_object_change_reads_resource_state(state: str, action: str) -> None:
    """functions-framework maps every 1st-gen ``object.change`` to ``finalized``; the data's
    ``resourceState`` says whether the object was written or deleted.

    Fixture: https://github.com/GoogleCloudPlatform/functions-framework-conformance/blob/main/events/generate/data/legacy_storage_change-legacy-input.json
    """
    data = {**load("legacy_storage_change.json")["data"], "resourceState": state}
    event = to_storage_event(native("finalized", data))
    assert event is not None
    assert event.data["action"] == action
    kind = "finalized" if action == "created" else "deleted"
    assert event.type == f"google.cloud.storage.object.v1.{kind}"


@pytest.mark.parametrize("metageneration", ["2", 7])
def test_legacy_object_change_of_metadata_is_not_a_write(metageneration: object) -> None:
    """An ``object.change`` also fires when only an object's metadata changes; Google's 1st-gen
    page says to pair ``resourceState`` with ``metageneration``, which is 1 for a new object
    and grows with each metadata change. That is Eventarc's ``metadataUpdated``: no portable
    action, so no ``created`` event.

    Fixture: https://github.com/GoogleCloudPlatform/functions-framework-conformance/blob/main/events/generate/data/legacy_storage_change-legacy-input.json
    state and metageneration changed as the 1st-gen page describes:
    https://cloud.google.com/functions/1stgendocs/calling/storage#legacy_cloud_storage_triggers
    """
    data = {
        **load("legacy_storage_change.json")["data"],
        "resourceState": "exists",
        "metageneration": metageneration,
    }
    assert to_storage_event(native("finalized", data)) is None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ("not an object", "data"),
        ({"bucket": "b", "size": "1"}, "data.name"),
        ({"name": "k", "size": "1"}, "data.bucket"),
        ({"bucket": "b", "name": "k", "size": "-3"}, "data.size"),
        ({"bucket": "b", "name": "k", "size": True}, "data.size"),
    ],
)
def test_malformed(data: Any, field: str) -> None:
    with pytest.raises(EventDecodeError) as info:
        to_storage_event(native("finalized", data))
    assert (info.value.trigger, info.value.field) == ("storage", field)


def _app() -> App:
    app = App("s")

    @app.storage("sample-bucket", on=("deleted",), prefix="folder/")
    def gone(event: CloudEvent) -> None: ...

    return app


def test_storage_pubsub_notification_variant() -> None:
    obj = load("storage_complex_data.json")
    body = {
        "message": {
            "data": base64.b64encode(json.dumps(obj).encode()).decode(),
            "attributes": {
                "eventType": "OBJECT_DELETE",
                "bucketId": "sample-bucket",
                "objectId": "folder/MyFile",
                "payloadFormat": "JSON_API_V1",
                "eventTime": "2020-05-18T09:07:51.799Z",
                "notificationConfig": "n",
            },
            "messageId": "n-1",
            "publishTime": "2020-05-18T09:07:52Z",
        }
    }
    envelope = CloudEvent(
        id="e", source="//pubsub.googleapis.com/projects/p/topics/t", type=PUBLISHED, data=body
    )
    fn = next(iter(_app().functions.values()))
    decoded = decode(fn, envelope)
    assert decoded.event is not None
    # bucketId/objectId name the object; the resource in the data gives size and etag.
    assert decoded.event.data == {
        "bucket": "sample-bucket",
        "key": "folder/MyFile",
        "size": 0,
        "etag": "COu8mb3Dn+kCEAE=",
        "action": "deleted",
        "content_type": "text/plain",
    }
    assert decoded.event.id == "n-1"
    assert decoded.event.time is not None and decoded.event.time.year == 2020


def test_storage_notification_data_nested_past_the_parser_is_malformed() -> None:
    """A message on a bucket's notification topic (attributes as
    https://cloud.google.com/storage/docs/pubsub-notifications#attributes) whose data is JSON
    nested deeper than the parser recurses: RecursionError escaped as a 500 (retried until the
    dead-letter policy gave up); it is a malformed delivery, dead-lettered at once."""
    deep = b"[" * 100_000 + b"]" * 100_000
    body = {
        "message": {
            "data": base64.b64encode(deep).decode(),
            "attributes": {"eventType": "OBJECT_FINALIZE", "bucketId": "b", "objectId": "a"},
            "messageId": "n-2",
        }
    }
    envelope = CloudEvent(
        id="e", source="//pubsub.googleapis.com/projects/p/topics/t", type=PUBLISHED, data=body
    )
    fn = next(iter(_app().functions.values()))
    with pytest.raises(EventDecodeError) as info:
        decode(fn, envelope)
    assert info.value.field == "data.message.data"


def test_route_filters_action_and_prefix() -> None:
    fn = next(iter(_app().functions.values()))
    created = native("finalized", {"bucket": "b", "name": "folder/a", "size": "1"})
    assert decode(fn, created).event is None  # on=("deleted",) only
    outside = native("deleted", {"bucket": "b", "name": "other/a", "size": "1"})
    assert decode(fn, outside).event is None
    inside = native("deleted", {"bucket": "b", "name": "folder/a", "size": "1"})
    assert decode(fn, inside).event is not None


def _uploads_app() -> App:
    app = App("declared")

    @app.storage("uploads")
    def up(event: CloudEvent) -> None: ...

    return app


def test_the_bucket_is_the_declared_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """DESIGN section 2 (docs/event-mapping.md rule 4): a storage handler sees the bucket the
    app declared (``uploads``) on every provider. Bucket names are global on Cloud Storage, so
    ``deploy.sh`` watches the real bucket ``$BUCKET_UPLOADS`` and passes that variable to the
    function (https://cloud.google.com/functions/docs/configuring/env-var); Eventarc's event
    names the real bucket (google-cloudevents ``StorageObjectData``, as
    ``storage_simple_data.json``). The handler saw ``my-project-uploads``."""
    fn = _uploads_app().function("up")
    monkeypatch.setenv("BUCKET_UPLOADS", "my-project-uploads")
    real = native("finalized", {"bucket": "my-project-uploads", "name": "a.png", "size": "1"})
    decoded = decode(fn, real)
    assert decoded.event is not None and decoded.event.data["bucket"] == "uploads"
    # Google's source keeps the real name, as AWS keeps it in the event's source.
    assert decoded.event.source == SOURCE
    # A bucket the function did not declare keeps its own name: nothing maps it to "uploads".
    other = native("finalized", {"bucket": "someone-else", "name": "a.png", "size": "1"})
    assert decode(fn, other).event.data["bucket"] == "someone-else"  # type: ignore[union-attr]
    # Without the variable (deploy.sh's default), the real bucket is the declared name.
    monkeypatch.delenv("BUCKET_UPLOADS")
    assert decode(fn, real).event.data["bucket"] == "my-project-uploads"  # type: ignore[union-attr]
    same = native("finalized", {"bucket": "uploads", "name": "a.png", "size": "1"})
    assert decode(fn, same).event.data["bucket"] == "uploads"  # type: ignore[union-attr]
