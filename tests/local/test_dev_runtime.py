"""The real runtime on tests/local/apps/slow.py: nothing accepted is lost across SIGKILL, FIFO
and stream order, non-retryable failures, the ASGI translation, storage filters.

The kill window is made deterministic by the runtime's documented test hook
``PORTABLE_FN_DELIVERY_DELAY`` (seconds the delivery loop waits after start; accepting and
committing events still works meanwhile), and by a handler that blocks on its first attempt.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .devserver import SHOP, SLOW, DevServer, run_cli


def test_sigkill_between_accept_and_delivery_then_restart_delivers_everything(
    dev: Callable[..., DevServer],
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    first = dev(SHOP, env={"PORTABLE_FN_DELIVERY_DELAY": "600"}, state=state)
    orders = []
    for sku in ("a", "b", "c"):
        status, body = first.post_json("/orders", {"sku": sku})
        assert status == 202
        orders.append(body["event_id"])
    status, _, _ = first.request(
        "POST",
        "/_pf/events",
        b'{"invoice": 7}',
        {
            "ce-specversion": "1.0",
            "ce-id": "inv-7",
            "ce-source": "/billing",
            "ce-type": "com.example.invoice.paid",
            "content-type": "application/json",
        },
    )
    assert status == 202
    assert not [r for r in first.records if r.get("event") in ("start", "invocation")]
    first.kill()

    second = dev(SHOP, state=state)
    fanned_out = second.wait_all(
        lambda r: (
            r.get("event") == "invocation"
            and r["function"] in ("notify_customer", "request_fulfilment")
            and r["outcome"] == "ok"
        ),
        6,
    )
    assert {(r["function"], r["id"]) for r in fanned_out} == {
        (f, e) for f in ("notify_customer", "request_fulfilment") for e in orders
    }
    fulfilled = second.wait_all(
        lambda r: (
            r.get("event") == "invocation" and r["function"] == "fulfil" and r["outcome"] == "ok"
        ),
        3,
    )
    assert len({r["id"] for r in fulfilled}) == 3
    second.wait_for(
        lambda r: r.get("event") == "invocation" and r["id"] == "inv-7" and r["outcome"] == "ok"
    )


def test_delivery_in_flight_when_killed_is_retried_with_the_attempt_counted(
    dev: Callable[..., DevServer],
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    first = dev(SLOW, state=state)
    status, body = first.post_json("/work", {"n": 1})
    assert status == 202
    first.wait_for(lambda r: r.get("event") == "start" and r["id"] == body["id"])
    first.kill()  # the handler is sleeping in attempt 1

    second = dev(SLOW, state=state)
    second.wait_for(lambda r: r.get("event") == "recovered" and r["deliveries"] == 1)
    done = second.wait_for(lambda r: r.get("event") == "invocation" and r["id"] == body["id"])
    assert (done["outcome"], done["attempt"]) == ("ok", 2)


def test_a_blocking_sync_handler_does_not_block_the_loop(dev: Callable[..., DevServer]) -> None:
    server = dev(SLOW)
    held: dict[str, float] = {}

    def call_hold() -> None:
        _, _, body = server.request("GET", "/hold")
        held.update(body)

    thread = threading.Thread(target=call_hold)
    thread.start()
    # Each of these answers comes from the event loop while the sync handler is blocked in
    # the pool, and it stays blocked until released: a stalled loop would never answer (the
    # request times out and the test fails), however long a loaded machine takes.
    deadline = time.monotonic() + 30
    while not server.request("GET", "/holding")[2]["holding"]:
        assert time.monotonic() < deadline, "the sync handler never started"
        time.sleep(0.01)
    status, _, fast = server.request("GET", "/fast")
    assert status == 200 and thread.is_alive()
    assert server.request("POST", "/release")[0] == 200
    thread.join(30)
    assert held["released"] is True and held["done"] > fast["done"]


def test_sync_handlers_stuck_past_their_timeout_leave_room_for_the_others(
    dev: Callable[..., DevServer],
) -> None:
    """A sync handler past its timeout cannot be stopped (Python cannot stop a thread): it runs
    on, and the pool adds a thread in its place. Before, each one kept a thread of a pool shared
    by HTTP and deliveries (min(32, cpus + 4) threads): once that many were stuck, every sync
    route answered 504 and every sync delivery failed HandlerTimeout, never having started,
    until it was dead-lettered. 48 stuck requests are more than the HTTP pool's 40 threads."""
    server = dev(SLOW, "--timeout", "3")
    stuck: list[int] = []

    def call_stuck() -> None:
        stuck.append(server.request("GET", "/stuck")[0])

    clients = [threading.Thread(target=call_stuck) for _ in range(48)]
    try:
        for client in clients:
            client.start()
        for client in clients:
            client.join(60)
        # Each ran past its 3 s (504), or found no thread free within it and did not run (503).
        assert len(stuck) == 48 and set(stuck) <= {503, 504}, stuck
        assert stuck.count(504) >= 40
        status, _, body = server.request("GET", "/ping")
        assert (status, body) == (200, {"pong": True})
        status, _, accepted = server.request(
            "POST", "/_pf/queues/tally", b'{"n": 1}', {"content-type": "application/json"}
        )
        assert status == 202
        done = server.wait_for(
            lambda r: r.get("event") == "invocation" and r["id"] == accepted["id"], timeout=30
        )
        assert (done["outcome"], done["attempt"]) == ("ok", 1), done
    finally:
        server.request("POST", "/unstick")


