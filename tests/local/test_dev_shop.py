"""examples/shop served by the real ``portable-fn dev`` (uvicorn, SQLite broker) on loopback."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path

from .devserver import SHOP, DevServer, run_cli


def _ok(server: DevServer, function: str, event_id: str) -> dict[str, object]:
    return server.wait_for(
        lambda r: (
            r.get("event") == "invocation"
            and r["function"] == function
            and r["id"] == event_id
            and r["outcome"] == "ok"
        )
    )


def test_order_fans_out_to_both_subscribers_and_the_queue_worker(
    dev: Callable[..., DevServer],
) -> None:
    server = dev()
    status, body = server.post_json("/orders", {"sku": "a"})
    assert status == 202
    event_id = body["event_id"]
    accepted = server.wait_for(lambda r: r.get("event") == "accepted" and r["id"] == event_id)
    assert accepted["kind"] == "topic" and accepted["name"] == "order-events"
    assert accepted["functions"] == ["notify_customer", "request_fulfilment"]
    for function in ("notify_customer", "request_fulfilment"):
        record = _ok(server, function, event_id)
        assert record["type"] == "com.example.order.created"
        assert record["attempt"] == 1
        assert record["trigger"] == "topic:order-events"
    sent = server.wait_for(lambda r: r.get("event") == "accepted" and r["kind"] == "queue")
    assert sent["name"] == "fulfilment" and sent["functions"] == ["fulfil"]
    fulfilled = _ok(server, "fulfil", sent["id"])
    assert fulfilled["type"] == "com.example.fulfilment.requested"
    # The order is readable through the other route, and HTTP invocations are printed.
    status, _, order = server.request("GET", f"/orders/{body['id']}")
    assert (status, order["sku"]) == (200, "a")
    server.wait_for(
        lambda r: r.get("event") == "http" and r["function"] == "get_order" and r["status"] == 200
    )


def test_poison_is_retried_with_growing_delays_then_dead_lettered_and_redriven(
    dev: Callable[..., DevServer],
    tmp_path: Path,
) -> None:
    server = dev()
    status, _ = server.post_json("/orders", {"sku": "poison"})
    assert status == 202
    dead = server.wait_for(lambda r: r.get("event") == "invocation" and r["outcome"] == "dead")
    assert dead["function"] == "fulfil" and dead["dlq"] == "fulfilment-dlq"
    assert "poison" in dead["error"]
    tries = [r for r in server.invocations("fulfil") if r["id"] == dead["id"]]
    assert [r["attempt"] for r in tries] == [1, 2, 3, 4]  # max_retries=3
    assert [r["outcome"] for r in tries] == ["retry", "retry", "retry", "dead"]
    caps = [r["backoff_s"] for r in tries[:3]]
    assert caps == sorted(caps) and len(set(caps)) == 3  # 1, 2, 4 s scaled by --time-scale
    assert all(0 <= r["delay_s"] <= r["backoff_s"] for r in tries[:3])
    starts = [r for r in server.records if r.get("event") == "start" and r["id"] == dead["id"]]
    gaps = [b["ts"] - a["ts"] for a, b in itertools.pairwise(starts)]
    assert all(gap >= r["delay_s"] * 0.9 for gap, r in zip(gaps, tries, strict=False))

    state = str(tmp_path / "state")
    listed = run_cli("dlq", SHOP, "--state-dir", state, "--json", "list")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert len(rows) == 1
    row = rows[0]
    assert (row["dlq"], row["function"], row["event_id"]) == (
        "fulfilment-dlq",
        "fulfil",
        dead["id"],
    )
    assert row["attempts"] == 4 and row["data"]["sku"] == "poison"
    text = run_cli("dlq", SHOP, "--state-dir", state, "list")
    assert "fulfilment-dlq" in text.stdout and dead["id"] in text.stdout

    redriven = run_cli("dlq", SHOP, "--state-dir", state, "redrive", str(row["id"]))
    assert redriven.returncode == 0, redriven.stderr
    # The running runtime picks the re-driven delivery up with a fresh attempt budget.
    again = server.wait_all(
        lambda r: r.get("event") == "invocation" and r["id"] == dead["id"] and r["attempt"] == 1, 2
    )
    assert again[-1]["function"] == "fulfil"
    server.wait_all(
        lambda r: (
            r.get("event") == "invocation" and r["id"] == dead["id"] and r["outcome"] == "dead"
        ),
        2,
    )
    unknown = run_cli("dlq", SHOP, "--state-dir", state, "redrive", "999")
    assert unknown.returncode == 1 and "999" in unknown.stderr  # the error alone, on stderr


def test_ingress_binary_structured_batch_and_bad_events(dev: Callable[..., DevServer]) -> None:
    server = dev()
    binary = {
        "ce-specversion": "1.0",
        "ce-id": "inv-1",
        "ce-source": "/billing",
        "ce-type": "com.example.invoice.paid",
        "content-type": "application/json",
    }
    status, _, body = server.request("POST", "/_pf/events", b'{"invoice": 1}', binary)
    assert status == 202 and body == {
        "id": "inv-1",
        "type": "com.example.invoice.paid",
        "functions": ["invoice_paid"],
    }
    structured = {
        "specversion": "1.0",
        "id": "inv-2",
        "source": "/billing",
        "type": "com.example.invoice.paid",
        "data": {"invoice": 2},
    }
    status, _, body = server.request(
        "POST",
        "/_pf/events",
        json.dumps(structured).encode(),
        {"content-type": "application/cloudevents+json; charset=utf-8"},
    )
    assert status == 202 and body["functions"] == ["invoice_paid"]
    batch = [dict(structured, id="inv-3"), {"specversion": "1.0", "source": "/x", "type": "t"}]
    status, _, body = server.request(
        "POST",
        "/_pf/events",
        json.dumps(batch).encode(),
        {"content-type": "application/cloudevents-batch+json"},
    )
    assert status == 202
    assert [a["id"] for a in body["accepted"]] == ["inv-3"]
    assert body["rejected"][0]["index"] == 1 and body["rejected"][0]["attribute"] == "id"
    for event_id in ("inv-1", "inv-2", "inv-3"):
        _ok(server, "invoice_paid", event_id)

    # Straight to one function, whatever its trigger: the queue worker here.
    direct = dict(
        structured,
        id="ord-9",
        type="com.example.fulfilment.requested",
        data={"id": "9", "sku": "b"},
    )
    status, _, body = server.request(
        "POST",
        "/_pf/events/fulfil",
        json.dumps(direct).encode(),
        {"content-type": "application/cloudevents+json"},
    )
    assert status == 202 and body["functions"] == ["fulfil"]
    _ok(server, "fulfil", "ord-9")

    bad = dict(binary)
    del bad["ce-source"]
    status, _, body = server.request("POST", "/_pf/events", b"{}", bad)
    assert status == 400 and body["error"]["attribute"] == "source"
    status, _, body = server.request(
        "POST", "/_pf/events/create_order", b"{}", dict(binary, **{"ce-id": "x"})
    )
    assert status == 404
    status, _, body = server.request("GET", "/_pf/events")
    assert status == 405


def test_http_errors_are_json_without_traceback(dev: Callable[..., DevServer]) -> None:
    server = dev()
    status, _, body = server.request("GET", "/nowhere")
    assert status == 404 and body["error"]["status"] == 404
    status, headers, body = server.request("DELETE", "/orders")
    assert status == 405 and "POST" in headers["allow"]
    status, _, body = server.request(
        "POST", "/orders", b"{not json", {"content-type": "application/json"}
    )
    assert status == 400 and "Traceback" not in json.dumps(body)
    status, _, body = server.request("GET", "/orders/unknown")
    assert status == 404
    status, _, health = server.request("GET", "/_pf/health")
    assert status == 200 and (health["status"], health["app"]) == ("ok", "shop")
    assert isinstance(health["deliveries"], dict)


def test_schedule_and_bucket_folder_fire(dev: Callable[..., DevServer], tmp_path: Path) -> None:
    server = dev(SHOP, "--run-schedules-on-start")
    fired = server.wait_for(
        lambda r: r.get("event") == "invocation" and r["function"] == "nightly_report"
    )
    assert fired["outcome"] == "ok" and fired["type"] == "portable-fn.schedule.fired"
    folder = tmp_path / "state" / "buckets" / "uploads"
    assert folder.is_dir()  # created at start for every @app.storage bucket
    (folder / "docs").mkdir()
    (folder / "docs" / "report.txt").write_bytes(b"hello")
    upload = server.wait_for(
        lambda r: r.get("event") == "invocation" and r["function"] == "on_upload"
    )
    assert upload["outcome"] == "ok"
    assert upload["type"] == "portable-fn.storage.object.created"
