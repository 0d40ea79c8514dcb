# SPDX-License-Identifier: Apache-2.0
"""A test app whose handlers write what they observe (the portable event, ctx.attempt) as JSON
lines to the file named by PROBE_RECORD, so tests read back what the real server handed them."""

from __future__ import annotations

import json
import os
from typing import Any

import portable_fn as pf
from portable_fn.events import to_dict

app = pf.App("probe")


def _record(function: str, event: pf.CloudEvent, ctx: pf.Context) -> None:
    line = {
        "function": function, "event": to_dict(event), "attempt": ctx.attempt,
        "deadline": ctx.deadline,
    }
    with open(os.environ["PROBE_RECORD"], "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


@app.topic("my-topic", timeout=300)
def on_message(event: pf.CloudEvent, ctx: pf.Context) -> None:
    _record("on_message", event, ctx)


@app.topic("strict-topic", max_retries=0)
def no_retries(event: pf.CloudEvent, ctx: pf.Context) -> None:
    _record("no_retries", event, ctx)
    if isinstance(event.data, dict) and event.data.get("fail"):
        raise RuntimeError("strict failed on purpose")


@app.queue("jobs", max_retries=6, dead_letter="jobs-dlq")
def on_job(event: pf.CloudEvent, ctx: pf.Context) -> None:
    _record("on_job", event, ctx)
    if isinstance(event.data, dict) and event.data.get("fail"):
        raise RuntimeError("job failed on purpose")
    if isinstance(event.data, dict) and event.data.get("reject"):
        raise pf.NonRetryable("job rejected on purpose")


@app.storage("sample-bucket", on=("created", "deleted"))
def on_object(event: pf.CloudEvent, ctx: pf.Context) -> None:
    _record("on_object", event, ctx)


@app.storage("sample-bucket", on=("created",), prefix="images/")
def on_image(event: pf.CloudEvent, ctx: pf.Context) -> None:
    _record("on_image", event, ctx)


@app.event("google.cloud.audit.log.v1.written")
def on_audit(event: pf.CloudEvent, ctx: pf.Context) -> None:
    _record("on_audit", event, ctx)


@app.schedule("30 3 * * *")
def at_night(event: pf.CloudEvent, ctx: pf.Context) -> None:
    _record("at_night", event, ctx)


@app.http("/echo/{name}", methods=["GET", "POST"], timeout=900)
def echo(req: pf.Request, ctx: pf.Context) -> pf.Response:
    body: dict[str, Any] = {
        "method": req.method,
        "path": req.path,
        "name": req.path_params["name"],
        "query": {k: req.query.getall(k) for k in req.query},
        "x_multi": req.headers.getall("x-multi"),
        "cookies": req.cookies,
        "text": req.text,
        "client_ip": req.client_ip,
    }
    return pf.Response.json(
        body,
        status=201,
        headers=[("set-cookie", "a=1"), ("set-cookie", "b=2"), ("x-deadline", repr(ctx.deadline))],
    )


@app.http("/boom", methods=["GET"])
def boom(req: pf.Request) -> None:
    raise RuntimeError("secret detail that must not leak")


@app.http("/bytes", methods=["GET"])
def raw_bytes(req: pf.Request) -> bytes:
    return bytes(range(256))