def test_storage_filter_and_changes_made_while_down(
    dev: Callable[..., DevServer],
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    folder = tmp_path / "buckets"
    first = dev(SLOW, "--bucket-dir", str(folder), state=state)
    (folder / "inbox" / "a.csv").write_text("1,2\n")
    (folder / "inbox" / "skip.txt").write_text("not csv\n")
    created = first.wait_for(lambda r: r.get("event") == "invocation" and r["function"] == "inbox")
    assert created["type"] == "portable-fn.storage.object.created"
    first.stop()
    (folder / "inbox" / "a.csv").unlink()  # while the runtime is down
    second = dev(SLOW, "--bucket-dir", str(folder), state=state)
    deleted = second.wait_for(lambda r: r.get("event") == "invocation" and r["function"] == "inbox")
    assert deleted["type"] == "portable-fn.storage.object.deleted"
    # skip.txt never fires (suffix filter): once the watcher has recorded it, no message for it
    # is in the broker, where a fired event is committed with the snapshot row in one
    # transaction (a condition to wait for, not a fixed sleep).
    broker = state / "broker.sqlite3"
    deadline = time.monotonic() + 30
    while not _objects(broker, "skip.txt"):
        assert time.monotonic() < deadline, "the watcher never recorded skip.txt"
        time.sleep(0.02)
    with sqlite3.connect(broker) as db:
        rows = db.execute("SELECT event FROM messages WHERE kind = 'storage' ORDER BY id")
        fired = [json.loads(event) for (event,) in rows]
    assert [(e["subject"], e["data"]["action"]) for e in fired] == [
        ("a.csv", "created"),
        ("a.csv", "deleted"),
    ]
    assert len(second.invocations("inbox")) == 1


def _objects(broker: Path, key: str) -> list[tuple[str]]:
    with sqlite3.connect(broker) as db:
        return db.execute("SELECT key FROM objects WHERE key = ?", (key,)).fetchall()


def test_non_retryable_dead_letters_at_once(dev: Callable[..., DevServer]) -> None:
    server = dev(SLOW)
    status, _, body = server.request(
        "POST",
        "/_pf/queues/strict",
        b'{"n": 1}',
        {
            "ce-specversion": "1.0",
            "ce-id": "s-1",
            "ce-source": "/t",
            "ce-type": "test.strict",
            "content-type": "application/json",
        },
    )
    assert status == 202 and body["functions"] == ["strict"]
    dead = server.wait_for(lambda r: r.get("event") == "invocation" and r["id"] == "s-1")
    assert (dead["outcome"], dead["attempt"], dead["dlq"]) == ("dead", 1, "strict-dlq")
    assert dead["non_retryable"] is True and "malformed order" in dead["error"]
    # strict-dlq has a consumer: the dead letter reaches it too, same event id.
    forwarded = server.wait_for(
        lambda r: r.get("event") == "invocation" and r["function"] == "strict_dead_letters"
    )
    assert (forwarded["id"], forwarded["outcome"]) == ("s-1", "ok")


def test_a_second_runtime_on_the_same_state_is_refused(
    dev: Callable[..., DevServer], tmp_path: Path
) -> None:
    dev(SLOW, state=tmp_path / "state")
    second = run_cli("dev", SLOW, "--port", "0", "--state-dir", str(tmp_path / "state"))
    assert second.returncode == 2 and "another portable-fn dev" in second.stderr


def test_fifo_queue_delivers_in_order_through_a_retry(dev: Callable[..., DevServer]) -> None:
    server = dev(SLOW)
    for n in (1, 2):
        status, _, _ = server.request(
            "POST",
            "/_pf/queues/ordered",
            json.dumps({"n": n}).encode(),
            {
                "ce-specversion": "1.0",
                "ce-id": f"f-{n}",
                "ce-source": "/t",
                "ce-type": "test.ordered",
                "content-type": "application/json",
            },
        )
        assert status == 202
    done = server.wait_all(
        lambda r: r.get("event") == "invocation" and r["function"] == "ordered", 3
    )
    assert [(r["id"], r["outcome"]) for r in done] == [
        ("f-1", "retry"),
        ("f-1", "ok"),
        ("f-2", "ok"),
    ]


def test_http_translation_keeps_bytes_params_cookies_and_repeated_headers(
    dev: Callable[..., DevServer],
) -> None:
    import http.client

    server = dev(SLOW)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    body = bytes(range(256))
    conn.request(
        "POST",
        "/echo/a/b%20c?tag=x&tag=y",
        body=body,
        headers={"Cookie": "sid=abc; theme=dark", "X-Agent": "test"},
    )
    resp = conn.getresponse()
    assert resp.status == 201
    assert resp.read() == bytes(reversed(body))
    meta = json.loads(resp.getheader("x-meta") or "{}")
    assert meta == {
        "rest": "a/b c",
        "tags": ["x", "y"],
        "agent": "test",
        "cookies": {"sid": "abc", "theme": "dark"},
        "client": "127.0.0.1",
    }
    assert [v for k, v in resp.getheaders() if k.lower() == "set-cookie"] == [
        "a=1; Path=/",
        "b=2; HttpOnly",
    ]
    conn.close()


def test_stream_records_reach_the_consumer_in_order(dev: Callable[..., DevServer]) -> None:
    server = dev(SLOW)
    for n in range(5):
        status, _, body = server.request(
            "POST",
            "/_pf/streams/clicks",
            json.dumps({"n": n}).encode(),
            {
                "ce-specversion": "1.0",
                "ce-id": f"c-{n}",
                "ce-source": "/web",
                "ce-type": "test.click",
                "content-type": "application/json",
            },
        )
        assert status == 202 and body["functions"] == ["clicks"]
    done = server.wait_all(
        lambda r: r.get("event") == "invocation" and r["function"] == "clicks", 5
    )
    assert [r["id"] for r in done] == [f"c-{n}" for n in range(5)]
    assert all(r["trigger"] == "stream:clicks" and r["outcome"] == "ok" for r in done)
