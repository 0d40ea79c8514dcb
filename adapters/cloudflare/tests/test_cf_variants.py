# SPDX-License-Identifier: Apache-2.0
"""Inbound variants found by auditing the Worker against every documented shape of its inputs:
responses the Workers ``Response`` constructor refuses, empty bodies, queue bodies sent with
``contentType: "v8"`` (structured-clone values), undecodable bodies that used to escape the
batch, and R2 notifications with numbers out of range. Each runs on the CPython codec path and,
where the runtime's own objects matter, on real Pyodide with the real ``workers`` SDK."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import math
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

import pytest
from pyodide_worker import PyodideWorker, load_fixture

import portable_fn as pf
from portable_fn.errors import EventDecodeError
from portable_fn.events import from_dict
from portable_fn_cloudflare import fetch, native, plan, queue, r2
from portable_fn_cloudflare._values import plain
from portable_fn_cloudflare.runtime import WorkerRuntime

ECHO = "https://echo.example.workers.dev"
T0 = 1732370400000  # 2024-11-23T14:00:00Z


def body_of(reply: dict[str, Any]) -> bytes:
    return base64.b64decode(reply["body_b64"])


# -- responses the runtime cannot send ------------------------------------------------------

# Fetch standard (what the Workers Response and Headers implement,
# https://developers.cloudflare.com/workers/runtime-apis/response/): a header value is a byte
# string with no CR, LF or NUL (https://fetch.spec.whatwg.org/#concept-header-value), a name is
# an RFC 9110 token (https://fetch.spec.whatwg.org/#concept-header-name), and ``new Response``
# throws a RangeError for a status outside 200-599 (https://fetch.spec.whatwg.org/#dom-response).
UNSENDABLE = {
    "euro": pf.Response(status=200, headers=[("x-price", "10 \u20ac")], body=b"ok"),
    "crlf": pf.Response(status=200, headers=[("x-next", "a\r\nset-cookie: evil=1")], body=b"ok"),
    "name": pf.Response(status=200, headers=[("bad name", "v")], body=b"ok"),
    # Workers would send it; API Gateway, gunicorn and Kestrel cannot: one answer everywhere
    # (``portable_fn.adapter.unsendable``).
    "control": pf.Response(status=200, headers=[("x-c", "a\x01b")], body=b"ok"),
    "early-hints": pf.Response(status=103, headers=[("link", "</a.css>; rel=preload")]),
}


@pytest.mark.parametrize("kind", sorted(UNSENDABLE))
def test_response_workers_cannot_send_becomes_json_500(kind: str) -> None:
    """A handler's response the JS ``Response`` constructor would throw on (the Worker would
    crash with error 1101) is answered with the portable JSON 500 instead."""
    status, headers, body = fetch.response_parts(UNSENDABLE[kind])
    assert status == 500
    assert ("content-type", "application/json") in headers
    assert body is not None and json.loads(body)["error"]["status"] == 500


def test_sendable_latin1_header_and_all_statuses_pass_unchanged() -> None:
    """Latin-1 header values are byte strings (allowed); 200-599 are all sendable."""
    value = "inline; filename=caf\u00e9"
    ok = pf.Response(status=200, headers=[("content-disposition", value)], body=b"x")
    assert fetch.response_parts(ok) == (200, [("content-disposition", value)], b"x")
    for status in (200, 301, 404, 599):
        assert fetch.response_parts(pf.Response(status=status))[0] == status


def test_empty_body_is_sent_as_no_body() -> None:
    """An empty body travels as ``null``: a ``""`` body makes the Response constructor add
    ``content-type: text/plain;charset=UTF-8`` (https://fetch.spec.whatwg.org/#concept-bodyinit-extract),
    a header the handler never set and no other provider adds."""
    redirect = pf.Response(status=302, headers=[("location", "/next")])
    assert fetch.response_parts(redirect) == (302, [("location", "/next")], None)


@pytest.mark.parametrize("kind", sorted(UNSENDABLE))
def test_unsendable_response_on_pyodide_is_json_500(echo_worker: PyodideWorker, kind: str) -> None:
    reply = echo_worker.call("fetch", method="GET", url=f"{ECHO}/unsendable/{kind}")
    assert reply["status"] == 500
    text = body_of(reply).decode()
    assert json.loads(text)["error"]["status"] == 500
    assert "Traceback" not in text and "evil" not in json.dumps(reply["headers"])


def test_redirect_on_pyodide_has_no_invented_content_type(echo_worker: PyodideWorker) -> None:
    reply = echo_worker.call("fetch", method="GET", url=f"{ECHO}/moved")
    assert reply["status"] == 302
    assert reply["headers"] == [["location", "/echo?from=moved"]]
    assert body_of(reply) == b""


def test_deeply_nested_request_json_is_a_400_on_pyodide(echo_worker: PyodideWorker) -> None:
    """``req.json()`` on a body nested 100,000 deep: parsed under Pyodide, it would overflow
    the JavaScript stack and end the isolate; the core refuses it first."""
    deep = b"[" * 100_000 + b"]" * 100_000
    json_type = [["content-type", "application/json"]]
    reply = echo_worker.call(
        "fetch",
        method="POST",
        url=f"{ECHO}/json",
        body_b64=base64.b64encode(deep).decode(),
        headers=json_type,
    )
    assert reply["status"] == 400
    assert json.loads(body_of(reply))["error"]["status"] == 400
    # The isolate lives on: the next request is answered.
    again = echo_worker.call(
        "fetch",
        method="POST",
        url=f"{ECHO}/json",
        body_b64=base64.b64encode(b'{"n": 1}').decode(),
        headers=json_type,
    )
    assert again["status"] == 201 and json.loads(body_of(again)) == {"got": {"n": 1}}


def test_streamed_request_body_is_read_whole_on_pyodide(echo_worker: PyodideWorker) -> None:
    """A request body the client streams (chunked upload: ``Request.body`` is a
    ``ReadableStream``, https://developers.cloudflare.com/workers/runtime-apis/request/#properties)
    reaches the handler as all its bytes, binary and JSON alike; an empty stream as ``b""``."""
    data = bytes(range(256)) * 64
    chunks = [base64.b64encode(data[i : i + 1000]).decode() for i in range(0, len(data), 1000)]
    binary = [["content-type", "application/octet-stream"]]
    reply = echo_worker.call(
        "fetch", method="POST", url=f"{ECHO}/bytes", headers=binary, chunks_b64=chunks
    )
    assert reply["status"] == 200 and body_of(reply) == data[::-1]
    parts = [base64.b64encode(p).decode() for p in (b'{"a": [1,', b" 2]}")]
    reply = echo_worker.call(
        "fetch",
        method="POST",
        url=f"{ECHO}/json",
        headers=[["content-type", "application/json"]],
        chunks_b64=parts,
    )
    assert reply["status"] == 201 and json.loads(body_of(reply)) == {"got": {"a": [1, 2]}}
    empty = echo_worker.call(
        "fetch", method="POST", url=f"{ECHO}/bytes", headers=binary, chunks_b64=[]
    )
    assert empty["status"] == 200 and body_of(empty) == b""


def test_head_is_answered_by_the_get_route_on_pyodide(echo_worker: PyodideWorker) -> None:
    """HEAD is served by the GET route (RFC 9110 section 9.3.2), with its status and headers."""
    reply = echo_worker.call("fetch", method="HEAD", url=f"{ECHO}/echo?a=1")
    assert reply["status"] == 200
    assert dict(reply["headers"])["content-type"] == "application/json"



# -- bodies the handler already encoded ------------------------------------------------------


class RecordingJs:
    """Stands in for Pyodide's ``js`` module: records what ``new Response(body, init)`` gets."""

    def __init__(self) -> None:
        self.inits: list[dict[str, Any]] = []
        self.Headers = SimpleNamespace(new=lambda: SimpleNamespace(append=lambda n, v: None))
        self.Response = SimpleNamespace(new=self._new)

    def _new(self, body: Any, **init: Any) -> Any:
        self.inits.append(init)
        return body


def js_response_init(response: pf.Response) -> tuple[Any, dict[str, Any]]:
    js = RecordingJs()
    status, headers, body = fetch.response_parts(response)
    payload = fetch._js_response(js, bytes, status, headers, body, response.is_text)
    return payload, js.inits[0]


# A pre-compressed asset, as a handler serves it from storage (RFC 9110 section 8.4).
GZIPPED = gzip.compress(b'{"items": [1, 2, 3]}', mtime=0)


@pytest.mark.parametrize("name", ["content-encoding", "Content-Encoding"])
def test_encoded_body_is_sent_as_is(name: str) -> None:
    """A body the handler encoded itself (``Content-Encoding: gzip``) goes out unchanged on
    every other provider; Workers compress a Response body for its content-encoding header
    unless ``encodeBody`` is ``"manual"``
    (https://developers.cloudflare.com/workers/runtime-apis/response/#parameters), so without
    it the client would get the gzip stream gzipped twice."""
    asset = pf.Response(
        status=200, headers=[("content-type", "application/json"), (name, "gzip")], body=GZIPPED
    )
    payload, init = js_response_init(asset)
    assert init["encodeBody"] == "manual"
    assert payload == GZIPPED and gzip.decompress(payload) == b'{"items": [1, 2, 3]}'


def test_plain_body_keeps_the_runtime_default_encoding() -> None:
    _payload, init = js_response_init(pf.Response.json({"a": 1}))
    assert "encodeBody" not in init and init["status"] == 200

def test_encoded_body_on_pyodide_keeps_its_bytes_and_header(echo_worker: PyodideWorker) -> None:
    """The ``encodeBody`` init member reaches the real ``Response`` constructor without harm
    (Node's ignores it; workerd honours it)."""
    reply = echo_worker.call("fetch", method="GET", url=f"{ECHO}/gzipped")
    assert reply["status"] == 200
    assert dict(reply["headers"])["content-encoding"] == "gzip"
    # Compressed once (the OS byte of the gzip header differs between Pyodide and CPython).
    assert gzip.decompress(body_of(reply)) == b'{"items": [1, 2, 3]}'

# -- queue bodies that used to escape the batch ---------------------------------------------


def deep_structured_text(depth: int) -> str:
    """Valid JSON text that names ``specversion`` (so it is sniffed as a structured CloudEvent)
    nested deeper than Python's JSON decoder recurses: a ``text`` message any producer can send
    (https://developers.cloudflare.com/queues/configuration/javascript-apis/#queuescontenttype)."""
    return '{"specversion":"1.0","x":' + "[" * depth + "]" * depth + "}"


def intact(n: int) -> dict[str, Any]:
    return {"id": f"intact-{n}", "timestamp": T0, "attempts": 1, "body": {"mode": "ok", "n": n}}


def env_for(app: pf.App) -> native.EnvStandIn:
    return native.EnvStandIn({plan.binding_name(q): q for q in plan.producer_queues(app)})


def test_undecodable_text_fails_alone_in_cpython() -> None:
    """docs/event-mapping.md rule 6: a payload that cannot be read fails that one message
    (dead-lettered, not retried), never the batch."""
    from cf_apps.echo import app

    messages = [
        native.MessageStandIn(id="a", body={"mode": "ok"}),
        native.MessageStandIn(id="deep", body=deep_structured_text(100_000)),
        native.MessageStandIn(id="b", body={"mode": "ok"}),
    ]
    env = env_for(app)
    asyncio.run(WorkerRuntime(app).queue(native.BatchStandIn("jobs", messages), env, None))
    assert [(m.id, m.calls) for m in messages] == [
        ("a", [("ack", {})]),
        ("deep", [("ack", {})]),
        ("b", [("ack", {})]),
    ]
    assert [body for body, _ in env.producers[plan.binding_name("jobs-dlq")].sent] == [
        messages[1].body
    ]


@pytest.mark.parametrize(
    ("attempts", "timestamp"), [(float("inf"), None), (1, ""), (1, float("nan"))]
)
def test_a_message_with_an_odd_count_or_time_is_still_handled(
    attempts: Any, timestamp: Any
) -> None:
    """The runtime hands a number and a Date; one it cannot (``Infinity``, no date) made the
    message unreadable, retried at once until ``max_retries`` with no word of its id."""
    from cf_apps.echo import app

    odd = native.MessageStandIn(id="odd", body={"mode": "ok"}, attempts=attempts)
    if timestamp is not None:
        odd.timestamp = timestamp
    messages = [native.MessageStandIn(id="a", body={"mode": "ok"}), odd]
    asyncio.run(WorkerRuntime(app).queue(native.BatchStandIn("jobs", messages), env_for(app), None))
    assert [(m.id, m.calls) for m in messages] == [("a", [("ack", {})]), ("odd", [("ack", {})])]


def test_undecodable_text_fails_alone_on_pyodide(echo_worker: PyodideWorker) -> None:
    deep = {"id": "deep", "timestamp": T0, "attempts": 1, "body": deep_structured_text(100_000)}
    reply = echo_worker.call("queue", queue="jobs", messages=[intact(1), deep, intact(2)])
    assert reply["error"] is None
    assert reply["calls"] == [
        {"id": "intact-1", "op": "ack"},
        {"id": "deep", "op": "ack"},
        {"id": "intact-2", "op": "ack"},
    ]
    assert [s["queue"] for s in reply["sent"]] == ["jobs-dlq"]
    # The adapter's own line about it is a structured JSON line, as the handlers' are.
    echo_worker.stderr.seek(0)
    lines = [
        json.loads(text)
        for text in echo_worker.stderr.read().decode(errors="replace").splitlines()
        if text.startswith("{") and '"dead-lettered message"' in text
    ]
    deep_line = next(line for line in lines if line["message_id"] == "deep")
    assert deep_line["level"] == "ERROR" and deep_line["provider"] == "cloudflare"
    assert deep_line["queue"] == "jobs" and deep_line["dead_letter_queue"] == "jobs-dlq"



# -- dead letters keep their content type ------------------------------------------------------


def test_dead_letters_are_sent_with_their_bodys_content_type() -> None:
    """A Worker past compatibility date 2024-03-18 sends a message without ``contentType`` as
    JSON (workerd ``queuesJsonMessages``), so a bytes body would reach the dead-letter queue as
    ``{"0": 0, "1": 1, ...}`` and a v8 Date as text. Every documented body kind
    (https://developers.cloudflare.com/queues/configuration/javascript-apis/#queuescontenttype)
    goes there with the content type that carries it unchanged."""
    app = pf.App("dlq")

    @app.queue("poison")
    def poison(event: pf.CloudEvent) -> None:
        raise pf.NonRetryable("never succeeds")

    fixture = load_fixture("queue_bodies.json")["messages"]
    messages = [native.MessageStandIn(id=m["id"], body=m["body"]) for m in fixture]
    new_year = datetime(2024, 1, 1, tzinfo=timezone.utc)
    messages += [
        native.MessageStandIn(id="bytes", body=b"\x00\x01\xff"),
        native.MessageStandIn(id="v8-date", body={"when": new_year}),
        native.MessageStandIn(id="v8-bytes", body={"blob": b"\x00"}),
        native.MessageStandIn(id="v8-bigint", body=[2**64]),
    ]
    env = env_for(app)
    asyncio.run(WorkerRuntime(app).queue(native.BatchStandIn("poison", messages), env, None))
    assert all(m.calls == [("ack", {})] for m in messages)
    sent = env.producers[plan.binding_name("poison-dlq")].sent
    assert [body for body, _ in sent] == [m.body for m in messages]
    assert [options["contentType"] for _, options in sent] == [
        "json",  # object
        "json",  # array
        "json",  # number
        "json",  # null
        "text",
        "json",  # structured CloudEvent object
        "text",  # structured CloudEvent text
        "bytes",
        "v8",
        "v8",
        "v8",
    ]


def test_dead_lettered_bytes_and_text_on_pyodide(echo_worker: PyodideWorker) -> None:
    poison = {"id": "poison", "timestamp": T0, "attempts": 1, "body_b64": "3q0="}  # de ad
    reply = echo_worker.call("queue", queue="blobs", messages=[poison])
    assert reply["calls"] == [{"id": "poison", "op": "ack"}]
    (sent,) = reply["sent"]
    assert sent["queue"] == "blobs-dlq" and sent["body"] == {"$bytes": "3q0="}
    assert sent["options"] == {"contentType": "bytes"}
    deep = {"id": "deep", "timestamp": T0, "attempts": 1, "body": deep_structured_text(100_000)}
    reply = echo_worker.call("queue", queue="jobs", messages=[deep])
    assert [s["options"] for s in reply["sent"]] == [{"contentType": "text"}]

def test_body_that_cannot_be_converted_is_dead_lettered_at_once_in_cpython() -> None:
    """A ``v8`` body may contain itself (structured clone keeps cycles,
    https://developers.cloudflare.com/queues/configuration/javascript-apis/#queuescontenttype);
    converting it raises RecursionError on every delivery. That message alone goes to the
    dead-letter queue at once, as ``v8`` (the only content type that carries a cycle), instead
    of a bare ``retry()`` until ``max_retries``."""
    from cf_apps.echo import app

    cyclic: dict[str, Any] = {"mode": "ok"}
    cyclic["self"] = cyclic
    messages = [
        native.MessageStandIn(id="a", body={"mode": "ok"}),
        native.MessageStandIn(id="cyclic", body=cyclic, attempts=1),
        native.MessageStandIn(id="b", body={"mode": "ok"}),
    ]
    env = env_for(app)
    asyncio.run(WorkerRuntime(app).queue(native.BatchStandIn("jobs", messages), env, None))
    assert [(m.id, m.calls) for m in messages] == [
        ("a", [("ack", {})]),
        ("cyclic", [("ack", {})]),
        ("b", [("ack", {})]),
    ]
    ((body, options),) = env.producers[plan.binding_name("jobs-dlq")].sent
    assert body is cyclic and options == {"contentType": "v8"}


# A Map prints as {} in the driver's JSON reply, so what the Worker sent can be echoed back.
_SELF_MAP = "(() => { const m = new Map(); m.set('me', m); return m; })()"
_DEEP_IN_MAP = (
    "(() => { let v = {}; for (let i = 0; i < 1000; i++) v = {a: v};"
    " return new Map([['deep', v]]); })()"
)


def test_body_that_cannot_be_converted_is_dead_lettered_at_once_on_pyodide(
    echo_worker: PyodideWorker,
) -> None:
    """The SDK's converter (workers-runtime-sdk ``python_from_rpc``) recurses: a ``v8`` body
    (https://developers.cloudflare.com/queues/configuration/javascript-apis/#queuescontenttype)
    nested 1000 deep or containing itself raises RecursionError when read. It used to be
    ``retry()``-ed with no delay on every delivery until ``max_retries``; now it is sent, as the
    JS value it is, to the dead-letter queue and acked, and its batch is unaffected."""
    messages = [
        intact(1),
        {"id": "self", "timestamp": T0, "attempts": 1, "body_js": _SELF_MAP},
        {"id": "deep", "timestamp": T0, "attempts": 1, "body_js": _DEEP_IN_MAP},
        intact(2),
    ]
    reply = echo_worker.call("queue", queue="jobs", messages=messages)
    assert reply["error"] is None
    assert [(c["id"], c["op"]) for c in reply["calls"]] == [
        ("intact-1", "ack"),
        ("self", "ack"),
        ("deep", "ack"),
        ("intact-2", "ack"),
    ]
    assert [(s["queue"], s["options"]) for s in reply["sent"]] == [
        ("jobs-dlq", {"contentType": "v8"}),
        ("jobs-dlq", {"contentType": "v8"}),
    ]


# -- contentType "v8": structured-clone values ----------------------------------------------


def test_plain_turns_sdk_datetimes_into_utc() -> None:
    """The SDK converts a JS Date with ``datetime.fromtimestamp`` (naive, the isolate's local
    time; workers-runtime-sdk ``workers/rpc.py``, https://pypi.org/project/workers-runtime-sdk/);
    ``plain`` makes it the aware UTC instant it stands for, nested values included."""
    naive = datetime.fromtimestamp(T0 / 1000)
    assert plain({"when": naive, "all": [naive]}) == {
        "when": datetime(2024, 11, 23, 14, tzinfo=timezone.utc),
        "all": [datetime(2024, 11, 23, 14, tzinfo=timezone.utc)],
    }


def test_v8_dates_arrive_as_utc_on_pyodide(echo_worker: PyodideWorker) -> None:
    """A JS producer sending with ``contentType: "v8"`` keeps Dates as Dates
    (https://developers.cloudflare.com/queues/configuration/javascript-apis/#queuescontenttype):
    a structured CloudEvent whose ``time`` is a Date is still that event, and a Date in a plain
    body reaches the handler as an aware UTC datetime."""
    event = (
        '({specversion: "1.0", id: "v8-1", source: "/js/producer", type: "com.example.v8",'
        " time: new Date(Date.UTC(2024, 10, 23, 14, 0, 0)),"
        " data: {when: new Date(Date.UTC(2024, 0, 1))}})"
    )
    body = "({when: new Date(Date.UTC(2024, 0, 1)), tags: new Map([['a', 1]])})"
    reply = echo_worker.call(
        "queue",
        queue="seen",
        messages=[
            {"id": "m-1", "timestamp": T0, "attempts": 1, "body_js": event},
            {"id": "m-2", "timestamp": T0, "attempts": 1, "body_js": body},
        ],
    )
    assert reply["error"] is None
    assert reply["calls"] == [{"id": "m-1", "op": "ack"}, {"id": "m-2", "op": "ack"}]
    seen = [from_dict(s["body"]).data for s in reply["sent"]]
    assert [s["queue"] for s in reply["sent"]] == ["processed", "processed"]
    assert seen == [
        {
            "id": "v8-1",
            "type": "com.example.v8",
            "time": "2024-11-23T14:00:00+00:00",
            "when": "2024-01-01T00:00:00+00:00",
        },
        {
            "id": "m-2",
            "type": "com.cloudflare.queues.message",
            "time": "2024-11-23T14:00:00+00:00",
            "when": "2024-01-01T00:00:00+00:00",
        },
    ]


# -- R2 notifications with numbers out of range ---------------------------------------------

# https://developers.cloudflare.com/r2/buckets/event-notifications/#message-format:
# object.size is a Number (bytes), object.eTag a String, eventTime a String.
R2_NOTE: dict[str, Any] = {
    "account": "3f4b7e3dcab231cbfdaa90a6a28bd548",
    "action": "PutObject",
    "bucket": "media",
    "object": {"key": "in/cat.png", "size": 65536, "eTag": "c846ff7a18f28c2e262116d6e8719ef0"},
    "eventTime": "2024-05-24T19:36:44.379Z",
}


def r2_note(*, obj: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    return {**R2_NOTE, "object": {**R2_NOTE["object"], **(obj or {})}, **top}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (r2_note(obj={"size": math.inf}), "object.size"),
        (r2_note(obj={"size": math.nan}), "object.size"),
        (r2_note(obj={"size": -1}), "object.size"),
        (r2_note(obj={"size": 1.5}), "object.size"),
        (r2_note(obj={"size": True}), "object.size"),
        (r2_note(obj={"eTag": {"not": "a string"}}), "object.eTag"),
        (r2_note(eventTime=1e20), "eventTime"),
        (r2_note(eventTime=math.inf), "eventTime"),
        (r2_note(eventTime="2024-13-45T99:00:00Z"), "eventTime"),
    ],
)
def test_r2_numbers_out_of_range_fail_typed(body: dict[str, Any], field: str) -> None:
    msg = queue.QueueMessage(id="m", timestamp=None, body=body, attempts=1)
    with pytest.raises(EventDecodeError) as info:
        r2.to_event(msg)
    assert info.value.field == field


def test_r2_out_of_range_fails_alone_on_pyodide(echo_worker: PyodideWorker) -> None:
    """``Infinity`` can only come as a v8 body; 1e20 is plain JSON. Both used to raise
    OverflowError/OSError out of the Worker's ``queue``, leaving the rest of the batch unsettled."""
    inf_size = (
        '({account: "a", action: "PutObject", bucket: "media",'
        ' object: {key: "in/inf.png", size: Infinity, eTag: "e"},'
        ' eventTime: "2024-05-24T19:36:44.379Z"})'
    )
    messages = [
        {"id": "ok-1", "timestamp": T0, "attempts": 1, "body": r2_note()},
        {"id": "inf", "timestamp": T0, "attempts": 1, "body_js": inf_size},
        {"id": "far", "timestamp": T0, "attempts": 1, "body": r2_note(eventTime=1e20)},
        {"id": "ok-2", "timestamp": T0, "attempts": 1, "body": r2_note(obj={"key": "in/b.png"})},
    ]
    reply = echo_worker.call("queue", queue="echo--r2--media--media", messages=messages)
    assert reply["error"] is None
    assert [(c["id"], c["op"]) for c in reply["calls"]] == [
        ("ok-1", "ack"),
        ("inf", "ack"),
        ("far", "ack"),
        ("ok-2", "ack"),
    ]
    assert [s["queue"] for s in reply["sent"]] == ["echo--r2--media--media-dlq"] * 2


# -- Number.MAX_SAFE_INTEGER itself crosses to JS as a BigInt ---------------------------------

# Pyodide 0.28 turns a Python int into a JS Number only strictly inside
# (-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER) (``JsvNum_fromDigits`` in npm pyodide's
# pyodide.asm.js); 2**53 - 1 itself becomes a BigInt, which ``contentType: "json"`` cannot carry.
EDGE = 2**53 - 1


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ({"n": EDGE - 1}, "json"),
        ({"n": -(EDGE - 1)}, "json"),
        ({"n": EDGE}, "v8"),
        ([-EDGE], "v8"),
    ],
)
def test_max_safe_integer_goes_out_as_v8(body: Any, content_type: str) -> None:
    assert queue.content_type_for(body) == content_type


