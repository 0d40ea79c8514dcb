# SPDX-License-Identifier: Apache-2.0
"""Amazon S3 object notifications, direct or through SNS/SQS, and S3 events via EventBridge.

Notification records: https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
Mapped by the CloudEvents S3 adapter
(https://github.com/cloudevents/spec/blob/main/cloudevents/adapters/aws-s3.md):
``id`` = x-amz-request-id + "." + x-amz-id-2, ``source`` = eventSource.region.bucket,
``type`` = ``com.amazonaws.s3.`` + eventName, ``subject`` = key, ``time`` = eventTime;
``data`` is the portable storage payload (DESIGN section 2), and the object's ``sequencer`` goes
in the ``sequence`` extension.
The request ids name the request, not the object: one DeleteObjects request notifies every key
it removed under the same two ids, where CloudEvents requires ``source`` + ``id`` to be unique
per event (and the idempotency guard acknowledges a repeat without running it). So the
adapter's id is followed by ``/`` + the key as sent (URL-encoded, no spaces) and ``/`` +
the sequencer when there is one: distinct per object and per change of it, the same on every
redelivery.
EventBridge shape: https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html
(mapped by AWS's CloudEvents input-transformer recipe: id, source, detail-type, time).
Object deletions include S3 Lifecycle's (``LifecycleExpiration:*``). Other events (restore,
replication, tagging, ACL, lifecycle transitions, Intelligent-Tiering) are not storage events in
the portable model: they keep the adapter's ``id``, ``source``, ``type``, ``subject`` and
``time`` and carry the notification record itself as ``data`` (its ``glacierEventData``,
``replicationEventData``...), so a queue or topic function that S3 notifies through SQS or SNS
gets them, and a storage function's filter declines them (no ``action``; an INFO line).
An Intelligent-Tiering notification carries its object as ``s3.get_object``, not ``s3.object``.
"""

from __future__ import annotations

from typing import Any, Literal

from portable_fn.events import CloudEvent, storage_data
from portable_fn_aws._common import decode_error, require

TRIGGER = "s3"
TYPE_PREFIX = "com.amazonaws.s3."
_EB_ACTIONS: dict[str, Literal["created", "deleted"]] = {
    "Object Created": "created",
    "Object Deleted": "deleted",
}


def matches_record(record: Any) -> bool:
    return isinstance(record, dict) and record.get("eventSource") == "aws:s3"


def _action(event_name: str) -> Literal["created", "deleted"] | None:
    if event_name.startswith("ObjectCreated:"):
        return "created"
    # S3 Lifecycle's deletions notify LifecycleExpiration:Delete / :DeleteMarkerCreated, not
    # ObjectRemoved; they are deletions all the same (EventBridge sends both as Object Deleted).
    if event_name.startswith(("ObjectRemoved:", "LifecycleExpiration:")):
        return "deleted"
    return None


def from_records(records: list[Any]) -> list[CloudEvent]:
    return [from_record(record) for record in records]


def from_record(record: dict[str, Any]) -> CloudEvent:
    event_name = require(record, "eventName", TRIGGER)
    action = _action(str(event_name))
    s3 = require(record, "s3", TRIGGER)
    bucket = require(require(s3, "bucket", TRIGGER), "name", TRIGGER)
    # An Intelligent-Tiering notification names its object `get_object`, every other `object`
    # (as S3 sends them: aws-powertools/powertools-lambda-python#7443 has a captured one).
    obj = (s3.get("object") or s3.get("get_object")) if type(s3) is dict else None
    if obj is None:
        obj = require(s3, "object", TRIGGER)  # neither: the usual error names `object`
    # Keys arrive URL-encoded with "+" for spaces (form encoding), per the S3 docs.
    sent_key = require(obj, "key", TRIGGER)
    # Loaded here, not with the module: every queue function imports this one (2 ms of its
    # first invocation with ipaddress), and only S3 events decode a key.
    from urllib.parse import unquote_plus

    key = unquote_plus(sent_key)
    elements = record.get("responseElements") or {}
    request_id = elements.get("x-amz-request-id")
    host_id = elements.get("x-amz-id-2")
    sequencer = obj.get("sequencer")
    if request_id and host_id:
        # Unique per object: a multi-object request shares its request ids (module docstring).
        event_id = f"{request_id}.{host_id}/{sent_key}"
        if sequencer:
            event_id = f"{event_id}/{sequencer}"
        if action is None:  # one request may notify twice (a restore's Post, then Completed)
            event_id = f"{event_id}/{event_name}"
    elif sequencer:  # some service-initiated events carry no response elements
        event_id = f"{bucket}/{key}/{sequencer}"
    elif action is None and record.get("eventTime"):
        # A service's own event (a restore completing, a transition) may carry neither; its
        # name and time tell it apart, the same on every redelivery.
        event_id = f"{bucket}/{key}/{event_name}/{record['eventTime']}"
    else:
        raise decode_error(TRIGGER, "responseElements", "no request id or sequencer to use as id")
    # Not a storage event (action None): the record is the data (module docstring).
    data = record if action is None else _object_data(bucket, key, obj, "eTag", action)
    event = CloudEvent(
        id=event_id,
        source=f"{record.get('eventSource', 'aws:s3')}.{record.get('awsRegion', '')}.{bucket}",
        type=TYPE_PREFIX + event_name,
        subject=key,
        time=record.get("eventTime"),
        datacontenttype="application/json",
        data=data,
    )
    return event.with_extensions(sequence=sequencer) if sequencer else event


def from_eventbridge(event: dict[str, Any]) -> CloudEvent | None:
    """An ``aws.s3`` EventBridge event (bucket with EventBridge notifications turned on)."""
    detail_type = require(event, "detail-type", TRIGGER)
    action = _EB_ACTIONS.get(detail_type)
    if action is None:
        return None
    detail = require(event, "detail", TRIGGER)
    bucket = require(require(detail, "bucket", TRIGGER), "name", TRIGGER)
    obj = require(detail, "object", TRIGGER)
    key = require(obj, "key", TRIGGER)
    sequencer = obj.get("sequencer")
    decoded = CloudEvent(
        id=require(event, "id", TRIGGER),
        source=require(event, "source", TRIGGER),
        type=detail_type,
        subject=key,
        time=event.get("time"),
        datacontenttype="application/json",
        data=_object_data(bucket, key, obj, "etag", action),
    )
    return decoded.with_extensions(sequence=sequencer) if sequencer else decoded


def _object_data(
    bucket: str, key: str, obj: dict[str, Any], etag: str, action: Literal["created", "deleted"]
) -> dict[str, Any]:
    """The portable storage payload of ``obj``, whose ETag is its member ``etag`` (``eTag`` in
    a notification, ``etag`` on EventBridge)."""
    size = obj.get("size")
    return storage_data(
        bucket=bucket, key=key, size=int(size) if size is not None else None,
        etag=obj.get(etag), action=action,
    )
