# SPDX-License-Identifier: Apache-2.0
"""Values that cross from JS in a queue message body reach the handler as plain JSON-shaped
Python (dict, list, str, int, float, bool, None; bytes for binary; aware UTC datetimes).

A producer sending with ``contentType: "v8"`` keeps any structured-clone value: ``Map``, ``Set``,
``Date``, ``ArrayBuffer`` and typed arrays, ``BigInt``, wrapper objects, ``RegExp``, ``Error``,
``null`` and ``undefined`` at any depth
(https://developers.cloudflare.com/queues/configuration/javascript-apis/#queuescontenttype;
the serializable types: https://developer.mozilla.org/en-US/docs/Web/API/Web_Workers_API/Structured_clone_algorithm#supported_types).
The ``workers`` SDK converts the body with Pyodide's ``to_py`` (workers-runtime-sdk
``workers/rpc.py``, ``python_from_rpc``), which leaves a ``Set`` as a Python ``set``, a ``null``
inside a ``Set`` or as a ``Map`` key as Pyodide's ``jsnull``, wrapper objects and ``RegExp`` as
JsProxies and an ``Error`` as an ``Exception``: none of which another provider ever hands a
handler, and which ``pf.publish`` cannot encode. The body runs through the real SDK on Pyodide.
"""

from __future__ import annotations

import base64
from typing import Any

from pyodide_worker import PyodideWorker

from portable_fn.events import from_dict

T0 = 1732370400000  # 2024-11-23T14:00:00Z

STRUCTURED_CLONE_BODY = """({
  counts: new Map([["a", 1], [2, "two"]]),
  tags: new Set([3, 1, null]),
  raw: new Uint8Array([0, 1, 255]),
  buf: new Uint16Array([1]).buffer,
  big: 12345678901234567890n,
  when: new Date(Date.UTC(2024, 0, 1)),
  nested: {a: null, b: undefined, c: [null, undefined, new Map([["k", new Set([null])]])]},
  wrapped: [new String("s"), new Boolean(false), new Number(2), /re/g],
  err: new Error("boom"),
})"""


def mirrored(worker: PyodideWorker, *bodies_js: str) -> list[dict[str, Any]]:
    reply = worker.call(
        "queue",
        queue="mirror",
        messages=[
            {"id": f"m-{n}", "timestamp": T0, "attempts": 1, "body_js": body}
            for n, body in enumerate(bodies_js)
        ],
    )
    assert reply["error"] is None
    assert [c["op"] for c in reply["calls"]] == ["ack"] * len(bodies_js)
    return [from_dict(s["body"]).data for s in reply["sent"]]


def test_structured_clone_values_arrive_as_plain_python(echo_worker: PyodideWorker) -> None:
    (got,) = mirrored(echo_worker, STRUCTURED_CLONE_BODY)
    assert got["content_type"] == "application/json"
    data = got["data"]
    tags = data.pop("tags")
    assert isinstance(tags, list) and sorted(tags, key=str) == [1, 3, None]  # a Set: no order
    assert data == {
        "counts": {"a": 1, "2": "two"},
        "raw": {"$bytes": base64.b64encode(b"\x00\x01\xff").decode()},
        "buf": {"$bytes": base64.b64encode(b"\x01\x00").decode()},
        "big": {"$int": "12345678901234567890"},
        "when": {"$time": "2024-01-01T00:00:00+00:00"},
        "nested": {"a": None, "b": None, "c": [None, None, {"k": [None]}]},
        "wrapped": ["s", False, 2, "/re/g"],
        "err": "Error: boom",
    }


def test_top_level_set_and_map_bodies(echo_worker: PyodideWorker) -> None:
    """A body that is itself a ``Set`` or a ``Map`` (keys other than strings become their JS
    property-key text, as ``Object.fromEntries`` writes them)."""
    got = mirrored(
        echo_worker, "new Set([7])", 'new Map([[1, "one"], [null, "nothing"], [2.5, "half"]])'
    )
    assert got == [
        {"content_type": "application/json", "data": [7]},
        {
            "content_type": "application/json",
            "data": {"1": "one", "null": "nothing", "2.5": "half"},
        },
    ]


def test_top_level_wrapper_error_and_regexp_bodies(echo_worker: PyodideWorker) -> None:
    """A v8 body that is itself an ``Error``, a ``RegExp`` or a wrapper object. The SDK hands
    such a top-level value over inside its own ``_BindingWrapper`` (``Message.body`` is read
    through the batch's wrapper, workers-runtime-sdk ``workers/rpc.py``), not as the bare
    JsProxy a nested one is: it reaches the handler as the same text or primitive a nested
    one does, never as the wrapper's Python repr."""
    got = mirrored(
        echo_worker,
        'new Error("boom")',
        'new TypeError("bad")',
        "/re/g",
        'new String("s")',
        "new Boolean(false)",
        "new Number(2)",
        "12345678901234567890n",
    )
    assert [g["data"] for g in got] == [
        "Error: boom",
        "TypeError: bad",
        "/re/g",
        "s",
        False,
        2,
        {"$int": "12345678901234567890"},
    ]


def test_objects_with_a_constructor_key_keep_their_data(echo_worker: PyodideWorker) -> None:
    """``{"constructor": ...}`` is legal JSON and a legal structured-clone object (Queues
    contentTypes json and v8, https://developers.cloudflare.com/queues/configuration/javascript-apis/#queuescontenttype),
    but the SDK's converter reads ``value.constructor.name`` (workers-runtime-sdk
    ``workers/rpc.py``), which such an own property shadows: it raised AttributeError, which
    Python took for "the message has no ``body``", and the handler got ``None`` (acked, its data
    lost). The body reaches the handler whole, at the top level and nested, Dates included."""
    got = mirrored(
        echo_worker,
        "{constructor: 2, b: 1}",
        '{outer: {constructor: "c", list: [{constructor: {name: "n"}}]}}',
        '{constructor: "x", when: new Date(Date.UTC(2024, 0, 1)), tags: new Map([["k", 1]])}',
    )
    assert [g["data"] for g in got] == [
        {"constructor": 2, "b": 1},
        {"outer": {"constructor": "c", "list": [{"constructor": {"name": "n"}}]}},
        {"constructor": "x", "when": {"$time": "2024-01-01T00:00:00+00:00"}, "tags": {"k": 1}},
    ]
    assert {g["content_type"] for g in got} == {"application/json"}
