# SPDX-License-Identifier: Apache-2.0
"""Blob Storage event types beyond BlobCreated/BlobDeleted, and which of them a storage handler
sees (Microsoft's documented samples,
https://learn.microsoft.com/azure/event-grid/event-schema-blob-storage)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from portable_fn import App
from portable_fn.testing import RecordingPublisher

from portable_fn_azure import blob_events, eventgrid, function_app, worker


def _storage_app(bucket: str, on: tuple[str, ...], suffix: str = "") -> tuple[App, list[Any]]:
    app = App("lake")
    app.use_publisher(RecordingPublisher())
    seen: list[Any] = []

    @app.storage(bucket, on=on, suffix=suffix)  # type: ignore[arg-type]
    def landed(ev: Any) -> None:
        seen.append(ev)

    return app, seen


def test_a_renamed_file_is_created_under_its_new_name(event: Any) -> None:
    """Data Lake Storage Gen2 and SFTP raise only ``Microsoft.Storage.BlobRenamed`` when a file is
    renamed (``RenameFile``, ``SftpRename``), with the new name in ``subject`` and
    ``destinationUrl``. Writers that upload to a temporary name and rename when done (SFTP
    clients' ``.filepart``, Spark and Hadoop committers) raise no BlobCreated for the final name,
    so without this a ``created`` handler never sees those files; on S3 and GCS the same move is
    a copy, which is an object-created event for the new key."""
    ce = blob_events.to_storage_event(eventgrid.to_event(worker.decode(
        event("eventgrid_adls_renamed"))))
    assert ce is not None
    assert ce.type == "Microsoft.Storage.BlobRenamed"  # Event Grid's own attributes are kept
    assert ce.id == "831e1650-001e-001b-66ab-eeb76e069631"
    assert ce.subject == "my-renamed-file.txt"
    # The event carries no size, ETag or content type: the portable shape says unknown.
    assert ce.data == {"bucket": "my-file-system", "key": "my-renamed-file.txt", "size": None,
                       "etag": None, "action": "created"}


def test_a_created_handler_with_a_suffix_runs_for_the_rename_to_it(event: Any) -> None:
    app, seen = _storage_app("my-file-system", ("created",), suffix=".txt")
    native = function_app(app)
    worker.invoke(native, "landed", event("eventgrid_adls_renamed"))
    assert [e.data["key"] for e in seen] == ["my-renamed-file.txt"]
    app, seen = _storage_app("my-file-system", ("deleted",))
    worker.invoke(function_app(app), "landed", event("eventgrid_adls_renamed"))
    assert seen == []  # the rename is not a deletion of the new name


@pytest.mark.parametrize(("event_type", "api", "subject"), [
    ("Microsoft.Storage.BlobTierChanged", "SetBlobTier",
     "/blobServices/default/containers/my-file-system/blobs/Auto.jpg"),
    ("Microsoft.Storage.AsyncOperationInitiated", "SetBlobTier",
     "/blobServices/default/containers/my-file-system/blobs/00000.avro"),
    ("Microsoft.Storage.DirectoryCreated", "CreateDirectory",
     "/blobServices/default/containers/my-file-system/blobs/my-new-directory"),
    ("Microsoft.Storage.DirectoryRenamed", "RenameDirectory",
     "/blobServices/default/containers/my-file-system/blobs/my-renamed-directory"),
    ("Microsoft.Storage.DirectoryDeleted", "DeleteDirectory",
     "/blobServices/default/containers/my-file-system/blobs/directory-to-delete"),
    ("Microsoft.Storage.LifecyclePolicyCompleted", None,
     "BlobDataManagement/LifeCycleManagement/SummaryReport"),
])
def test_other_storage_event_types_are_acknowledged_without_running(
        event: Any, event_type: str, api: str | None, subject: str) -> None:
    """Tier changes, directory events and policy reports are no object created or deleted: the
    handler does not run and the invocation succeeds (Event Grid does not retry it)."""
    app, seen = _storage_app("my-file-system", ("created", "deleted"))
    doc = event("eventgrid_adls_renamed")
    doc["data"]["value"].update(eventType=event_type, subject=subject, data={"api": api})
    assert worker.invoke(function_app(app), "landed", doc) is None
    assert seen == []


@pytest.mark.parametrize(("change", "reason"), [
    ({"subject": "/blobServices/default/containers/other/blobs/my-renamed-file.txt"},
     "container other is not my-file-system"),
    ({"eventType": "Microsoft.Storage.BlobTierChanged"},
     "type Microsoft.Storage.BlobTierChanged is no blob created, renamed or deleted event"),
    ({"eventType": "Microsoft.Storage.BlobCreated", "data": {"api": "CreateFile"}},
     "api CreateFile created the empty file an upload starts with: its commit event follows"),
])
def test_a_declined_blob_event_is_logged_with_why(
        event: Any, capsys: pytest.CaptureFixture[str], change: dict[str, Any], reason: str
) -> None:
    """A blob event the storage function does not take (another container of an Event Grid
    subscription without a subject filter, a tier change, a Data Lake placeholder) is
    acknowledged without running the handler, and one INFO line says why, worded as the core's
    and the GCP adapter's line for a declined delivery."""
    app, seen = _storage_app("my-file-system", ("created", "deleted"))
    doc = event("eventgrid_adls_renamed")
    doc["data"]["value"].update(change)
    capsys.readouterr()
    assert worker.invoke(function_app(app), "landed", doc) is None
    assert seen == []
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()
             if line.startswith("{")]
    [line] = [line for line in lines
              if line.get("message") == "delivery not for this function: acknowledged, not run"]
    assert line["level"] == "INFO" and line["reason"] == reason
    assert line["function"] == "landed"
    assert line["event_id"] == "831e1650-001e-001b-66ab-eeb76e069631"
