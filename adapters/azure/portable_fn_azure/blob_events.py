# SPDX-License-Identifier: Apache-2.0
"""Blob Storage events delivered by Event Grid -> the portable storage ``CloudEvent``.

Payload: https://learn.microsoft.com/azure/event-grid/event-schema-blob-storage
(``Microsoft.Storage.BlobCreated`` / ``BlobDeleted``; subject
``/blobServices/default/containers/<container>/blobs/<path>``, written with and without the
leading slash in Microsoft's own samples; data ``contentType``, ``contentLength``, ``eTag``,
``url``). The event keeps Event Grid's ``id``, ``type``, ``source`` and ``time`` (Event Grid is
CloudEvents-native); ``subject`` becomes the key and ``data`` the portable storage payload.

Two documented variants need care. ``eTag`` comes bare in older samples and quoted, as the HTTP
header writes it, in current ones: the portable ``etag`` is the bare value, as on the blob
trigger. Data Lake Storage Gen2 (``api`` ``CreateFile``) and SFTP (``SftpCreate``) raise
BlobCreated for the empty file an upload starts with, then again when it is committed
(``FlushWithClose``, ``SftpCommit``); Microsoft says to filter on the commit, so the placeholder is
not a created object (acknowledged without running the handler).

Data Lake Storage Gen2 and SFTP raise ``Microsoft.Storage.BlobRenamed`` alone for a rename
(``RenameFile``, ``SftpRename``; ``subject`` is the new name): the object now exists under that
key, so it is ``created`` there, as the copy that moves an object on S3 or GCS is. Writers that
upload to a temporary name and rename when done (SFTP clients, Spark and Hadoop committers) raise
no other event for the final name. The event has no size or ETag (both None). Tier changes,
asynchronous operations, directory events and policy reports are not portable storage events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from portable_fn.errors import EventDecodeError
from portable_fn.events import CloudEvent, storage_data

__all__ = ["ACTIONS", "bare_etag", "not_an_object_event", "parse_subject", "to_storage_event"]

ACTIONS: Mapping[str, Literal["created", "deleted"]] = {
    "Microsoft.Storage.BlobCreated": "created",
    "Microsoft.Storage.BlobDeleted": "deleted",
    "Microsoft.Storage.BlobRenamed": "created",  # under the new name, the subject
}
_PREFIX = "blobServices/default/containers/"
# BlobCreated raised for the empty file an upload opens with; the commit event follows.
_PLACEHOLDER_APIS = frozenset(("CreateFile", "SftpCreate"))


def parse_subject(subject: str | None) -> tuple[str, str]:
    """``(container, key)`` from a blob event subject."""
    text = (subject or "").lstrip("/")
    if not text.startswith(_PREFIX) or "/blobs/" not in text:
        raise EventDecodeError(
            f"not a blob subject: {subject!r}", provider="azure", trigger="eventGridTrigger",
            field="subject",
        )
    container, _, key = text[len(_PREFIX) :].partition("/blobs/")
    if not container or not key:
        raise EventDecodeError(
            f"blob subject without container or name: {subject!r}", provider="azure",
            trigger="eventGridTrigger", field="subject",
        )
    return container, key


def to_storage_event(event: CloudEvent) -> CloudEvent | None:
    """The portable storage event, or None for an Event Grid event that is not about a blob
    being created (or renamed to its key) or deleted (tier changes, directory events)."""
    if not_an_object_event(event) is not None:
        return None
    action = ACTIONS[event.type]
    container, key = parse_subject(event.subject)
    data = _data(event)
    size = data.get("contentLength")
    return event.replace(
        subject=key,
        datacontenttype="application/json",
        data=storage_data(
            bucket=container,
            key=key,
            size=int(size) if isinstance(size, int | str) and str(size).isdigit() else None,
            etag=bare_etag(data.get("eTag")),
            action=action,
            content_type=data.get("contentType"),
        ),
    )


def not_an_object_event(event: CloudEvent) -> str | None:
    """Why ``to_storage_event`` has no storage event for ``event``, in the words of the line
    logged when the delivery is acknowledged without running the handler; None if it has one."""
    action = ACTIONS.get(event.type)
    if action is None:
        return f"type {event.type} is no blob created, renamed or deleted event"
    api = _data(event).get("api")
    if action == "created" and isinstance(api, str) and api in _PLACEHOLDER_APIS:
        return f"api {api} created the empty file an upload starts with: its commit event follows"
    return None


def _data(event: CloudEvent) -> Mapping[str, Any]:
    return event.data if isinstance(event.data, Mapping) else {}


def bare_etag(value: object) -> str | None:
    """``0x8D4BCC2E4835CD0`` from ``"0x8D4BCC2E4835CD0"`` (quoted, as the ETag header carries it)
    or from the bare value; None when there is none."""
    if not isinstance(value, str) or not value:
        return None
    return value.strip('"') or None
