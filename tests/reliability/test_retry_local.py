"""Done-means 2 (local): the local runtime's retry delays follow the declared ``Retry``:
``min(max_backoff, initial_backoff * 2**(n-1))`` before retry n (the upper half of it, drawn,
with jitter), ``max_retries + 1`` attempts, then the dead-letter queue. Measured on the real
``portable-fn dev`` from its own records (the delay it drew and the due time the broker stored
for each retry) and from when the handler actually ran.

Nothing here bounds how late a retry may run: on a loaded machine the loop, the pool and the
handler are all late by whatever the scheduler decides. What must hold however loaded the
machine is the schedule itself, and that no retry runs before it is due.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from portable_fn.events import CloudEvent, from_json, to_json
from portable_fn.triggers import Retry

from ..local.devserver import DevServer
from .apps.reliable import FLAKY, JITTERY
from .conftest import effect_lines

# Record times are rounded to the microsecond and delays to 0.1 ms when printed.
ROUNDING = 1e-4


def send(server: DevServer, queue: str) -> CloudEvent:
    event = CloudEvent.create(type="t", source="/tests/retry", data={})
    status, _, _ = server.request(
        "POST", f"/_pf/queues/{queue}", to_json(event),
        {"content-type": "application/cloudevents+json"},
    )
    assert status == 202
    return event


def check_schedule(
    server: DevServer, effects: dict[str, str], function: str, event: CloudEvent, policy: Retry
) -> list[dict[str, Any]]:
    """The runtime's schedule for ``event``: one retry record per failed attempt but the last,
    each due its drawn delay after the failure, and every attempt started (and ran the handler)
    no earlier than its due time. Returns the retry records."""
    mine = [
        r for r in server.records if r.get("id") == event.id and r.get("function") == function
    ]
    starts = [r for r in mine if r["event"] == "start"]
    outcomes = [r for r in mine if r["event"] == "invocation"]
    retries = [r for r in outcomes if r["outcome"] == "retry"]
    assert [r["attempt"] for r in starts] == list(range(1, policy.max_attempts + 1))
    assert [r["outcome"] for r in outcomes] == ["retry"] * policy.max_retries + ["dead"]
    for n, (start, retry) in enumerate(zip(starts, retries, strict=False), start=1):
        assert retry["attempt"] == n
        ceiling = min(policy.max_backoff, policy.initial_backoff * 2 ** (n - 1))
        assert retry["backoff_s"] == round(ceiling, 4)
        low = ceiling / 2 if policy.jitter else ceiling
        assert low - ROUNDING <= retry["delay_s"] <= ceiling + ROUNDING
        # The retry is due its delay after attempt n failed, and it failed after it started
        # and before the runtime wrote the retry record: ordering, not elapsed time.
        failed_at = retry["due"] - retry["delay_s"]
        assert start["ts"] - ROUNDING <= failed_at <= retry["ts"] + ROUNDING
    ran = [float(row[2]) for row in effect_lines(effects, function) if row[1] == event.id]
    assert len(ran) == policy.max_attempts
    for retry, start, handler_ran in zip(retries, starts[1:], ran[1:], strict=True):
        # Never before its due time (a lower bound only: a busy machine runs it later).
        assert start["ts"] + ROUNDING >= retry["due"] and handler_ran >= retry["due"]
    # What the runtime printed is what the broker stored: the last due time is still there.
    with sqlite3.connect(server.state / "broker.sqlite3") as db:
        rows = db.execute(
            "SELECT d.due, d.attempt, d.state, m.event FROM deliveries d JOIN messages m"
            " ON m.id = d.message_id WHERE d.function = ?",
            (function,),
        ).fetchall()
    [stored] = [row[:3] for row in rows if from_json(row[3]).id == event.id]
    assert stored == (retries[-1]["due"], policy.max_attempts, "dead")
    return retries


def test_delays_follow_the_declared_backoff(
    dev: Callable[..., DevServer], effects: dict[str, str]
) -> None:
    server = dev("--time-scale", "1", env=effects)
    event = send(server, "flaky")
    dead = server.wait_for(lambda r: r.get("outcome") == "dead", timeout=60)
    assert dead["attempt"] == FLAKY.max_retries + 1
    retries = check_schedule(server, effects, "flaky", event, FLAKY)
    # No jitter: exactly the declared delays, each capped at max_backoff.
    assert [r["delay_s"] for r in retries] == [FLAKY.delay(n) for n in (1, 2, 3)]
    assert [r["delay_s"] for r in retries] == [0.1, 0.2, 0.25]


def test_jittered_delays_stay_in_the_upper_half(
    dev: Callable[..., DevServer], effects: dict[str, str]
) -> None:
    server = dev("--time-scale", "1", env=effects)
    events = [send(server, "jittery") for _ in range(3)]
    server.wait_all(lambda r: r.get("outcome") == "dead", 3, timeout=60)
    for event in events:
        check_schedule(server, effects, "jittery", event, JITTERY)
    assert len(server.invocations("jittery", "retry")) == 3 * JITTERY.max_retries
