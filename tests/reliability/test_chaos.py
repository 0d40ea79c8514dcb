"""Done-means 4: the chaos run. The real ``portable-fn dev`` (a subprocess), a bounded load of
published events with a fraction of handler failures (transient, poison, non-retryable,
invalid data), duplicates, and one SIGKILL of the runtime under load; then a restart and a
reconciliation: every published event was either processed exactly once or is in the
dead-letter queue, and none is lost.

Real: the runtime, its SQLite broker, its ingress, the SQLite idempotency store, the CLI's
``dlq list``. The one arranged thing is *when* the SIGKILL lands: the "bomb" event's handler
holds a gate that every handler takes between its side effect and the record of its completion
(``GatedStore`` in apps/reliable.py), so the kill never falls in that window, the one crash
no idempotency layer closes without a transactional effect (documented in
portable_fn/idempotency). Everywhere else (handlers sleeping, blocked, failing, retrying;
deliveries pending and in flight) it lands as it falls.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from portable_fn.events import CloudEvent, to_dict

from ..local.devserver import DevServer, run_cli
from .conftest import APP, effect_lines

N = 120
BOMB = 40
FIRST_BATCH = 70  # published before the kill; the rest after the restart


def mode(n: int) -> dict[str, Any]:
    if n == BOMB:
        return {"n": n, "mode": "bomb"}
    if n % 11 == 4:
        return {"n": n, "mode": "poison"}
    if n % 13 == 6:
        return {"n": n, "mode": "nonretryable"}
    if n % 17 == 9:
        return {"n": str(n), "mode": "ok"}  # invalid: n must be an int
    if n % 5 == 2:
        return {"n": n, "mode": "transient", "fails": 1 + n % 2}
    return {"n": n, "mode": "ok"}


MUST_FAIL = {"poison", "nonretryable"}


def publish(server: DevServer, events: list[CloudEvent]) -> None:
    # Bounded load: batches of 20 in binary-safe structured batch mode, as fast as accepted.
    for start in range(0, len(events), 20):
        body = json.dumps([to_dict(e) for e in events[start : start + 20]]).encode()
        status, _, answer = server.request(
            "POST",
            "/_pf/topics/chaos",
            body,
            {"content-type": "application/cloudevents-batch+json"},
        )
        assert status == 202, answer
        assert answer.get("rejected", []) == []


def unsettled(state: Path) -> int:
    with sqlite3.connect(state / "broker.sqlite3") as db:
        row = db.execute(
            "SELECT COUNT(*) FROM deliveries WHERE state IN ('pending', 'inflight')"
        ).fetchone()
    return int(row[0])


def test_chaos_run_loses_nothing_and_runs_nothing_twice(
    dev: Callable[..., DevServer], effects: dict[str, str], tmp_path: Path
) -> None:
    state = tmp_path / "chaos-state"
    env = {
        **effects,
        "PF_CHAOS": "1",
        "PORTABLE_FN_IDEMPOTENCY": f"sqlite://{state}/idempotency.sqlite3?lease=1",
    }
    events = [
        CloudEvent.create(type="test.chaos", source="/tests/chaos", data=mode(n))
        for n in range(N)
    ]
    duplicates = [e for e in events if e.data["mode"] == "ok"][::6]  # re-published, same id

    first = dev("--time-scale", "1", "--quiet-http", env=env, state=state)
    publish(first, events[:FIRST_BATCH] + duplicates[:3])
    deadline = time.monotonic() + 40
    while not effect_lines(effects, "bomb-armed"):
        assert time.monotonic() < deadline, first.lines[-30:]
        time.sleep(0.005)
    first.kill()
    killed_during = {r["id"] for r in first.records if r.get("event") == "start"} - {
        r["id"] for r in first.records if r.get("event") == "invocation"
    }
    assert str(events[BOMB].id) in killed_during

    second = dev("--time-scale", "1", "--quiet-http", env=env, state=state)
    publish(second, events[FIRST_BATCH:] + duplicates[3:])
    deadline = time.monotonic() + 90
    while unsettled(state):
        assert time.monotonic() < deadline, second.lines[-30:]
        time.sleep(0.1)
    second.stop()

    listed = run_cli("dlq", APP, "--json", "--state-dir", str(state), "list")
    assert listed.returncode == 0, listed.stderr
    dead = Counter(row["event_id"] for row in json.loads(listed.stdout))
    dead_rows = {row["event_id"]: row for row in json.loads(listed.stdout)}
    done = Counter(row[1] for row in effect_lines(effects, "chaos"))

    lost, twice, both = [], [], []
    for event in events:
        n = str(event.data["n"])
        processed = done[n] if isinstance(event.data["n"], int) else 0
        if processed > 1 or dead[event.id] > 1:
            twice.append((n, processed, dead[event.id]))
        elif processed and dead[event.id]:
            both.append(n)
        elif not processed and not dead[event.id]:
            lost.append(n)
    assert (lost, twice, both) == ([], [], []), "\n".join(second.lines[-40:])

    for event in events:
        row = dead_rows.get(event.id)
        kind = event.data["mode"]
        if kind in MUST_FAIL or not isinstance(event.data["n"], int):
            assert row is not None, (event.data, "should be dead-lettered")
        if kind == "poison":
            # max_retries=5, then the DLQ, killed or not: an attempt the kill cut short counts
            # (as an SQS receive does); the looks after the restart while its lease ran do not.
            assert row is not None and row["attempts"] == 6, row
        if not isinstance(event.data["n"], int):
            assert row is not None and "UnprocessableEntity" in row["error"]
        if kind not in MUST_FAIL and isinstance(event.data["n"], int):
            # An event that can succeed is never dead-lettered, not even one the kill cut
            # short: waiting out the crashed attempt's lease (409s) spends none of its retries.
            assert row is None, (event.data, event.id in killed_during, row)

    # A look that found the key held ran no handler, so it is not an attempt: the delivery's
    # next outcome carries the same attempt number.
    outcomes: dict[int, list[dict[str, Any]]] = {}
    for record in second.records:
        if record.get("event") == "invocation":
            outcomes.setdefault(record["delivery"], []).append(record)
    for records in outcomes.values():
        for look, after in itertools.pairwise(records):
            if "IdempotencyConflict" in str(look.get("error")):
                assert after["attempt"] == look["attempt"], (look, after)
    # The bomb's own event ran after the restart, once.
    assert done[str(BOMB)] == 1
