"""Local bucket folders for ``@app.storage``: ``<bucket-dir>/<bucket>/`` watched by polling.

Polling (no inotify dependency, works on every OS and in containers): each scan lists the
folder; a file that is new or changed fires ``created`` (S3 fires ``ObjectCreated`` on every
PUT, overwrite included), a file that disappeared fires ``deleted``. A change is reported only
once the file's size and mtime held still for ``SETTLE`` seconds (and across two scans), so a
file being copied or downloaded in is announced once, whole, as an S3 or GCS object appears
when its upload completes; a writer that pauses longer than that should write a dot-file (never
an object) and rename it into place. The last snapshot lives in SQLite, in the same
transaction as the event, so changes made while the runtime was down fire on the next start,
once.

Event shape (the portable storage payload, DESIGN section 2): ``type`` =
``portable-fn.storage.object.created|deleted``, ``source`` = ``/portable-fn/local/buckets/<b>``,
``subject`` = key, ``data`` = ``storage_data(bucket, key, size, etag=md5 hex, action,
content_type)``; a deleted object has size and etag None. Keys use ``/`` separators
relative to the bucket folder; dot-files are skipped (editors' swap files), and so is what is
not a regular file (pipes, sockets, a symlink that leads nowhere or in a loop) or has a name
that is not UTF-8 (object keys are UTF-8 on every provider). A file the runtime cannot read is
announced once it can.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import os
import time
from collections.abc import Callable
from pathlib import Path
from stat import S_ISREG

from portable_fn._local.snapshot import Snapshot, StoredObject
from portable_fn._local.store import Message, Store
from portable_fn.app import App
from portable_fn.events import CloudEvent, storage_data, to_json
from portable_fn.triggers import Storage

# How long a file's size and mtime must hold still before it is an object. One scan interval
# (0.25 s) announced every chunk of a download or copy that paused for a scan as a new object.
SETTLE = 1.0

STORAGE_TYPES = {
    "created": "portable-fn.storage.object.created",
    "deleted": "portable-fn.storage.object.deleted",
}


def md5_file(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def list_folder(root: Path) -> dict[str, tuple[int, int]]:
    """key -> (size, mtime_ns) for every regular, non-hidden file under ``root``."""
    found: dict[str, tuple[int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if name.startswith("."):
                continue
            path = Path(dirpath, name)
            try:
                st = path.stat()
            except OSError:  # removed since listed, a dangling link, a symlink loop (ELOOP)
                continue
            if not S_ISREG(st.st_mode):  # a pipe or socket: reading one would block the scan
                continue
            key = path.relative_to(root).as_posix()
            if not _utf8(key):  # no provider's key can hold it, nor SQLite or JSON text
                continue
            found[key] = (st.st_size, st.st_mtime_ns)
    return found


def _utf8(key: str) -> bool:
    """Whether a file's key is UTF-8 text: a name whose bytes are not (Latin-1 out of an
    old archive) comes back from the OS with lone surrogates, and its event raised out of
    the whole scan."""
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class BucketWatcher:
    """Scans every bucket folder the app's storage triggers name."""

    def __init__(
        self,
        app: App,
        store: Store,
        root: Path,
        notice: Callable[[str, str, CloudEvent, tuple[str, ...]], None],
        *,
        settle: float = SETTLE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.snapshot, self.root, self.notice = Snapshot(store), root, notice
        self.settle, self.clock = settle, clock
        self.subscribers: dict[str, list[tuple[str, Storage]]] = {}
        for name, fn in app.functions.items():
            if isinstance(fn.trigger, Storage):
                self.subscribers.setdefault(fn.trigger.bucket, []).append((name, fn.trigger))
        # key -> ((size, mtime_ns), when first seen so) for changes not yet recorded (settling).
        self._settling: dict[str, dict[str, tuple[tuple[int, int], float]]] = {
            b: {} for b in self.subscribers
        }
        for bucket in self.subscribers:
            (root / bucket).mkdir(parents=True, exist_ok=True)

    def scan(self) -> int:
        """One pass over every bucket; returns the number of events fired."""
        return sum(self._scan_bucket(bucket) for bucket in self.subscribers)

    def _scan_bucket(self, bucket: str) -> int:
        folder = self.root / bucket
        current = list_folder(folder)
        known = self.snapshot.objects(bucket)
        settling, fired, now = self._settling[bucket], 0, self.clock()
        for key, stat in current.items():
            old = known.get(key)
            if old is not None and (old.size, old.mtime_ns) == stat:
                settling.pop(key, None)
                continue
            seen = settling.get(key)
            if seen is None or seen[0] != stat:
                settling[key] = (stat, now)  # changed since last look: it may still be written
                continue
            if now - seen[1] < self.settle:
                continue
            del settling[key]
            try:
                etag = md5_file(folder / key)
            except OSError:  # gone, or not readable (yet): looked at again as a new sighting
                continue
            obj = StoredObject(key=key, size=stat[0], mtime_ns=stat[1], etag=etag)
            fired += self._fire(bucket, key, obj, "created")
        for key in settling.keys() - current.keys():  # came and went before it settled
            del settling[key]
        for key in known.keys() - current.keys():
            fired += self._fire(bucket, key, None, "deleted")
        return fired

    def _fire(self, bucket: str, key: str, obj: StoredObject | None, action: str) -> int:
        functions = tuple(
            name for name, trig in self.subscribers[bucket] if trig.accepts(key, action)
        )
        # A deleted object has no size or etag on any provider (S3 ObjectRemoved, GCS
        # deleted, Blob Deleted carry none reliably), so neither does the local one.
        event = CloudEvent.create(
            type=STORAGE_TYPES[action],
            source=f"/portable-fn/local/buckets/{bucket}",
            subject=key,
            datacontenttype="application/json",
            data=storage_data(
                bucket=bucket,
                key=key,
                size=obj.size if obj else None,
                etag=obj.etag if obj else None,
                action="created" if action == "created" else "deleted",
                content_type=mimetypes.guess_type(key)[0] if obj else None,
            ),
        )
        message = Message(kind="storage", name=bucket, event=to_json(event), functions=functions)
        self.snapshot.record_object(bucket, key, obj, message if functions else None)
        if functions:
            self.notice("storage", bucket, event, functions)
        return 1 if functions else 0

    async def run(self, interval: float) -> None:
        while True:
            await asyncio.to_thread(self.scan)
            await asyncio.sleep(interval)
