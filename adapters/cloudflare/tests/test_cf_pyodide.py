# SPDX-License-Identifier: Apache-2.0
"""The generated Worker on real Pyodide (npm ``pyodide`` in Node) with Cloudflare's real
``workers`` SDK, driven with real JS ``Request`` objects, a ScheduledController and queue
batches whose ``ack``/``retry`` calls are recorded (issue #6, "Done means" 1 and 3)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from pyodide_worker import PyodideWorker, load_fixture

from portable_fn.events import from_dict


def body_json(reply: dict[str, Any]) -> Any:
    return json.loads(base64.b64decode(reply["body_b64"]))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- examples/shop ---------------------------------------------------------------------------


def test_shop_post_then_get_with_query(shop_worker: PyodideWorker) -> None:
    order = {"sku": "book-1", "id": "o-42", "qty": 2}
    created = shop_worker.call(
        "fetch",
        method="POST",
        url="https://shop.example.workers.dev/orders",
        headers=[["content-type", "application/json"]],
        body_b64=b64(json.dumps(order).encode()),
    )
    assert created["status"] == 202
    reply = body_json(created)
    assert reply["id"] == "o-42"
    # The topic fans out to one queue per subscriber, as structured CloudEvents.
    queues = sorted(s["queue"] for s in created["sent"])
    assert queues == [
        "shop--order-events--notify-customer", "shop--order-events--request-fulfilment"
    ]
    for sent in created["sent"]:
        assert sent["options"] == {"contentType": "json"}
        event = from_dict(sent["body"])
        assert event.id == reply["event_id"]
        assert event.type == "com.example.order.created"
        assert event.source == "/portable-fn/shop/create_order"
        assert event.data == order

    got = shop_worker.call(
        "fetch", method="GET", url="https://shop.example.workers.dev/orders/o-42?verbose=1&x=%20y"
    )
    assert got["status"] == 200
    assert body_json(got) == order


def test_shop_bad_json_is_400_and_unknown_route_404(shop_worker: PyodideWorker) -> None:
    bad = shop_worker.call(
        "fetch",
        method="POST",
        url="https://shop.example.workers.dev/orders",
        headers=[["content-type", "application/json"]],
        body_b64=b64(b"{not json"),
    )
    assert bad["status"] == 400
    assert body_json(bad)["error"]["status"] == 400
    missing = shop_worker.call("fetch", method="GET", url="https://shop.example.workers.dev/nope")
    assert missing["status"] == 404
    wrong = shop_worker.call(
        "fetch", method="DELETE", url="https://shop.example.workers.dev/orders"
    )
    assert wrong["status"] == 405


def test_shop_published_events_flow_through_their_queues(shop_worker: PyodideWorker) -> None:
    order = {"sku": "lamp", "id": "o-7"}
    created = shop_worker.call(
        "fetch",
        method="POST",
        url="https://shop.example.workers.dev/orders",
        headers=[["content-type", "application/json"]],
        body_b64=b64(json.dumps(order).encode()),
    )
    to_fulfilment = next(
        s for s in created["sent"] if s["queue"] == "shop--order-events--request-fulfilment"
    )
    # Deliver what was published, as Cloudflare would: a batch on that queue.
    batch = shop_worker.call(
        "queue",
        queue="shop--order-events--request-fulfilment",
        messages=[
            {"id": "m-1", "timestamp": 1732370400000, "attempts": 1, "body": to_fulfilment["body"]}
        ],
    )
    assert batch["calls"] == [{"id": "m-1", "op": "ack"}]
    (sent,) = batch["sent"]
    assert sent["queue"] == "fulfilment"
    fulfil_event = from_dict(sent["body"])
    assert fulfil_event.type == "com.example.fulfilment.requested"
    assert fulfil_event.data == order

    done = shop_worker.call(
        "queue",
        queue="fulfilment",
        messages=[{"id": "m-2", "timestamp": 1732370401000, "attempts": 1, "body": sent["body"]}],
    )
    assert done["calls"] == [{"id": "m-2", "op": "ack"}]


def test_shop_poison_message_retries_alone_with_growing_delay(shop_worker: PyodideWorker) -> None:
    delays = []
    for attempts in (1, 2, 3, 4):
        batch = shop_worker.call(
            "queue",
            queue="fulfilment",
            messages=[
                {
                    "id": "ok-1",
                    "timestamp": 1732370400000,
                    "attempts": 1,
                    "body": {"sku": "book", "id": "a"},
                },
                {
                    "id": "bad",
                    "timestamp": 1732370400000,
                    "attempts": attempts,
                    "body": {"sku": "poison", "id": "b"},
                },
                {
                    "id": "ok-2",
                    "timestamp": 1732370400000,
                    "attempts": 1,
                    "body": {"sku": "pen", "id": "c"},
                },
            ],
        )
        calls = {c["id"]: c for c in batch["calls"]}
        assert len(batch["calls"]) == 3  # each message settled exactly once
        assert calls["ok-1"]["op"] == calls["ok-2"]["op"] == "ack"
        assert calls["bad"]["op"] == "retry"
        delays.append(calls["bad"]["options"]["delaySeconds"])
    # Retry(initial_backoff=1): ceiling 2**(n-1) s, jittered within [ceiling/2, ceiling].
    for n, delay in enumerate(delays, start=1):
        ceiling = 2 ** (n - 1)
        assert max(1, ceiling // 2) <= delay <= ceiling
    assert delays[3] > delays[0]


def test_shop_scheduled_and_r2(shop_worker: PyodideWorker) -> None:
    ran = shop_worker.call("scheduled", cron="0 0 * * *", scheduledTime=1732320000000)
    assert ran["error"] is None
    r2 = load_fixture("r2_notifications.json")
    batch = shop_worker.call("queue", queue="shop--r2--uploads--on-upload", messages=r2["messages"])
    assert [c["op"] for c in batch["calls"]] == ["ack"] * len(r2["messages"])


def test_shop_entry_import_pulls_no_local_runtime(shop_worker: PyodideWorker) -> None:
    loaded = set(shop_worker.ready["entry_modules"])
    assert "portable_fn_cloudflare.runtime" in loaded
    assert not {m for m in loaded if m.startswith(("portable_fn._local", "portable_fn.cli"))}
    assert not {"sqlite3", "_sqlite3"} & loaded


# -- HTTP translation ------------------------------------------------------------------------


def test_get_with_query_headers_and_cookies(echo_worker: PyodideWorker) -> None:
    reply = echo_worker.call(
        "fetch",
        method="GET",
        url="https://echo.example.workers.dev/echo?a=1&b=two%20words&a=3&empty=",
        headers=[
            ["cookie", "session=abc; theme=dark"],
            ["cf-connecting-ip", "203.0.113.9"],
            ["x-multi", "one"],
            ["x-multi", "two"],
        ],
    )
    assert reply["status"] == 200
    got = body_json(reply)
    assert got["method"] == "GET" and got["path"] == "/echo"
    assert got["query"] == {"a": ["1", "3"], "b": ["two words"], "empty": [""]}
    assert got["cookies"] == {"session": "abc", "theme": "dark"}
    assert got["client_ip"] == "203.0.113.9"
    # JS Headers join a repeated request header with ", " (Fetch standard).
    assert got["x_multi"] == ["one, two"]


def test_post_json(echo_worker: PyodideWorker) -> None:
    payload = {"name": "Zoë", "n": [1, 2.5, None, True]}
    reply = echo_worker.call(
        "fetch",
        method="POST",
        url="https://echo.example.workers.dev/json",
        headers=[["content-type", "application/json; charset=utf-8"]],
        body_b64=b64(json.dumps(payload, ensure_ascii=False).encode()),
    )
    assert reply["status"] == 201
    assert body_json(reply) == {"got": payload}
    assert dict(reply["headers"])["content-type"].startswith("application/json")


def test_binary_body_round_trips_intact(echo_worker: PyodideWorker) -> None:
    data = bytes(range(256)) * 4 + b"\x00\xff\xfe"
    reply = echo_worker.call(
        "fetch",
        method="POST",
        url="https://echo.example.workers.dev/bytes",
        headers=[["content-type", "application/octet-stream"]],
        body_b64=b64(data),
    )
    assert reply["status"] == 200
    assert base64.b64decode(reply["body_b64"]) == data[::-1]
    assert dict(reply["headers"])["content-type"] == "application/octet-stream"


def test_set_cookies_stay_separate_and_204_has_no_body(echo_worker: PyodideWorker) -> None:
    reply = echo_worker.call("fetch", method="GET", url="https://echo.example.workers.dev/cookies")
    assert reply["status"] == 204
    assert reply["body_b64"] == ""
    assert [v for k, v in reply["headers"] if k == "set-cookie"] == ["a=1; Path=/", "b=2"]


def test_set_cookies_go_out_apart_in_order_and_two_cookie_lines_come_in(
    echo_worker: PyodideWorker,
) -> None:
    """``Headers.append`` keeps each Set-Cookie its own field, in order, byte for byte
    (https://developers.cloudflare.com/workers/runtime-apis/headers/, "Differences"); any other
    repeated header is read back joined with ", " (the Fetch standard's combined value). Two
    Cookie lines reach the handler as that one joined value, and ``cookies`` splits it."""
    reply = echo_worker.call(
        "fetch", method="GET", url="https://echo.example.workers.dev/cookies/many"
    )
    assert reply["status"] == 200
    assert [v for k, v in reply["headers"] if k == "set-cookie"] == [
        "sid=abc; Path=/; Secure; HttpOnly; SameSite=None; Partitioned",
        "theme=dark; Expires=Wed, 21 Oct 2026 07:28:00 GMT",
        "sid=; Path=/old; Max-Age=0",
    ]
    assert dict(reply["headers"])["link"] == "</a.css>; rel=preload, </b.js>; rel=preload"
    got = body_json(echo_worker.call(
        "fetch",
        method="GET",
        url="https://echo.example.workers.dev/echo",
        headers=[["cookie", "sid=abc; theme=dark"], ["cookie", "lang=en"]],
    ))
    assert got["cookies"] == {"sid": "abc", "theme": "dark", "lang": "en"}


def test_handler_exception_is_json_500_without_traceback(echo_worker: PyodideWorker) -> None:
    reply = echo_worker.call("fetch", method="GET", url="https://echo.example.workers.dev/boom")
    assert reply["status"] == 500
    text = base64.b64decode(reply["body_b64"]).decode()
    assert json.loads(text)["error"]["status"] == 500
    assert "Traceback" not in text and "secret internal detail" not in text


def test_async_handler_publish_and_delayed_send(echo_worker: PyodideWorker) -> None:
    reply = echo_worker.call(
        "fetch",
        method="POST",
        url="https://echo.example.workers.dev/publish",
        headers=[["content-type", "application/json"]],
        body_b64=b64(b'{"k": 1}'),
    )
    assert reply["status"] == 202
    by_queue = {s["queue"]: s for s in reply["sent"]}
    assert set(by_queue) == {"echo--things--on-thing", "echo--things--audit-thing", "jobs"}
    assert by_queue["jobs"]["options"] == {"contentType": "json", "delaySeconds": 30}
    assert from_dict(by_queue["echo--things--on-thing"]["body"]).id == body_json(reply)["id"]


def test_publish_keeps_integers_beyond_js_safe_range(echo_worker: PyodideWorker) -> None:
    """An event whose data holds an integer past 2**53 (a 64-bit id, say a snowflake) crosses
    to JS as a BigInt, which ``contentType: "json"`` cannot carry: workerd's ``WorkerQueue::send``
    serializes json bodies with ``JSON.stringify`` and throws on a BigInt (workerd
    ``src/workerd/api/queue.c++``, ``serialize``). Such an event goes out as ``v8``, which
    carries it exactly (https://developers.cloudflare.com/queues/configuration/javascript-apis/#queuescontenttype),
    instead of failing the request; an ordinary one still goes out as ``json``."""
    big = 2**60 + 1
    reply = echo_worker.call(
        "fetch",
        method="POST",
        url="https://echo.example.workers.dev/publish",
        headers=[["content-type", "application/json"]],
        body_b64=b64(json.dumps({"user_id": big}).encode()),
    )
    assert reply["status"] == 202, body_json(reply)
    by_queue = {s["queue"]: s for s in reply["sent"]}
    sent = by_queue["echo--things--on-thing"]
    assert sent["options"] == {"contentType": "v8"}
    assert sent["body"]["data"] == {"user_id": {"$bigint": str(big)}}
    assert by_queue["jobs"]["options"] == {"contentType": "json", "delaySeconds": 30}
    # Delivered, the v8 body is the same event with the same integer.
    body_js = json.dumps(sent["body"]).replace(json.dumps({"$bigint": str(big)}), f"{big}n")
    delivered = echo_worker.call(
        "queue",
        queue="mirror",
        messages=[{"id": "big", "timestamp": 1732370400000, "attempts": 1, "body_js": body_js}],
    )
    assert delivered["calls"] == [{"id": "big", "op": "ack"}]
    assert from_dict(delivered["sent"][0]["body"]).data["data"] == {"user_id": {"$int": str(big)}}


def test_emit_routes_by_type_to_the_event_functions_queue(echo_worker: PyodideWorker) -> None:
    reply = echo_worker.call(
        "fetch",
        method="POST",
        url="https://echo.example.workers.dev/emit",
        headers=[["content-type", "application/json"]],
        body_b64=b64(b'{"n": 3}'),
    )
    assert reply["status"] == 202
    (sent,) = reply["sent"]  # the other type matches no @app.event function
    assert sent["queue"] == "echo--events--thing-event"
    event = from_dict(sent["body"])
    assert event.id == body_json(reply)["id"] and event.data == {"n": 3}
    delivered = echo_worker.call(
        "queue",
        queue="echo--events--thing-event",
        messages=[{"id": "e", "timestamp": 1732370400000, "attempts": 1, "body": sent["body"]}],
    )
    assert delivered["calls"] == [{"id": "e", "op": "ack"}]


# -- queues ----------------------------------------------------------------------------------


def test_documented_body_variants_become_events(echo_worker: PyodideWorker) -> None:
    fixture = load_fixture("queue_bodies.json")
    batch = echo_worker.call("queue", queue="jobs", messages=fixture["messages"])
    assert [c["op"] for c in batch["calls"]] == ["ack"] * len(fixture["messages"])
    assert batch["error"] is None


def test_bytes_body_arrives_as_bytes(echo_worker: PyodideWorker) -> None:
    batch = echo_worker.call(
        "queue",
        queue="blobs",
        messages=[
            {"id": "b", "timestamp": 1732370400000, "attempts": 1, "body_b64": "AAH/"},
            {"id": "other", "timestamp": 1732370400000, "attempts": 1, "body_b64": "AAE="},
        ],
    )
    assert [(c["id"], c["op"]) for c in batch["calls"]] == [("b", "ack"), ("other", "retry")]


def test_non_retryable_goes_to_dlq_without_spending_retries(echo_worker: PyodideWorker) -> None:
    fatal = {"mode": "fatal"}
    broken = {"specversion": "1.0", "id": "x", "source": "/s"}  # structured, but no type
    batch = echo_worker.call(
        "queue",
        queue="jobs",
        messages=[
            {"id": "f", "timestamp": 1732370400000, "attempts": 1, "body": fatal},
            {"id": "ok", "timestamp": 1732370400000, "attempts": 1, "body": {"mode": "fine"}},
            {"id": "broken", "timestamp": 1732370400000, "attempts": 1, "body": broken},
        ],
    )
    assert batch["calls"] == [
        {"id": "f", "op": "ack"},
        {"id": "ok", "op": "ack"},
        {"id": "broken", "op": "ack"},
    ]
    assert [(s["queue"], s["body"]) for s in batch["sent"]] == [
        ("jobs-dlq", fatal),
        ("jobs-dlq", broken),
    ]


def test_publish_inside_a_queue_handler_is_sent_before_ack(echo_worker: PyodideWorker) -> None:
    batch = echo_worker.call(
        "queue",
        queue="jobs",
        messages=[
            {"id": "r", "timestamp": 1732370400000, "attempts": 1, "body": {"mode": "relay"}}
        ],
    )
    assert batch["calls"] == [{"id": "r", "op": "ack"}]
    (sent,) = batch["sent"]
    assert sent["queue"] == "jobs" and from_dict(sent["body"]).data == {"relayed": True}


def test_topic_subscriber_failure_retries_only_that_subscriber(echo_worker: PyodideWorker) -> None:
    body = {
        "specversion": "1.0",
        "id": "t-1",
        "source": "/x",
        "type": "com.example.thing.made",
        "datacontenttype": "application/json",
        "data": {"fail": True},
    }
    failing = echo_worker.call(
        "queue",
        queue="echo--things--on-thing",
        messages=[{"id": "a", "timestamp": 1732370400000, "attempts": 1, "body": body}],
    )
    fine = echo_worker.call(
        "queue",
        queue="echo--things--audit-thing",
        messages=[{"id": "b", "timestamp": 1732370400000, "attempts": 1, "body": body}],
    )
    assert failing["calls"][0]["op"] == "retry"
    assert fine["calls"] == [{"id": "b", "op": "ack"}]


def test_r2_filters_and_failures(echo_worker: PyodideWorker) -> None:
    def note(key: str, action: str = "PutObject") -> dict[str, Any]:
        obj: dict[str, Any] = {"key": key}
        if action != "DeleteObject":
            obj.update(size=10, eTag="e")
        return {
            "account": "acc",
            "action": action,
            "bucket": "media",
            "object": obj,
            "eventTime": "2024-05-24T19:36:44.379Z",
        }

    batch = echo_worker.call(
        "queue",
        queue="echo--r2--media--media",
        messages=[
            {"id": "1", "timestamp": 1, "attempts": 1, "body": note("in/a.png")},
            {"id": "2", "timestamp": 1, "attempts": 1, "body": note("out/skip.png")},
            {"id": "3", "timestamp": 1, "attempts": 1, "body": note("in/a.png", "DeleteObject")},
            {"id": "4", "timestamp": 1, "attempts": 1, "body": note("in/x.bad")},
            {"id": "5", "timestamp": 1, "attempts": 1, "body": {"not": "r2"}},
        ],
    )
    ops = {c["id"]: c["op"] for c in batch["calls"]}
    assert ops == {"1": "ack", "2": "ack", "3": "ack", "4": "retry", "5": "ack"}
    # The undecodable one went to the consumer's dead-letter queue, unchanged.
    assert batch["sent"] == [
        {
            "queue": "echo--r2--media--media-dlq",
            "body": {"not": "r2"},
            "options": {"contentType": "json"},
        }
    ]


def test_scheduled_runs_the_cron_and_reports_failure(echo_worker: PyodideWorker) -> None:
    ok = echo_worker.call("scheduled", cron="*/5 * * * *", scheduledTime=1732370400000)
    assert ok["error"] is None
    # 2024-11-23T14:13:00Z: the handler raises for minute 13.
    failed = echo_worker.call("scheduled", cron="*/5 * * * *", scheduledTime=1732371180000)
    assert failed["error"] is not None and "unlucky minute" in failed["error"]


def test_unknown_queue_is_retried_not_lost(echo_worker: PyodideWorker) -> None:
    batch = echo_worker.call(
        "queue",
        queue="nobody-consumes-this",
        messages=[{"id": "z", "timestamp": 1, "attempts": 1, "body": "x"}],
    )
    assert batch["calls"] == [{"id": "z", "op": "retry", "options": {}}]


# -- the core under Pyodide (Done means 3) -----------------------------------------------------


@pytest.fixture(scope="module")
def bare_worker(sdk_dir: Any, shop_dist: Any) -> Any:
    worker = PyodideWorker(sdk_dir, shop_dist, entry=None)
    yield worker
    worker.close()


def test_core_imports_and_dispatches_under_pyodide(bare_worker: PyodideWorker) -> None:
    """The core imports and dispatches under Pyodide without loading what Workers cannot run
    (subprocesses, sqlite, the local runtime), and starts no thread while it runs.
    The modules are recorded before anything else is imported, so the check can see the core
    load any of them."""
    code = """
import sys
before = set(sys.modules)
import portable_fn as pf
import portable_fn.adapter, portable_fn.app, portable_fn.events, portable_fn.http
import portable_fn.triggers, portable_fn.errors, portable_fn.testing
loaded = sorted(set(sys.modules) - before)

app = pf.App("probe")
seen = []

@app.http("/p/{x}", methods=["GET"])
def p(req):
    return {"x": req.path_params["x"]}

@app.queue("probe-q")
async def q(event):
    seen.append(event.data)

from portable_fn.adapter import Context, dispatch_http_async, dispatch_event_async
ctx = Context(provider="cloudflare", function_name="p", invocation_id="1")
resp = await dispatch_http_async(app, pf.Request(method="GET", path="/p/7"), ctx)
event = pf.CloudEvent(id="1", source="/s", type="t", data=5)
out = await dispatch_event_async(app, "q", event, ctx)
after = sorted(set(sys.modules) - before)  # what dispatching loaded too
# The worker itself may have loaded some of them before `before`: a core module that imports
# one holds it as a global. (threading is no such module: logging imports it, and Pyodide has
# it; starting a thread is what Workers cannot do, which "threads" checks.)
held = sorted(
    f"{name}.{attr}"
    for name in after if name.startswith("portable_fn")
    for attr, value in vars(sys.modules[name]).items()
    if type(value) is type(sys) and value.__name__ in ("subprocess", "sqlite3", "multiprocessing")
)
threading = sys.modules.get("threading")
{"loaded": loaded, "after": after, "held": held, "status": resp.status,
 "body": resp.body.decode(), "ok": out.ok, "seen": seen,
 "threads": threading.active_count() if threading is not None else 1}
"""
    result = bare_worker.call("exec", code=code)["result"]
    assert result["status"] == 200 and json.loads(result["body"]) == {"x": "7"}
    assert result["ok"] is True and result["seen"] == [5]
    assert result["threads"] == 1
    unrunnable = {"subprocess", "sqlite3", "_sqlite3", "multiprocessing"}
    assert not unrunnable & set(result["loaded"])
    assert not [m for m in result["after"] if m.startswith("portable_fn._local")]
    assert not {"subprocess", "sqlite3", "_sqlite3", "multiprocessing"} & set(result["after"])
    assert result["held"] == []


# -- the Worker's env --------------------------------------------------------------------------


def test_vars_and_secrets_in_os_environ_and_bindings_through_env(
    sdk_dir: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A secret (a string in ``env``, https://developers.cloudflare.com/workers/configuration/
    secrets/) is in ``os.environ``; a JSON var is not; a KV binding
    (https://developers.cloudflare.com/kv/api/read-key-value-pairs/) is reached through
    ``portable_fn_cloudflare.env()``, the SDK's wrapper returning Python values."""
    from conftest import package_app

    dist = package_app("cf_apps.env_app:app", tmp_path_factory.mktemp("envs") / "cloudflare")
    worker = PyodideWorker(
        sdk_dir,
        dist,
        vars={"API_TOKEN": "t0ken", "CONFIG": {"nested": 1}},
        kv={"SETTINGS": {"theme": "dark"}},
    )
    try:
        reply = worker.call("fetch", method="GET", url="https://e.example.workers.dev/settings/theme")
        assert reply["status"] == 200, worker.logs()
        assert body_json(reply) == {"secret": "t0ken", "json_var_in_environ": False, "kv": "dark"}
    finally:
        worker.close()