def test_publishing_max_safe_integer_on_pyodide(echo_worker: PyodideWorker) -> None:
    """Number.MAX_SAFE_INTEGER (9007199254740991, a common "no limit" sentinel) is an integer
    every JSON parser keeps exactly; published from a handler it crossed to JS as a BigInt and
    was sent with ``contentType: "json"``, which workerd's ``WorkerQueue::send`` serializes
    with ``JSON.stringify`` and throws on (Queues producer API,
    https://developers.cloudflare.com/queues/configuration/javascript-apis/#queuescontenttype):
    the request answered 500. It goes out as ``v8`` and arrives as the same integers."""
    data = {"limit": EDGE, "floor": -EDGE, "below": EDGE - 1}
    reply = echo_worker.call(
        "fetch",
        method="POST",
        url=f"{ECHO}/publish",
        headers=[["content-type", "application/json"]],
        body_b64=base64.b64encode(json.dumps(data).encode()).decode(),
    )
    assert reply["status"] == 202, body_of(reply)
    sent = {s["queue"]: s for s in reply["sent"]}["echo--things--on-thing"]
    assert sent["options"] == {"contentType": "v8"}
    body_js = json.dumps(sent["body"])
    for n in (EDGE, -EDGE):
        body_js = body_js.replace(json.dumps({"$bigint": str(n)}), f"{n}n")
    delivered = echo_worker.call(
        "queue",
        queue="mirror",
        messages=[{"id": "edge", "timestamp": T0, "attempts": 1, "body_js": body_js}],
    )
    assert delivered["calls"] == [{"id": "edge", "op": "ack"}]
    (report,) = delivered["sent"]  # the mirror's report holds the same integers: v8 again
    assert report["options"] == {"contentType": "v8"}
    got = from_dict(report["body"]).data["data"]
    assert {k: int(v["$bigint"]) if isinstance(v, dict) else v for k, v in got.items()} == data


