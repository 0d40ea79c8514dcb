# SPDX-License-Identifier: Apache-2.0
"""Cloud Storage ``google.cloud.storage.object.v1.*`` events to the portable storage shape.

Payload: ``google.events.cloud.storage.v1.StorageObjectData``
(https://cloud.google.com/storage/docs/json_api/v1/objects#resource, samples in
google-cloudevents ``examples/binary/storage/``). ``size`` and ``generation`` are int64, which
proto3 JSON writes as strings ("352") and some producers as numbers: both are read.

The event keeps Google's ``id``, ``source`` (``//storage.googleapis.com/projects/_/buckets/B``),
``type`` and ``time``; ``subject`` becomes the object key (Google's is ``objects/<key>``) and
``data`` becomes ``storage_data(bucket, key, size, etag, action, content_type)``.
Only ``finalized`` (created or overwritten) and ``deleted`` are portable actions; ``archived``
and ``metadataUpdated`` have no portable meaning and are reported as not for this trigger.

The 1st-gen ``providers/cloud.storage/eventTypes/object.change`` event covers every change and
says a deletion with ``resourceState: "not_exists"``, and a metadata update with
``resourceState: "exists"`` and a ``metageneration`` above 1
(https://cloud.google.com/functions/1stgendocs/calling/storage#legacy_cloud_storage_triggers);
functions-framework converts it to ``finalized`` whatever the change, so both are read here: the
first is ``deleted``, the second no portable action (as ``metadataUpdated``).

``data.bucket`` is the bucket as the app declared it (``uploads``), as on every provider:
``deploy.sh`` watches the real bucket, whose name it takes from ``BUCKET_<NAME>`` (bucket names
are global on Cloud Storage), and sets that variable on the function, which maps it back
(``declared_bucket``). The real name stays in ``source``.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any, Literal

from portable_fn.errors import EventDecodeError
from portable_fn.events import CloudEvent, storage_data

from portable_fn_gcp import timestamps
from portable_fn_gcp.names import bucket_var

__all__ = [
    "ACTIONS",
    "TYPES",
    "declared_bucket",
    "from_notification",
    "is_notification",
    "is_storage",
    "to_storage_event",
]

ACTIONS: dict[str, Literal["created", "deleted"]] = {
    "google.cloud.storage.object.v1.finalized": "created",
    "google.cloud.storage.object.v1.deleted": "deleted",
}
TYPES = {action: event_type for event_type, action in ACTIONS.items()}
_PREFIX = "google.cloud.storage.object.v1."
_GONE = "not_exists"  # legacy object.change resourceState of a deleted object


def is_storage(event: CloudEvent) -> bool:
    return event.type.startswith(_PREFIX)


def to_storage_event(event: CloudEvent) -> CloudEvent | None:
    """The portable storage event, or None for a storage event with no portable action."""
    action = ACTIONS.get(event.type)
    if action is None:
        return None
    obj = event.data
    if not isinstance(obj, dict):
        raise _error("data", "StorageObjectData must be a JSON object")
    if action == "created" and obj.get("resourceState") == _GONE:
        # A legacy object.change for a deletion, which the framework called finalized.
        action = "deleted"
        event = event.replace(type=TYPES[action])
    elif action == "created" and _metadata_change(obj):
        return None  # a legacy object.change for a metadata update: Eventarc's metadataUpdated
    bucket = _text(obj, "bucket")
    key = _text(obj, "name")
    size = _int(obj.get("size"))
    etag = obj.get("etag")
    content_type = obj.get("contentType")
    data: dict[str, Any] = storage_data(
        bucket=bucket,
        key=key,
        size=size,
        etag=etag if isinstance(etag, str) else None,
        action=action,
        content_type=content_type if isinstance(content_type, str) and content_type else None,
    )
    # The spec's tracing extensions only (docs/event-mapping.md rule 5): Eventarc's `bucket`
    # names the real bucket where data.bucket may be the declared one, and an AWS or Azure
    # storage event carries no such attribute.
    extensions = {k: v for k, v in event.extensions.items() if k in _KEPT_EXTENSIONS}
    return event.replace(
        subject=key, data=data, datacontenttype="application/json", extensions=extensions
    )


_KEPT_EXTENSIONS = frozenset(("traceparent", "tracestate"))


def declared_bucket(event: CloudEvent, declared: str) -> CloudEvent:
    """``event`` (a portable storage event) naming its bucket as the app declared it, when it
    is the function's real bucket: ``$BUCKET_<NAME>``, which ``deploy.sh`` sets on the
    function (https://cloud.google.com/functions/docs/configuring/env-var), else the declared
    name itself (``deploy.sh``'s default). A bucket the function did not declare keeps its own
    name: there is no other name to give it. Read per delivery, never at import."""
    real = os.environ.get(bucket_var(declared)) or declared
    if event.data["bucket"] != real or real == declared:
        return event
    return event.replace(data={**event.data, "bucket": declared})


def _metadata_change(obj: dict[str, Any]) -> bool:
    """A legacy ``object.change`` of an object that still exists, for its metadata only: the
    1st-gen page pairs ``resourceState`` with ``metageneration``, which is 1 for a new object
    (or generation) and grows with each metadata change. Eventarc's ``finalized`` data has no
    ``resourceState``, so only the legacy event is read this way."""
    if obj.get("resourceState") is None:
        return False
    metageneration = obj.get("metageneration")
    return metageneration is not None and str(metageneration) != "1"


def _text(obj: dict[str, Any], name: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value:
        raise _error(f"data.{name}", f"StorageObjectData.{name} must be a non-empty string")
    return value


def _int(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise _error("data.size", f"StorageObjectData.size must be an int64, got {value!r}")


def _error(field: str, message: str) -> EventDecodeError:
    return EventDecodeError(message, provider="gcp", trigger="storage", field=field)


# Cloud Storage's own Pub/Sub notifications (``gcloud storage buckets notifications create``):
# https://cloud.google.com/storage/docs/pubsub-notifications#attributes . The message data is
# the object resource (payload format JSON_API_V1) or empty (NONE); attributes carry the rest.
_NOTIFICATION_TYPES = {
    "OBJECT_FINALIZE": "google.cloud.storage.object.v1.finalized",
    "OBJECT_DELETE": "google.cloud.storage.object.v1.deleted",
    "OBJECT_ARCHIVE": "google.cloud.storage.object.v1.archived",
    "OBJECT_METADATA_UPDATE": "google.cloud.storage.object.v1.metadataUpdated",
}

_CAMEL = {name.lower(): name for name in ("eventType", "bucketId", "objectId", "eventTime")}


def from_notification(
    data: Any, attributes: dict[str, str], *, message_id: str, fallback_time: str | None
) -> CloudEvent | None:
    """The portable storage event for a Cloud Storage Pub/Sub notification message."""
    if "eventType" not in attributes:
        # An unwrapped push writes attributes as HTTP headers, whose names arrive lower-cased.
        attributes = {_CAMEL.get(k, k): v for k, v in attributes.items()}
    event_type = _NOTIFICATION_TYPES.get(attributes.get("eventType", ""))
    bucket = attributes.get("bucketId")
    key = attributes.get("objectId")
    if event_type is None or not bucket or not key:
        raise _error("attributes.eventType", "not a Cloud Storage notification message")
    obj = data if isinstance(data, dict) else {}
    native = CloudEvent(
        id=message_id,
        source=f"//storage.googleapis.com/projects/_/buckets/{bucket}",
        type=event_type,
        time=_time(attributes.get("eventTime") or fallback_time),
        # bucketId/objectId name the object; the resource (absent with format NONE) adds the rest.
        data={**obj, "bucket": bucket, "name": key},
    )
    return to_storage_event(native)


def _time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return timestamps.parse(text)
    except ValueError:
        raise _error("attributes.eventTime", f"not an RFC 3339 time: {text!r}") from None


def is_notification(attributes: dict[str, str]) -> bool:
    return "eventType" in attributes and "bucketId" in attributes and "objectId" in attributes
