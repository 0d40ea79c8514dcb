# SPDX-License-Identifier: Apache-2.0
"""Blob Storage events delivered by Event Grid -> the portable storage ``CloudEvent``.

Payload: https://learn.microsoft.com/azure/event-grid/event-schema-blob-storage
(``Microsoft.Storage.BlobCreated`` / ``BlobDeleted``; subject
``/blobServices/default/containers/<container>/blobs/<path>``, written with and without the
leading slash in Microsoft's own samples; data ``contentType``, ``contentLength``, ``eTag``,
``url``). The event keeps Event Grid's ``id``, ``type``, ``source`` and ``time`` (Event Grid is
CloudEvents-native); ``subject`` becomes the key and ``data`` the portable storage payload.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from portable_fn.errors import EventDecodeError
from portable_fn.events import CloudEvent, storage_data

__all__ = ["ACTIONS", "parse_subject", "to_storage_event"]

ACTIONS: Mapping[str, Literal["created", "deleted"]] = {
    "Microsoft.Storage.BlobCreated": "created",
    "Microsoft.Storage.BlobDeleted": "deleted",
}
_PREFIX = "blobServices/default/containers/"


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
    being created or deleted (tier changes, directory events: not portable)."""
    action = ACTIONS.get(event.type)
    if action is None:
        return None
    container, key = parse_subject(event.subject)
    data: Mapping[str, Any] = event.data if isinstance(event.data, Mapping) else {}
    size = data.get("contentLength")
    return event.replace(
        subject=key,
        datacontenttype="application/json",
        data=storage_data(
            bucket=container,
            key=key,
            size=int(size) if isinstance(size, int | str) and str(size).isdigit() else None,
            etag=data.get("eTag"),
            action=action,
            content_type=data.get("contentType"),
        ),
    )
