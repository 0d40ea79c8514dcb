"""Done-means 3 (cloudflare): hypothesis damages the documented queue message bodies
(fixtures/queue_bodies.json: JSON object/array/number/null, text, portable-fn structured
CloudEvents) and the message's delivery fields, and HTTP requests, and runs them through a
generated Python Worker on real Pyodide in Node with the real ``workers`` SDK (the driver of
pyodide_worker.py; the app is tests/reliability/apps/cf_fuzz.py): every single damage
exhaustively first (all distinct failures listed at once), then hypothesis's random draws.

Properties:
- queue: in a batch of two intact messages around one damaged one, each message is settled
  exactly once; the intact ones are acknowledged and processed; the damaged one is acknowledged
  only if it was processed (its handler's ``pf.send`` to ``processed`` is how the test sees
  that from outside the Worker) or sent to the dead-letter queue by the Worker, else retried;
- no Python exception escapes the Worker's ``queue``/``fetch`` (the driver reports it);
- HTTP answers with a valid status and JSON error bodies, never a traceback.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyodide_worker import DriverError, PyodideWorker, load_fixture

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from tests.reliability.mutate import (  # noqa: E402
    every_mutation,
    mutations,
    sweep,
    undeliverable,
)

APP = ROOT / "tests" / "reliability" / "apps" / "cf_fuzz.py"
FUZZ = settings(
    max_examples=25,  # each example is a round trip into Pyodide
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)


@pytest.fixture(scope="module")
def worker(sdk_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PyodideWorker]:
    from portable_fn._local.loader import load_app
    from portable_fn_cloudflare.adapter import adapter

    dist = tmp_path_factory.mktemp("cffuzz") / "cloudflare"
    adapter.package(load_app(f"{APP}:app"), f"{APP}:app", dist)
    running = PyodideWorker(sdk_dir, dist)
    yield running
    running.close()


MESSAGES = [m for m in load_fixture("queue_bodies.json")["messages"]]


def intact(n: int) -> dict[str, Any]:
    return {"id": f"intact-{n}", "timestamp": 1732370400000, "attempts": 1, "body": {"order": n}}


def _plain(value: Any) -> bool:
    # What a JSON line to the driver can carry (structured clone has no lone surrogates either).
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, ValueError):
        return False
    return True


def every_message_case(message: dict[str, Any]) -> Any:
    yield from every_mutation(message, skip=lambda p: p == ("id",))
    if isinstance(message.get("body"), dict):
        for what, body in every_mutation(message["body"]):
            yield f"body: {what}", {**message, "body": body}


def fuzz(cases: Any, strategy: Any, check: Any) -> None:
    """Every single damage first (all distinct failures reported at once), then hypothesis."""
    sweep(cases, check)
    FUZZ(given(strategy)(check))()


def message_cases(message: dict[str, Any]) -> Any:
    whole = mutations(message, skip=lambda p: p == ("id",))
    cases = [whole]
    if isinstance(message.get("body"), dict):
        cases.append(
            mutations(message["body"]).map(lambda c: (f"body: {c[0]}", {**message, "body": c[1]}))
        )
    return st.one_of(cases)


@pytest.mark.parametrize("message", MESSAGES, ids=[m["id"] for m in MESSAGES])
def test_only_processed_messages_are_acknowledged(
    worker: PyodideWorker, message: dict[str, Any]
) -> None:
    def check(case: tuple[str, Any]) -> None:
        what, damaged = case
        if not _plain(damaged):
            undeliverable()
        try:
            reply = worker.call("queue", queue="jobs", messages=[intact(1), damaged, intact(2)])
        except DriverError as exc:
            raise AssertionError(f"the Worker raised: {what}\n{exc}") from None
        settled = {c["id"]: c["op"] for c in reply["calls"]}
        assert len(reply["calls"]) == 3, (what, reply["calls"])  # each settled exactly once
        assert settled["intact-1"] == settled["intact-2"] == "ack", what
        processed = [s for s in reply["sent"] if s["queue"] == "processed"]
        dead = [s for s in reply["sent"] if s["queue"] == "jobs-dlq"]
        if settled[damaged["id"]] == "ack" and not dead:
            assert len(processed) == 3, f"acknowledged without processing: {what}"
        else:  # retried, or moved to the dead-letter queue by the Worker (then acknowledged)
            assert len(processed) == 2 and len(dead) <= 1, what

    fuzz(every_message_case(message), message_cases(message), check)


def test_http_requests(worker: PyodideWorker) -> None:
    base = {
        "method": "POST",
        "url": "https://fuzz.example.workers.dev/orders/1?a=1",
        "headers": [["content-type", "application/json"], ["cookie", "s=1"]],
        "body": json.dumps({"sku": "book"}),
    }

    def fixed(p: Any) -> bool:
        return p in {("method",), ("url",)}

    def check(case: tuple[str, Any]) -> None:
        what, req = case
        headers, body, url = req.get("headers"), req.get("body"), req.get("url")
        valid_headers = isinstance(headers, list) and all(
            isinstance(h, list)
            and len(h) == 2
            and all(isinstance(x, str) and x.isprintable() and x.isascii() for x in h)
            for h in headers
        )
        if not (valid_headers and isinstance(url, str) and _plain(req)):
            undeliverable()  # not a request a JS Request can carry
        raw = body.encode() if isinstance(body, str) else b""
        try:
            reply = worker.call(
                "fetch",
                method=req.get("method") or "GET",
                url=url,
                headers=headers,
                body_b64=base64.b64encode(raw).decode(),
            )
        except DriverError as exc:
            if "invalid header" in str(exc) or "Request" in str(exc).split("\n")[0]:
                undeliverable()  # JS refused to build the Request: it never reaches a Worker
            raise AssertionError(f"the Worker raised: {what}\n{exc}") from None
        status = reply["status"]
        assert 100 <= status <= 599, what
        text = base64.b64decode(reply["body_b64"])
        assert b"Traceback" not in text, what
        if status >= 400:
            assert "error" in json.loads(text), what

    fuzz(every_mutation(base, skip=fixed), mutations(base, skip=fixed), check)
