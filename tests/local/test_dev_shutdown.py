"""``portable-fn dev`` stopping (SIGINT, SIGTERM) with work in flight, on the real server and
tests/local/apps/slow.py: what a client still waiting gets, and what the terminal shows."""

from __future__ import annotations

import http.client
import json
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

from .devserver import SLOW, DevServer


def _held(server: DevServer) -> None:
    """Wait until the sync ``/hold`` handler is running (stuck in the pool until released)."""
    deadline = time.monotonic() + 30
    while not server.request("GET", "/holding")[2]["holding"]:
        assert time.monotonic() < deadline, "the sync handler never started"
        time.sleep(0.01)


def test_a_request_in_flight_at_shutdown_gets_a_json_503(dev: Callable[..., DevServer]) -> None:
    """uvicorn cancels the requests still running when its shutdown grace ends, and answered
    them its own plain-text 500, with the cancellation's traceback in the terminal: the client
    gets a JSON 503 that closes the connection, and the terminal one line naming the request."""
    server = dev(SLOW)
    answer: dict[str, Any] = {}

    def call_hold() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        conn.request("GET", "/hold")
        resp = conn.getresponse()
        answer.update(status=resp.status, headers=dict(resp.getheaders()), body=resp.read())
        conn.close()

    client = threading.Thread(target=call_hold)
    client.start()
    _held(server)
    server.proc.send_signal(signal.SIGINT)
    client.join(60)
    server.proc.wait(60)
    assert answer["status"] == 503, answer
    assert answer["headers"].get("connection") == "close"
    assert answer["headers"].get("content-type") == "application/json"
    error = json.loads(answer["body"])["error"]
    assert error["status"] == 503 and "shutting down" in error["message"]
    [record] = [r for r in server.records if r.get("event") == "http" and r["path"] == "/hold"]
    assert (record["status"], record["function"]) == (503, "hold")
    assert not [line for line in server.lines if "Traceback" in line]


def test_a_stop_claims_nothing_more_and_gives_requests_and_deliveries_one_grace(
    dev: Callable[..., DevServer],
) -> None:
    """SIGTERM with an HTTP request and a delivery both stuck, and short deliveries queued:
    the runtime stops claiming at the signal, and both stuck ones get the same 5 s grace. Before,
    uvicorn drained its connections for 5 s while the broker kept claiming (about 35 more short
    deliveries a second), then the lifespan shutdown drained deliveries for another 5 s: 10 s in
    all. The process ends by the signal (exit status 128 + 15: -15 to Python)."""
    server = dev(SLOW)
    status, stuck = server.post_json("/work", {"n": 1})  # sleeps 60 s on its first attempt
    assert status == 202
    server.wait_for(lambda r: r.get("event") == "start" and r["id"] == stuck["id"])
    answer: list[int] = []
    client = threading.Thread(target=lambda: answer.append(server.request("GET", "/hold")[0]))
    client.start()
    _held(server)
    assert server.post_json("/batch", {"count": 300})[0] == 202
    server.wait_for(lambda r: r.get("event") == "invocation" and r["function"] == "batch")
    before = server.request("GET", "/_pf/health")[2]["deliveries"]["done"]
    signalled = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(60) == -signal.SIGTERM
    took = time.monotonic() - signalled
    client.join(60)
    assert answer == [503]
    with sqlite3.connect(server.state / "broker.sqlite3") as db:
        done = db.execute("SELECT count(*) FROM deliveries WHERE state = 'done'").fetchone()[0]
        work = db.execute(
            "SELECT state, attempt FROM deliveries WHERE function = 'work'"
        ).fetchall()
    # Only the batch deliveries already running at the signal finished (7 slots; a generous
    # bound for what ended between the health check and the signal), not 5 s more of them.
    assert done - before < 40, (before, done)
    assert work == [("pending", 0)]  # released uncounted: it runs again at the next start
    assert took < 9, took  # one 5 s grace, not two (generous on a loaded machine)
