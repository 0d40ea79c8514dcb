# SPDX-License-Identifier: Apache-2.0
"""R2 event notifications (delivered on a queue) to portable storage CloudEvents.

Shape: https://developers.cloudflare.com/r2/buckets/event-notifications/#message-format ::

    {"account": "...", "action": "PutObject", "bucket": "uploads",
     "object": {"key": "a.png", "size": 65536, "eTag": "c846..."},
     "eventTime": "2024-05-24T19:36:44.379Z",
     "copySource": {"bucket": "...", "object": "..."}}      # CopyObject only

``object.size`` and ``object.eTag`` are absent on deletions. Actions: PutObject, CopyObject,
CompleteMultipartUpload (object-create); DeleteObject, LifecycleDeletion (object-delete).

Mapping (Cloudflare mapping table, version 2, this adapter's README):
``type=com.cloudflare.r2.object.<action>``,
``source=cloudflare:r2/<bucket>``, ``id`` = queue message id, ``subject`` = key,
``time`` = eventTime, ``data`` = ``storage_data(...)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from portable_fn.errors import EventDecodeError
from portable_fn.events import CloudEvent, storage_data
from portable_fn_cloudflare._values import utc_time
from portable_fn_cloudflare.queue import PROVIDER, QueueMessage

TYPE_PREFIX = "com.cloudflare.r2.object."
ACTIONS: Mapping[str, Literal["created", "deleted"]] = {
    "PutObject": "created",
    "CopyObject": "created",
    "CompleteMultipartUpload": "created",
    "DeleteObject": "deleted",
    "LifecycleDeletion": "deleted",
}


def matches(body: Any) -> bool:
    """Does this queue message body look like an R2 event notification?"""
    return (
        isinstance(body, Mapping)
        and "action" in body
        and "bucket" in body
        and isinstance(body.get("object"), Mapping)
    )


def _fail(message: str, field: str) -> EventDecodeError:
    return EventDecodeError(message, provider=PROVIDER, trigger="storage", field=field)


def _size(size: Any) -> int | None:
    """``object.size``: a byte count (a JSON number; a float only when it is whole)."""
    if size is None:
        return None
    if isinstance(size, bool) or not isinstance(size, int | float):
        raise _fail("object.size must be a number", "object.size")
    if isinstance(size, float) and not size.is_integer():  # NaN and infinities included
        raise _fail(f"object.size must be a whole number of bytes, got {size!r}", "object.size")
    if size < 0:
        raise _fail(f"object.size must not be negative, got {size!r}", "object.size")
    return int(size)


def to_event(message: QueueMessage) -> CloudEvent:
    """The storage CloudEvent for one R2 notification message."""
    body = message.body
    if not matches(body):
        raise _fail("message is not an R2 event notification", "body")
    action = body["action"]
    portable_action = ACTIONS.get(action) if isinstance(action, str) else None
    if portable_action is None:
        raise _fail(f"unknown R2 action {action!r}", "action")
    bucket, obj = body["bucket"], body["object"]
    key = obj.get("key")
    if not isinstance(bucket, str) or not bucket:
        raise _fail("bucket must be a non-empty string", "bucket")
    if not isinstance(key, str) or not key:
        raise _fail("object.key must be a non-empty string", "object.key")
    size = _size(obj.get("size"))
    etag = obj.get("eTag")
    if etag is not None and not isinstance(etag, str):
        raise _fail("object.eTag must be a string", "object.eTag")
    try:
        time = utc_time(body.get("eventTime")) or message.timestamp
    except (ValueError, OverflowError, OSError):  # bad text, or a number past datetime's range
        raise _fail("eventTime is not an RFC 3339 time", "eventTime") from None
    return CloudEvent(
        id=message.id,
        source=f"cloudflare:r2/{bucket}",
        type=TYPE_PREFIX + action,
        subject=key,
        time=time,
        datacontenttype="application/json",
        data=storage_data(
            bucket=bucket,
            key=key,
            size=size,
            etag=etag,
            action=portable_action,
        ),
    )
