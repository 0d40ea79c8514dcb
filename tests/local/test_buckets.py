"""The polling bucket watcher on a real folder and a real store."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

import portable_fn as pf
from portable_fn._local import buckets
from portable_fn._local.buckets import STORAGE_TYPES, BucketWatcher, list_folder
from portable_fn._local.store import Store
from portable_fn.events import CloudEvent, from_json


def _app() -> pf.App:
    app = pf.App("files")

    @app.storage("photos", on=("created", "deleted"), prefix="raw/")
    def on_photo(event: pf.CloudEvent) -> None: ...

    @app.storage("photos", on=("deleted",))
    def on_any_delete(event: pf.CloudEvent) -> None: ...

    return app


def _events(store: Store) -> list[tuple[str, CloudEvent]]:
    return [(d.function, from_json(d.event)) for d in store.deliveries()]


def test_created_after_settling_changed_and_deleted(tmp_path: Path) -> None:
    store = Store(tmp_path / "b.sqlite3")
    fired: list[tuple[str, str, tuple[str, ...]]] = []
    watcher = BucketWatcher(
        _app(),
        store,
        tmp_path / "buckets",
        lambda kind, name, ev, fns: fired.append((ev.type, name, fns)),
        settle=0,
    )
    folder = tmp_path / "buckets" / "photos"
    assert folder.is_dir()
    (folder / "raw").mkdir()
    (folder / "raw" / "cat.jpg").write_bytes(b"meow")
    (folder / ".cat.jpg.swp").write_bytes(b"editor")  # hidden: never an object
    assert watcher.scan() == 0  # first sighting: wait for the file to hold still
    assert watcher.scan() == 1
    [(function, event)] = _events(store)
    assert function == "on_photo"
    assert event.type == STORAGE_TYPES["created"] and event.subject == "raw/cat.jpg"
    assert event.source == "/portable-fn/local/buckets/photos"
    assert event.data == {
        "bucket": "photos",
        "key": "raw/cat.jpg",
        "size": 4,
        "etag": hashlib.md5(b"meow").hexdigest(),
        "action": "created",
        "content_type": "image/jpeg",
    }
    assert watcher.scan() == 0  # unchanged: nothing

    (folder / "raw" / "cat.jpg").write_bytes(b"purr!")
    os.utime(folder / "raw" / "cat.jpg", ns=(1, 1))  # a change even on a coarse clock
    watcher.scan()
    assert watcher.scan() == 1
    assert _events(store)[-1][1].data["etag"] == hashlib.md5(b"purr!").hexdigest()

    (folder / "raw" / "cat.jpg").unlink()
    assert watcher.scan() == 1  # deletion needs no settling
    deleted = [(f, e) for f, e in _events(store) if e.type == STORAGE_TYPES["deleted"]]
    assert sorted(f for f, _ in deleted) == ["on_any_delete", "on_photo"]
    assert deleted[0][1].data == {
        "bucket": "photos",
        "key": "raw/cat.jpg",
        "size": None,
        "etag": None,
        "action": "deleted",
    }
    assert [t for t, _, _ in fired].count(STORAGE_TYPES["created"]) == 2


def test_prefix_filter_and_restart_sees_changes_made_while_down(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite3"
    root = tmp_path / "buckets"
    watcher = BucketWatcher(_app(), Store(path), root, lambda *a: None, settle=0)
    (root / "photos" / "top.jpg").write_bytes(b"x")  # outside raw/: created fires nobody
    watcher.scan()
    assert watcher.scan() == 0
    (root / "photos" / "top.jpg").unlink()
    again = BucketWatcher(_app(), Store(path), root, lambda *a: None, settle=0)  # a new process
    assert again.scan() == 1  # the deletion happened "while down"; on_any_delete takes it
    assert [d.function for d in Store(path).deliveries()] == ["on_any_delete"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this OS")
def test_only_regular_files_are_objects(tmp_path: Path) -> None:
    """A named pipe (or socket, or device) in a bucket folder is no object: hashing one blocks
    until something writes to it, which hung the watcher for every bucket."""
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "cat.jpg").write_bytes(b"meow")
    os.mkfifo(folder / "pipe")
    assert list(list_folder(folder)) == ["cat.jpg"]


def test_a_symlink_loop_is_no_object_and_stops_nothing(tmp_path: Path) -> None:
    """A symlink that points at itself (or a chain past the OS's limit) fails ``stat`` with
    ELOOP, not FileNotFoundError: it raised out of the scan, and the supervised watcher failed
    on every restart, so no bucket fired again while the link was there."""
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "cat.jpg").write_bytes(b"meow")
    os.symlink("loop", folder / "loop")
    os.symlink("dangling-target", folder / "dangling")
    assert list(list_folder(folder)) == ["cat.jpg"]


def test_an_unreadable_file_does_not_stop_the_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file the runtime may not read (another user's, or one an editor holds locked) waits
    until it can be read; the other objects' events still fire. Raising out of the scan made
    the supervisor restart it into the same file forever, so nothing fired again."""
    store = Store(tmp_path / "b.sqlite3")
    watcher = BucketWatcher(_app(), store, tmp_path / "buckets", lambda *a: None, settle=0)
    folder = tmp_path / "buckets" / "photos" / "raw"
    folder.mkdir()
    (folder / "locked.jpg").write_bytes(b"x")
    (folder / "cat.jpg").write_bytes(b"meow")
    real = buckets.md5_file

    def md5_file(path: Path) -> str:
        if path.name == "locked.jpg" and not readable:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    readable = False
    monkeypatch.setattr(buckets, "md5_file", md5_file)
    watcher.scan()
    assert watcher.scan() == 1
    assert [from_json(d.event).subject for d in store.deliveries()] == ["raw/cat.jpg"]
    readable = True
    watcher.scan()
    assert watcher.scan() == 1  # readable now: announced once it held still again
    assert from_json(store.deliveries()[-1].event).subject == "raw/locked.jpg"


def test_a_file_name_that_is_not_utf8_is_no_object_and_stops_nothing(tmp_path: Path) -> None:
    """Object keys are UTF-8 on every provider. A name that is not (a Latin-1 file out of an
    old archive) could not be stored or sent: its event raised out of the scan, every other
    scan, so the watcher restarted forever and the files listed after it waited."""
    store = Store(tmp_path / "b.sqlite3")
    watcher = BucketWatcher(_app(), store, tmp_path / "buckets", lambda *a: None, settle=0)
    folder = tmp_path / "buckets" / "photos" / "raw"
    folder.mkdir()
    (folder / "caf\u00e9 1.jpg").write_bytes(b"ok")  # unicode and a space: a fine key
    with open(os.fsencode(folder) + b"/caf\xe9.jpg", "wb") as fh:  # Latin-1 bytes
        fh.write(b"x")
    assert list(list_folder(folder)) == ["caf\u00e9 1.jpg"]
    for _ in range(4):
        watcher.scan()
    assert [from_json(d.event).subject for d in store.deliveries()] == ["raw/caf\u00e9 1.jpg"]


def test_a_file_written_slowly_fires_created_once_when_complete(tmp_path: Path) -> None:
    """An S3 object appears whole: one ``ObjectCreated`` when its upload completes (S3 User
    Guide, "Amazon S3 Event Notifications"; GCS ``finalized`` likewise). A file copied or
    downloaded into the bucket folder in chunks, pausing for a scan interval between them,
    fired ``created`` for every partial size before (one scan of stillness was taken for the
    end of the write); it is announced once it held still for ``settle`` seconds."""
    now = [0.0]
    store = Store(tmp_path / "b.sqlite3")
    watcher = BucketWatcher(
        _app(), store, tmp_path / "buckets", lambda *a: None, settle=1.0, clock=lambda: now[0]
    )
    path = tmp_path / "buckets" / "photos" / "raw" / "big.jpg"
    path.parent.mkdir()
    with path.open("wb") as fh:
        for chunk in range(4):
            fh.write(b"x" * 1000)
            fh.flush()
            os.utime(path, ns=(chunk + 1, chunk + 1))  # a change even on a coarse clock
            for _ in range(2):  # the writer pauses for two scans (0.25 s apart)
                assert watcher.scan() == 0
                now[0] += 0.25
    while now[0] < 4.0 and not watcher.scan():
        now[0] += 0.25
    [(function, event)] = _events(store)
    assert (function, event.data["size"]) == ("on_photo", 4000)