# -- a failed publish after a queue handler is retried, and says why --------------------------


class RejectingProducer(native.ProducerStandIn):
    """A producer binding whose ``send`` Promise rejects (Queues answers a send with an error,
    e.g. "Too Many Requests" past the per-queue throughput, Queues limits page)."""

    async def _refuse(self) -> None:
        raise RuntimeError("Too Many Requests")

    def send(self, body: Any, **options: Any) -> Any:
        self.sent.append((body, options))
        return self._refuse()


def test_failed_publish_after_a_queue_handler_is_logged(capsys: pytest.CaptureFixture[str]) -> None:
    """The handler succeeded but what it published could not be sent: the message is retried
    (it must not be acked with its events lost), and the retry is not silent: one structured
    error line names the message (its id), the function and the send's error."""
    from cf_apps.echo import app

    env = env_for(app)
    env.producers[plan.binding_name("jobs")] = RejectingProducer("jobs")
    message = native.MessageStandIn(id="relay-1", body={"mode": "relay"})
    capsys.readouterr()
    asyncio.run(WorkerRuntime(app).queue(native.BatchStandIn("jobs", [message]), env, None))
    assert [op for op, _ in message.calls] == ["retry"]
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line[:1] == "{"]
    (line,) = [line for line in lines if line.get("invocation_id") == "relay-1"]
    assert line["level"] == "ERROR" and line["provider"] == "cloudflare"
    assert line["function"] == "job" and "Too Many Requests" in line["error"]


def test_the_dead_letter_line_names_the_function_and_the_events_ids(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The line saying a message went to the dead-letter queue had its message id and queue
    only: no function, invocation, event, trace or correlation id, which every line of its
    handler had, so a search on them missed the message's last line."""
    app = pf.App("dl")

    @app.queue("jobs", dead_letter="jobs-dlq")
    def work(event: pf.CloudEvent) -> None:
        raise pf.NonRetryable("never")

    event = pf.CloudEvent.create(type="t", source="/s", data={"x": 1}, extensions={
        "traceparent": "00-cccccccccccccccccccccccccccccccc-3333333333333333-01",
        "correlationid": "corr-DL"})
    from portable_fn.events import to_dict

    message = native.MessageStandIn(id="m-1", body=to_dict(event))
    asyncio.run(WorkerRuntime(app).queue(native.BatchStandIn("jobs", [message]), env_for(app),
                                         None))
    assert message.calls == [("ack", {})]
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    (moved,) = [x for x in lines if x["message"] == "dead-lettered message"]
    assert (moved["function"], moved["invocation_id"], moved["event_id"]) == (
        "work", "m-1", event.id)
    assert moved["correlation_id"] == "corr-DL" and moved["trace_id"] == "c" * 32
