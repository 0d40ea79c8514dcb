"""Done-means 2 (cloudflare): an app packaged with declared retry policies; ``wrangler.toml``
gives each queue consumer ``max_retries``, a ``retry_delay`` from the first backoff and a
``dead_letter_queue``; the Worker's per-message ``retry(delaySeconds)`` follows the declared
backoff (``settle``, the code the Worker runs) and a non-retryable failure is dead-lettered
without spending retries. Real packaging and the adapter's own TOML parsed with tomllib.
"""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from pyodide_worker import tomllib

import portable_fn as pf
from portable_fn.adapter import Outcome
from portable_fn_cloudflare.adapter import adapter
from portable_fn_cloudflare.settle import MAX_DELAY_SECONDS, settle

app = pf.App("retries")
ORDERS = pf.Retry(max_retries=7, initial_backoff=5.0, max_backoff=120.0, jitter=False)
NEWS = pf.Retry(max_retries=2, initial_backoff=2.5, max_backoff=60.0)


@app.queue("orders", retry=ORDERS, dead_letter="orders-dead")
def take_order(event: pf.CloudEvent) -> None: ...


@app.topic("news", retry=NEWS)
def read_news(event: pf.CloudEvent) -> None: ...


@app.queue("emails", max_retries=3)
def send_email(event: pf.CloudEvent) -> None: ...


@pytest.fixture(scope="module")
def consumers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("retries") / "cloudflare"
    adapter.package(app, f"{__name__}:app", out)
    config = tomllib.loads((out / "wrangler.toml").read_text())
    return {c["queue"]: c for c in config["queues"]["consumers"]}


def consumer_for(consumers: dict[str, dict[str, Any]], prefix: str) -> dict[str, Any]:
    (found,) = [c for name, c in consumers.items() if name.startswith(prefix)]
    return found


def test_queue_consumer_carries_the_policy(consumers: dict[str, dict[str, Any]]) -> None:
    orders = consumers["orders"]
    assert orders["max_retries"] == ORDERS.max_retries
    assert orders["retry_delay"] == 5
    assert orders["dead_letter_queue"] == "orders-dead"


def test_topic_subscription_carries_the_policy(consumers: dict[str, dict[str, Any]]) -> None:
    news = consumer_for(consumers, "retries--news")
    assert news["max_retries"] == NEWS.max_retries
    assert news["retry_delay"] == math.ceil(NEWS.initial_backoff)


def test_every_consumer_dead_letters_instead_of_dropping(
    consumers: dict[str, dict[str, Any]],
) -> None:
    # Without dead_letter_queue Cloudflare deletes a message once max_retries are spent: the
    # portable contract is that it lands in a dead-letter queue (Queue.dead_letter_name,
    # "<queue>-dlq", when none is named), as on the local runtime, SQS and Pub/Sub.
    missing = sorted(name for name, c in consumers.items() if not c.get("dead_letter_queue"))
    assert missing == []


def test_retry_delays_follow_the_backoff() -> None:
    failed = Outcome(False, RuntimeError("boom"), True)
    delays = [
        settle(failed, attempts=n, retry=ORDERS, dead_letter="orders-dead").delay_seconds
        for n in range(1, ORDERS.max_retries + 1)
    ]
    assert delays == [5, 10, 20, 40, 80, 120, 120]  # min(max, initial * 2**(n-1))


def test_jittered_delays_stay_within_the_policy() -> None:
    failed = Outcome(False, RuntimeError("boom"), True)
    rand = random.Random(7)
    for n in range(1, 8):
        ceiling = min(NEWS.max_backoff, NEWS.initial_backoff * 2 ** (n - 1))
        for _ in range(50):
            got = settle(failed, attempts=n, retry=NEWS, dead_letter=None, rand=rand)
            assert got.action == "retry"
            assert math.ceil(ceiling / 2) <= (got.delay_seconds or 0) <= math.ceil(ceiling)
            assert (got.delay_seconds or 0) <= MAX_DELAY_SECONDS


def test_non_retryable_failures_skip_the_retries() -> None:
    poison = Outcome(False, pf.NonRetryable("bad order"), False)
    assert settle(poison, attempts=1, retry=ORDERS, dead_letter="orders-dead").action == (
        "dead_letter"
    )
