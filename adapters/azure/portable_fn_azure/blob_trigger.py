# SPDX-License-Identifier: Apache-2.0
"""Blob trigger (the polling alternative to Event Grid): ``InputStream`` -> storage ``CloudEvent``.

Payload: https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-blob-trigger
(metadata ``BlobTrigger`` = ``<container>/<name>``, ``Uri``, ``Properties`` with ``ContentLength``,
``ETag``, ``ContentType``, ``LastModified``). The blob trigger fires on creation and update only;
deletions need Event Grid (reported by ``findings``). The event uses Event Grid's
``Microsoft.Storage.BlobCreated`` type so a handler sees the same type on both paths; ``id`` is
``<container>/<name>@<etag>`` (the blob receipt the host keeps is per ETag, so one event per
blob version). The size is read from ``Properties`` itself: the library's ``InputStream.length``
turns a ``ContentLength`` of 0 into None.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from portable_fn.errors import EventDecodeError
from portable_fn.events import CloudEvent, storage_data

from portable_fn_azure import _timestamps
from portable_fn_azure.blob_events import bare_etag

if TYPE_CHECKING:
    import azure.functions as func

__all__ = ["TYPE", "to_event"]

TYPE = "Microsoft.Storage.BlobCreated"


def to_event(blob: func.InputStream) -> CloudEvent:
    name = blob.name or ""
    container, _, key = name.partition("/")
    if not container or not key:
        raise EventDecodeError(
            f"blob trigger name {name!r} is not <container>/<blob>", provider="azure",
            trigger="blobTrigger", field="BlobTrigger",
        )
    props: Mapping[str, Any] = getattr(blob, "blob_properties", None) or {}
    etag = bare_etag(props.get("ETag") or props.get("Etag"))
    size = _size(props, blob.length)
    return CloudEvent(
        id=f"{name}@{etag or size}",
        source=f"/azure/storage/blobs/{container}",
        type=TYPE,
        subject=key,
        time=_modified(props),
        datacontenttype="application/json",
        data=storage_data(
            bucket=container,
            key=key,
            size=size,
            etag=etag,
            action="created",
            content_type=props.get("ContentType"),
        ),
    )


def _size(props: Mapping[str, Any], length: int | None) -> int | None:
    # ContentLength (Azure.Storage.Blobs) or Length (the older SDK's BlobProperties).
    for name in ("ContentLength", "Length"):
        value = props.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return length


def _modified(props: Mapping[str, Any]) -> datetime | None:
    # A DateTimeOffset: 0 to 7 fraction digits, "Z" or an offset (_timestamps).
    return _timestamps.parse(props.get("LastModified"))
