"""Done-means 2 (local): the local runtime's retry delays follow the declared ``Retry``:
``min(max_backoff, initial_backoff * 2**(n-1))`` before retry n (the upper half of it, drawn,
with jitter), ``max_retries + 1`` attempts, then the dead-letter queue. Measured on the real
``portable-fn dev`` from its own records and from when the handler actually ran.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from portable_fn.events import CloudEvent, to_json

from ..local.devserver import DevServer
from .apps.reliable import FLAKY, JITTERY
from .conftest import effect_lines


def send(server: DevServer, queue: str) -> CloudEvent:
    event = CloudEvent.create(type="t", source="/tests/retry", data={})
    status, _, _ = server.request(
        "POST", f"/_pf/queues/{queue}", to_json(event),
        {"content-type": "application/cloudevents+json"},
    )
    assert status == 202
    return event


def test_delays_follow_the_declared_backoff(
    dev: Callable[..., DevServer], effects: dict[str, str]
) -> None:
    server = dev("--time-scale", "1", env=effects)
    send(server, "flaky")
    dead = server.wait_for(lambda r: r.get("outcome") == "dead", timeout=20)
    assert dead["attempt"] == FLAKY.max_retries + 1
    retries = server.invocations("flaky", "retry")
    expected = [min(FLAKY.max_backoff, FLAKY.initial_backoff * 2 ** n) for n in range(3)]
    assert [r["delay_s"] for r in retries] == expected == [0.1, 0.2, 0.25]
    ran = [float(row[2]) for row in effect_lines(effects, "flaky")]
    gaps = [later - earlier for earlier, later in itertools.pairwise(ran)]
    assert len(gaps) == 3
    for gap, delay in zip(gaps, expected, strict=True):
        assert delay <= gap < delay + 0.5  # waited at least the delay, and not much longer


def test_jittered_delays_stay_in_the_upper_half(
    dev: Callable[..., DevServer], effects: dict[str, str]
) -> None:
    server = dev("--time-scale", "1", env=effects)
    for _ in range(3):
        send(server, "jittery")
    server.wait_all(lambda r: r.get("outcome") == "dead", 3, timeout=20)
    for record in server.invocations("jittery", "retry"):
        n = record["attempt"]
        ceiling = min(JITTERY.max_backoff, JITTERY.initial_backoff * 2 ** (n - 1))
        assert record["backoff_s"] == round(ceiling, 4)
        assert ceiling / 2 - 1e-4 <= record["delay_s"] <= ceiling + 1e-4
    assert len(server.invocations("jittery", "retry")) == 3 * JITTERY.max_retries
