"""``portable-fn dev`` stopping (SIGINT, SIGTERM) with work in flight, on the real server and
tests/local/apps/slow.py: what a client still waiting gets, and what the terminal shows."""

from __future__ import annotations

import http.client
import json
import signal
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
