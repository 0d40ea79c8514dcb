"""The app tests/reliability runs under the real ``portable-fn dev``.

Every handler records its side effect as one line appended (``O_APPEND``, one ``write``) to the
file named by ``PF_EFFECTS``, so the test can count effects across threads, processes and
restarts. ``PF_MARKERS`` is a folder for the crash switches (a file present = already crashed).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import portable_fn as pf

app = pf.App("reliable")


def effect(*fields: object) -> None:
    line = (" ".join(str(f) for f in fields) + "\n").encode()
    fd = os.open(os.environ["PF_EFFECTS"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def first_time(name: str) -> bool:
    """True exactly once per name across processes (O_EXCL creates the marker atomically)."""
    path = Path(os.environ["PF_MARKERS"]) / name
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return False
    return True


# -- races: the same event from many threads and processes ------------------------------------


# Racing duplicates get a 409 while the winner runs and look again later; a look is not an
# attempt (portable_fn/_local/delivery.py), so max_retries bounds real failures only.
@app.event("test.once", idempotent=True, max_retries=8)
def once(event: pf.CloudEvent, ctx: pf.Context) -> None:
    # Widen the race: every racing delivery is inside the store call before anyone finishes.
    time.sleep(float(event.data.get("sleep", 0.05)) if isinstance(event.data, dict) else 0.05)
    if isinstance(event.data, dict) and event.data.get("crash") and first_time(event.id):
        time.sleep(60)  # the test SIGKILLs the runtime here, leaving the key in progress
    effect("once", event.source, event.id, os.getpid(), ctx.attempt, time.time())


# -- HTTP: Idempotency-Key and validated bodies -------------------------------------------------


@dataclass(frozen=True)
class NewOrder:
    sku: str
    qty: int = 1


@app.http("/orders", methods=["POST"], idempotent=True)
def create_order(order: NewOrder) -> pf.Response:
    time.sleep(0.2)  # long enough for a concurrent retry to find the key in progress
    effect("order", order.sku, order.qty, os.getpid())
    return pf.Response.json({"sku": order.sku, "qty": order.qty, "pid": os.getpid()}, status=201)


# -- validation for events: invalid data is dead-lettered at once -------------------------------


@app.queue("validated", retry=pf.Retry(max_retries=3, initial_backoff=0.05))
def validated(order: NewOrder) -> None:
    effect("validated", order.sku, order.qty)


# -- chaos: failures, duplicates and one SIGKILL ------------------------------------------------


@dataclass(frozen=True)
class Job:
    n: int
    mode: str = "ok"  # ok | transient | poison | nonretryable | bomb
    fails: int = 0  # transient: attempts that fail before one succeeds


class GatedStore:
    """Wraps the configured store so that no handler is between its effect and the record of
    its completion when the bomb event holds the gate (see ``test_chaos``): that window is the
    one crash no idempotency layer can close without a transactional effect."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.lease, self.retention = inner, inner.lease, inner.retention

    def acquire(self, *args: Any) -> Any:
        return self.inner.acquire(*args)

    def complete(self, *args: Any) -> Any:
        try:
            return self.inner.complete(*args)
        finally:
            if getattr(_held, "gate", False):
                _held.gate = False
                GATE.release()

    def release(self, *args: Any) -> Any:
        return self.inner.release(*args)

    def get(self, *args: Any) -> Any:
        return self.inner.get(*args)

    def delete(self, *args: Any) -> Any:
        return self.inner.delete(*args)


GATE = threading.Lock()
_held = threading.local()
if os.environ.get("PORTABLE_FN_IDEMPOTENCY"):
    # Resolved before serving, as the local runtime should (requested in the issue 7 report):
    # resolved on the first event instead, ``import redis`` (which imports opentelemetry.trace)
    # runs in a handler thread while other threads' dispatch probes the half-imported module
    # (portable_fn/_observe.py ``_otel_active``) and break their delivery.
    from portable_fn.idempotency import store_from_url

    _store = store_from_url(os.environ["PORTABLE_FN_IDEMPOTENCY"])
    app.use_idempotency_store(GatedStore(_store) if os.environ.get("PF_CHAOS") else _store)


@app.topic(
    "chaos",
    retry=pf.Retry(max_retries=5, initial_backoff=0.2, max_backoff=1.0, jitter=False),
    idempotent=True,
)
def chaos(job: Job, ctx: pf.Context) -> None:
    time.sleep(0.01)
    if job.mode == "bomb" and first_time("bomb"):
        GATE.acquire()  # held until the process dies: nobody else reaches the window
        effect("bomb-armed", job.n, os.getpid())
        time.sleep(60)
    if job.mode == "transient" and ctx.attempt <= job.fails:
        raise RuntimeError(f"transient failure {ctx.attempt} of job {job.n}")
    if job.mode == "poison":
        raise RuntimeError(f"job {job.n} always fails")
    if job.mode == "nonretryable":
        raise pf.NonRetryable(f"job {job.n} cannot be processed")
    GATE.acquire()
    _held.gate = True
    try:
        effect("chaos", job.n, os.getpid(), ctx.attempt)
    except BaseException:
        _held.gate = False
        GATE.release()
        raise


# -- retry policy: the local runtime's delays ----------------------------------------------------

FLAKY = pf.Retry(max_retries=3, initial_backoff=0.1, max_backoff=0.25, jitter=False)
JITTERY = pf.Retry(max_retries=4, initial_backoff=0.1, max_backoff=0.3, jitter=True)


@app.queue("flaky", retry=FLAKY)
def flaky(event: pf.CloudEvent) -> None:
    effect("flaky", event.id, time.time())
    raise RuntimeError("always fails")


@app.queue("jittery", retry=JITTERY)
def jittery(event: pf.CloudEvent) -> None:
    effect("jittery", event.id, time.time())
    raise RuntimeError("always fails")


# -- recovery: a delivery cut short by a SIGKILL keeps its retry budget ---------------------------

RECOVERING = pf.Retry(max_retries=2, initial_backoff=0.05, max_backoff=0.2, jitter=False)


@app.queue("recovering", retry=RECOVERING, idempotent=True)
def recovering(event: pf.CloudEvent, ctx: pf.Context) -> None:
    effect("recovering", event.id, ctx.attempt)
    if first_time(f"{event.id}-crash"):
        time.sleep(60)  # the test SIGKILLs the runtime here, leaving the key in progress
    if first_time(f"{event.id}-fail"):
        raise RuntimeError("one transient failure after the restart")
