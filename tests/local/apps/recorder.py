"""A test app that writes every event it receives, as the handler saw it, to a JSON-lines file
(``RECORDER_OUT``), so tests/local/test_clients.py can check attributes end to end, and a few
HTTP routes for plain-HTTP clients."""

from __future__ import annotations

import json
import os
from typing import Any

import portable_fn as pf
from portable_fn.events import format_time

app = pf.App("recorder")


@app.event("test.*")
def record(event: pf.CloudEvent) -> None:
    data = event.data
    seen = {
        "id": event.id,
        "source": event.source,
        "type": event.type,
        "specversion": event.specversion,
        "subject": event.subject,
        "datacontenttype": event.datacontenttype,
        "time": format_time(event.time) if event.time else None,
        "extensions": dict(event.extensions),
        "data_type": type(data).__name__,
        "data": data.hex() if isinstance(data, bytes) else data,
    }
    with open(os.environ["RECORDER_OUT"], "a", encoding="utf-8") as out:
        out.write(json.dumps(seen) + "\n")


@app.http("/echo", methods=["GET", "POST"])
def echo(req: pf.Request) -> dict[str, Any]:
    return {
        "method": req.method,
        "path": req.path,
        "query": [list(pair) for pair in req.query.items()],
        "length": len(req.body),
        "host": req.headers.get("host"),
    }


@app.http("/items/{name}", methods=["GET"])
def item(req: pf.Request) -> dict[str, Any]:
    return {"name": req.path_params["name"]}


@app.http("/json", methods=["POST"])
def parse(req: pf.Request) -> dict[str, Any]:
    return {"keys": sorted(req.json())}


@app.http("/status/{code}", methods=["GET"])
def status(req: pf.Request) -> pf.Response:
    """A JSON body on any status, 204 and 304 included (the server must not send it there)."""
    return pf.Response.json({"sent": True}, status=int(req.path_params["code"]))


@app.http("/header", methods=["GET"])
def header(req: pf.Request) -> pf.Response:
    """Answers with the header ``x-value`` set to the query's ``v``, whatever it holds."""
    return pf.Response(headers={"x-value": req.query["v"]}, body=b"ok")


@app.http("/proxied", methods=["GET"])
def proxied(req: pf.Request) -> pf.Response:
    """Headers copied from an upstream response: framing that does not fit this body."""
    headers = {"transfer-encoding": "chunked", "content-length": "999", "x-up": "1"}
    return pf.Response(headers=headers, body=b"hello")


@app.http("/download", methods=["GET", "HEAD"])
def download(req: pf.Request) -> pf.Response:
    """A HEAD answered without reading the content: its size from metadata, no body."""
    if req.method == "HEAD":
        return pf.Response(headers={"content-type": "text/plain", "content-length": "11"})
    return pf.Response(headers={"content-type": "text/plain"}, body=b"hello world")
