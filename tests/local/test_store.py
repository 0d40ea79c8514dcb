"""The broker's SQLite store, on a real database file."""

from __future__ import annotations

import time
from pathlib import Path

from portable_fn._local.store import Delivery, Store
from portable_fn.events import from_json


def test_fan_out_claim_retry_dead_letter_redrive(tmp_path: Path) -> None:
    store = Store(tmp_path / "b.sqlite3")
    now = time.time()
    mid = store.enqueue(kind="topic", name="t", event=b"{}", functions=["a", "b"], due=now)
    later = store.enqueue(kind="queue", name="q", event=b"{}", functions=["c"], due=now + 60)
    claimed = store.claim_due(now, 10)
    assert [(d.function, d.attempt, d.message_id) for d in claimed] == [
        ("a", 1, mid),
        ("b", 1, mid),
    ]
    assert store.claim_due(now, 10) == []  # in flight: not handed out twice
    a, b = claimed
    store.complete(a.id)
    store.retry_later(b.id, now + 0.01, "boom")
    assert store.next_due() == now + 0.01
    again = store.claim_due(now + 0.02, 10)
    assert [(d.function, d.attempt) for d in again] == [("b", 2)]
    store.dead_letter(b.id, "t-dlq", "boom twice")
    dead = store.dead()
    assert [(d.id, d.dlq, d.error, d.attempt) for d in dead] == [(b.id, "t-dlq", "boom twice", 2)]
    assert store.redrive([b.id, 12345]) == [b.id]
    assert store.dead() == []
    assert [(d.function, d.attempt) for d in store.claim_due(time.time(), 10)] == [("b", 1)]
    assert {d.message_id for d in store.deliveries()} == {mid, later}


def test_a_new_state_directory_is_the_owner_s_alone(tmp_path: Path) -> None:
    """It holds every event's payload and the stored idempotent responses (Set-Cookie too):
    not readable by the machine's other users."""
    import os
    import stat

    Store(tmp_path / "state" / "broker.sqlite3").close()
    mode = stat.S_IMODE(os.stat(tmp_path / "state").st_mode)
    assert mode & 0o077 == 0, oct(mode)


def test_counts_name_every_state_even_when_none_is_in_it(tmp_path: Path) -> None:
    """``GET /_pf/health`` documents ``deliveries: {"pending", "done", "dead"}``: a probe
    reading ``["dead"]`` must not get a KeyError on a runtime with nothing dead-lettered."""
    store = Store(tmp_path / "b.sqlite3")
    assert store.counts() == {"pending": 0, "inflight": 0, "done": 0, "dead": 0}
    now = time.time()
    store.enqueue(kind="queue", name="q", event=b"{}", functions=["a", "b"], due=now)
    [first] = store.claim_due(now, 1)
    store.complete(first.id)
    assert store.counts() == {"pending": 1, "inflight": 0, "done": 1, "dead": 0}


def test_in_flight_deliveries_survive_a_reopen_as_pending(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite3"
    store = Store(path)
    store.enqueue(kind="queue", name="q", event=b'{"x":1}', functions=["w"], due=0)
    assert [d.attempt for d in store.claim_due(time.time(), 1)] == [1]
    # No close: the process "dies" holding the delivery in flight.
    reopened = Store(path)
    assert reopened.recover() == 1
    [d] = reopened.claim_due(time.time(), 1)
    assert (d.attempt, d.event) == (2, b'{"x":1}')


def test_a_held_delivery_goes_back_without_spending_its_attempt(tmp_path: Path) -> None:
    store = Store(tmp_path / "b.sqlite3")
    store.enqueue(kind="queue", name="q", event=b"{}", functions=["w"], due=0)
    now = time.time()
    [first] = store.claim_due(now, 1)
    store.retry_later(first.id, now, "boom")  # attempt 1 ran and failed: counted
    for due in (now, now, now + 0.5):  # another attempt holds the key: looks, not attempts
        [look] = store.claim_due(now, 1)
        assert look.attempt == 2
        store.hold(look.id, due, "IdempotencyConflict: held")
    assert store.claim_due(now, 1) == []  # not before its due time
    assert store.next_due() == now + 0.5
    [second] = store.claim_due(now + 0.5, 1)
    assert (second.attempt, second.error) == (2, "IdempotencyConflict: held")


def test_purge_forgets_only_finished_work(tmp_path: Path) -> None:
    store = Store(tmp_path / "b.sqlite3")
    store.enqueue(kind="topic", name="t", event=b"{}", functions=["a", "b"], due=0)
    a, b = store.claim_due(time.time(), 10)
    store.complete(a.id)
    store.dead_letter(b.id, "t-dlq", "x")
    assert store.purge_done(time.time() - 3600) == 0  # too recent
    assert store.purge_done(time.time() + 1) == 1
    assert [d.state for d in store.deliveries()] == ["dead"]  # dead letters stay


def test_serial_functions_take_one_message_at_a_time_in_order(tmp_path: Path) -> None:
    store = Store(tmp_path / "b.sqlite3")
    for n in (1, 2):
        store.enqueue(kind="queue", name="q", event=str(n).encode(), functions=["fifo"], due=0)
    store.enqueue(kind="queue", name="p", event=b"x", functions=["plain"], due=0)
    now = time.time()
    claimed = store.claim_due(now, 10, serial={"fifo"})
    assert sorted((d.function, d.event) for d in claimed) == [("fifo", b"1"), ("plain", b"x")]
    first = next(d for d in claimed if d.function == "fifo")
    assert store.claim_due(now, 10, serial={"fifo"}) == []  # 2 waits while 1 is in flight
    store.retry_later(first.id, now - 1, "boom")  # 1 failed and is due again: still first
    [again] = store.claim_due(now, 10, serial={"fifo"})
    assert (again.event, again.attempt) == (b"1", 2)
    store.complete(again.id)
    [second] = store.claim_due(now, 10, serial={"fifo"})
    assert second.event == b"2"


def test_a_failing_fifo_message_holds_back_only_its_own_partition(tmp_path: Path) -> None:
    from portable_fn.events import CloudEvent, to_json

    store = Store(tmp_path / "b.sqlite3")

    def send(n: int, group: str | None) -> None:
        event = CloudEvent.create(type="t", source="/s", data={"n": n})
        if group is not None:
            event = event.with_extensions(partitionkey=group)
        store.enqueue(kind="queue", name="q", event=to_json(event), functions=["fifo"], due=0)

    for n, group in ((1, "a"), (2, "a"), (3, "b"), (4, "b"), (5, None), (6, None)):
        send(n, group)
    now = time.time()

    def numbers(claimed: list[Delivery]) -> list[int]:
        return sorted(from_json(d.event).data["n"] for d in claimed)

    # One at a time per partition key (an SQS FIFO message group, a Kinesis partition key),
    # the oldest first; events without a key are one group of their own.
    first = store.claim_due(now, 10, serial={"fifo"})
    assert numbers(first) == [1, 3, 5]
    assert store.claim_due(now, 10, serial={"fifo"}) == []
    a1 = next(d for d in first if from_json(d.event).data["n"] == 1)
    store.retry_later(a1.id, now + 60, "boom")  # group a's head fails and waits to retry
    for d in first:
        if d.id != a1.id:
            store.complete(d.id)
    # Group a waits for its head; the other groups go on.
    assert numbers(store.claim_due(now, 10, serial={"fifo"})) == [4, 6]
