"""A test app for the runtime's concurrency and crash behaviour (tests/local only).

``work`` blocks on its first attempt, so a test can SIGKILL the runtime while a delivery is in
flight; ``stuck`` blocks past a short timeout, ``ping`` and ``tally`` need a free thread;
``hold`` blocks a sync HTTP handler until the test calls ``release``, and ``holding``
and ``fast`` (async, on the event loop) answer meanwhile: a blocked handler does not stall the
loop, shown by order of events rather than by timing.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import portable_fn as pf

app = pf.App("slow")


@app.http("/work", methods=["POST"])
def enqueue(req: pf.Request) -> pf.Response:
    event = pf.send("work", req.json(), type="test.work")
    return pf.Response.json({"id": event.id}, status=202)


@app.queue("work", retry=pf.Retry(max_retries=2, initial_backoff=0.05))
def work(event: pf.CloudEvent, ctx: pf.Context) -> None:
    if ctx.attempt == 1:
        time.sleep(60)  # killed here by the test


_held, _released = threading.Event(), threading.Event()


@app.http("/hold", methods=["GET"])
def hold(req: pf.Request) -> dict[str, Any]:
    """A sync handler stuck in the pool until ``/release`` (at most 30 s)."""
    _held.set()
    released = _released.wait(30)
    return {"released": released, "done": time.time()}


@app.http("/holding", methods=["GET"])
async def holding(req: pf.Request) -> dict[str, Any]:
    return {"holding": _held.is_set() and not _released.is_set()}


@app.http("/release", methods=["POST"])
async def release(req: pf.Request) -> dict[str, Any]:
    _released.set()
    return {"released": True}


_unstuck = threading.Event()


@app.http("/stuck", methods=["GET"])
def stuck(req: pf.Request) -> dict[str, Any]:
    """A sync handler past a short ``--timeout``: stuck in its thread until ``/unstick`` (at
    most 60 s), as a call without a timeout of its own sticks."""
    return {"unstuck": _unstuck.wait(60)}


@app.http("/unstick", methods=["POST"])
async def unstick(req: pf.Request) -> dict[str, Any]:
    _unstuck.set()
    return {"unstuck": True}


@app.http("/ping", methods=["GET"])
def ping(req: pf.Request) -> dict[str, Any]:
    """A sync route that answers at once: it needs a free pool thread."""
    return {"pong": True}


@app.http("/batch", methods=["POST"])
def enqueue_batch(req: pf.Request) -> pf.Response:
    for n in range(req.json()["count"]):
        pf.send("batch", {"n": n}, type="test.batch")
    return pf.Response.json({"sent": req.json()["count"]}, status=202)


@app.queue("batch")
def batch(event: pf.CloudEvent) -> None:
    """A steady stream of short deliveries: the loop claims more as each one ends."""
    time.sleep(0.2)


@app.queue("tally", retry=pf.Retry(max_retries=3, initial_backoff=0.05))
def tally(event: pf.CloudEvent) -> None:
    """A sync queue handler that succeeds at once: it needs a free pool thread."""


@app.http("/fast", methods=["GET"])
async def fast(req: pf.Request) -> dict[str, Any]:
    return {"fast": True, "done": time.time()}


@app.schedule("cron(* * * * *)")
def every_minute(event: pf.CloudEvent) -> None:
    """Fired at start by --run-schedules-on-start in the tests."""


@app.storage("inbox", on=("created", "deleted"), suffix=".csv")
def inbox(event: pf.CloudEvent) -> None:
    """Only .csv keys, both actions: the watcher's filter is under test."""


@app.queue("strict", max_retries=5)
def strict(event: pf.CloudEvent) -> None:
    """NonRetryable: dead-lettered on the first attempt, retries not spent."""
    raise pf.NonRetryable("malformed order")


@app.queue("strict-dlq")
def strict_dead_letters(event: pf.CloudEvent) -> None:
    """Consumes strict's dead-letter queue: the DLQ is a real queue."""


@app.queue("ordered", fifo=True, retry=pf.Retry(max_retries=2, initial_backoff=0.2))
def ordered(event: pf.CloudEvent, ctx: pf.Context) -> None:
    """FIFO: message 1 fails once; message 2 must wait for it."""
    if event.data["n"] == 1 and ctx.attempt == 1:
        raise ValueError("first try of message 1")


@app.http("/echo/{rest+}", methods=["POST"])
def echo(req: pf.Request) -> pf.Response:
    """Everything the ASGI translation carries, sent back: path params, multi-valued query,
    cookies, raw bytes; answered as binary with two Set-Cookie headers."""
    meta = {
        "rest": req.path_params["rest"],
        "tags": req.query.getall("tag"),
        "cookies": req.cookies,
        "agent": req.headers.get("x-agent"),
        "client": req.client_ip,
    }
    return pf.Response(
        status=201,
        headers=pf.Headers(
            [
                ("content-type", "application/octet-stream"),
                ("x-meta", json.dumps(meta, sort_keys=True)),
                ("set-cookie", "a=1; Path=/"),
                ("set-cookie", "b=2; HttpOnly"),
            ]
        ),
        body=bytes(reversed(req.body)),
    )


@app.stream("clicks")
def clicks(event: pf.CloudEvent) -> None:
    """Stream records, one at a time, in order."""
