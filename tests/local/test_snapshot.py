"""The bucket snapshot table, on a real database file."""

from __future__ import annotations

from pathlib import Path

from portable_fn._local.snapshot import Snapshot, StoredObject
from portable_fn._local.store import Message, Store


def test_object_snapshot_and_its_event_commit_together(tmp_path: Path) -> None:
    store = Store(tmp_path / "b.sqlite3")
    snapshot = Snapshot(store)
    obj = StoredObject(key="k", size=1, mtime_ns=2, etag="e")
    snapshot.record_object(
        "b", "k", obj, Message(kind="storage", name="b", event=b"{}", functions=["f"])
    )
    assert snapshot.objects("b") == {"k": obj}
    assert [d.function for d in store.deliveries()] == ["f"]
    snapshot.record_object("b", "k", None, None)
    assert snapshot.objects("b") == {}
