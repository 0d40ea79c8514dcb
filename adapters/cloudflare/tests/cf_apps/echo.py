# SPDX-License-Identifier: Apache-2.0
"""A test app that reflects what it receives, for checking the Worker's translations."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import portable_fn as pf

app = pf.App("echo")


@app.http("/echo", methods=["GET", "POST"], auth="anonymous")
def echo(req: pf.Request) -> dict[str, Any]:
    return {
        "method": req.method,
        "path": req.path,
        "query": {k: req.query.getall(k) for k in req.query},
        "cookies": req.cookies,
        "client_ip": req.client_ip,
        "x_multi": req.headers.getall("x-multi"),
        "content_type": req.headers.get("content-type"),
    }


@app.http("/json", methods=["POST"], auth="anonymous")
def json_body(req: pf.Request) -> pf.Response:
    return pf.Response.json({"got": req.json()}, status=201)


@app.http("/bytes", methods=["POST"], auth="anonymous")
def reverse_bytes(req: pf.Request) -> pf.Response:
    return pf.Response.binary(req.body[::-1], content_type="application/octet-stream")


@app.http("/cookies", methods=["GET"], auth="anonymous")
def cookies(req: pf.Request) -> pf.Response:
    return pf.Response(
        status=204, headers=pf.Headers([("set-cookie", "a=1; Path=/"), ("set-cookie", "b=2")])
    )


@app.http("/cookies/many", methods=["GET"], auth="anonymous")
def many_cookies(req: pf.Request) -> pf.Response:
    return pf.Response(headers=[
        ("set-cookie", "sid=abc; Path=/; Secure; HttpOnly; SameSite=None; Partitioned"),
        ("link", "</a.css>; rel=preload"),
        ("set-cookie", "theme=dark; Expires=Wed, 21 Oct 2026 07:28:00 GMT"),
        ("link", "</b.js>; rel=preload"),
        ("set-cookie", "sid=; Path=/old; Max-Age=0"),
    ], body=b"ok")


# Responses a handler may build but HTTP cannot carry (``portable_fn.adapter.unsendable``): the
# Workers Response constructor refuses most (Fetch standard: header values are byte strings
# without CR/LF/NUL, names are tokens, status is 200-599).
_UNSENDABLE = {
    "euro": pf.Response(status=200, headers=[("x-price", "10 \u20ac")], body=b"ok"),
    "crlf": pf.Response(status=200, headers=[("x-next", "a\r\nset-cookie: evil=1")], body=b"ok"),
    "name": pf.Response(status=200, headers=[("bad name", "v")], body=b"ok"),
    # Workers would send it; the other providers' front ends cannot: one answer everywhere.
    "control": pf.Response(status=200, headers=[("x-c", "a\x01b")], body=b"ok"),
    "early-hints": pf.Response(status=103, headers=[("link", "</a.css>; rel=preload")]),
}


@app.http("/unsendable/{kind}", methods=["GET"], auth="anonymous")
def unsendable(req: pf.Request) -> pf.Response:
    return _UNSENDABLE[req.path_params["kind"]]


@app.http("/moved", methods=["GET"], auth="anonymous")
def moved(req: pf.Request) -> pf.Response:
    return pf.Response(status=302, headers=[("location", "/echo?from=moved")])


@app.http("/gzipped", methods=["GET"], auth="anonymous")
def gzipped(req: pf.Request) -> pf.Response:
    """A pre-compressed asset: the handler's bytes must reach the client as they are."""
    import gzip

    return pf.Response(
        status=200,
        headers=[("content-type", "application/json"), ("content-encoding", "gzip")],
        body=gzip.compress(b'{"items": [1, 2, 3]}', mtime=0),
    )


@app.http("/boom", methods=["GET"], auth="anonymous")
def boom(req: pf.Request) -> None:
    raise RuntimeError("secret internal detail")


@app.http("/publish", methods=["POST"], auth="anonymous")
async def publish(req: pf.Request) -> pf.Response:
    event = pf.publish("things", req.json(), type="com.example.thing.made")
    pf.send("jobs", {"job": 1}, delay=30)
    return pf.Response.json({"id": event.id}, status=202)


@app.http("/emit", methods=["POST"], auth="anonymous")
def emit(req: pf.Request) -> pf.Response:
    matched = pf.emit("com.example.thing.made", req.json())
    pf.emit("com.example.other.thing", {"nobody": "listens"})
    return pf.Response.json({"id": matched.id}, status=202)


@app.topic("things")
def on_thing(event: pf.CloudEvent) -> None:
    if event.data.get("fail"):
        raise ValueError("thing failed")


@app.topic("things")
def audit_thing(event: pf.CloudEvent) -> None:
    return None


@app.queue("jobs", max_retries=5, dead_letter="jobs-dlq")
def job(event: pf.CloudEvent, ctx: pf.Context) -> None:
    mode = event.data.get("mode") if isinstance(event.data, dict) else None
    if mode == "fatal":
        raise pf.NonRetryable("job can never succeed")
    if mode == "fail":
        raise ValueError(f"job failed on attempt {ctx.attempt}")
    if mode == "relay":
        pf.send("jobs", {"relayed": True})


@app.queue("seen")
def seen(event: pf.CloudEvent) -> None:
    """Report what arrived (through the ``processed`` queue, visible to the test)."""
    data = event.data
    when = data.get("when") if isinstance(data, dict) else None
    pf.send(
        "processed",
        {
            "id": event.id,
            "type": event.type,
            "time": event.time.isoformat() if event.time else None,
            "when": when.isoformat() if hasattr(when, "isoformat") else repr(when),
        },
    )


def shape(value: Any) -> Any:
    """The data as JSON, with the Python type of anything JSON has no word for tagged."""
    if value is None or isinstance(value, str | bool | float):
        return value
    if isinstance(value, int):  # beyond 2**53 a JS number would round it: send it as text
        return value if abs(value) < 2**53 else {"$int": str(value)}
    if isinstance(value, dict):
        return {str(k) if isinstance(k, str) else f"$key:{k!r}": shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode()}
    if isinstance(value, datetime):
        return {"$time": value.isoformat()}
    return {"$type": type(value).__name__}


@app.queue("mirror")
def mirror(event: pf.CloudEvent) -> None:
    """Report the data exactly as the handler received it (through ``processed``)."""
    pf.send("processed", {"content_type": event.datacontenttype, "data": shape(event.data)})


@app.queue("processed")
def processed(event: pf.CloudEvent) -> None:
    """Declares the ``processed`` queue, so the Worker has a producer binding for it."""


@app.queue("blobs")
def blob(event: pf.CloudEvent) -> None:
    if event.data == b"\xde\xad":
        raise pf.NonRetryable("corrupt blob")
    if event.data != b"\x00\x01\xff" or event.datacontenttype != "application/octet-stream":
        raise ValueError(f"unexpected {event.datacontenttype} {event.data!r}")


@app.schedule("*/5 * * * *")
def every_five(event: pf.CloudEvent) -> None:
    if event.data["scheduled_time"].endswith(":13:00Z"):
        raise ValueError("unlucky minute")


@app.storage("media", on=("created", "deleted"), prefix="in/")
def media(event: pf.CloudEvent) -> None:
    if event.data["key"].endswith(".bad"):
        raise ValueError("cannot process")


@app.event("com.example.thing.*")
def thing_event(event: pf.CloudEvent) -> None:
    return None
