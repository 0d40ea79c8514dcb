"""Next fire times and the fired events, with an injected clock (no waiting on real time)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import portable_fn as pf
from portable_fn._local.scheduler import SCHEDULE_TYPE, Scheduler, next_fire
from portable_fn.triggers import Schedule

T0 = datetime(2026, 3, 1, 10, 17, 30, tzinfo=timezone.utc)


def test_rate_fires_on_its_period_from_the_anchor() -> None:
    trigger = Schedule(expression="rate(5 minutes)")
    assert next_fire(trigger, T0, T0) == T0 + timedelta(minutes=5)
    assert next_fire(trigger, T0 + timedelta(minutes=5), T0) == T0 + timedelta(minutes=10)
    assert next_fire(trigger, T0 + timedelta(minutes=12), T0) == T0 + timedelta(minutes=15)


def test_cron_next_fire_times() -> None:
    assert next_fire(Schedule(expression="0 3 * * *"), T0, T0) == datetime(
        2026, 3, 2, 3, 0, tzinfo=timezone.utc
    )
    assert next_fire(Schedule(expression="*/15 * * * *"), T0, T0) == T0.replace(minute=30, second=0)
    # 2026-03-01 is a Sunday: the next Monday 09:00.
    assert next_fire(Schedule(expression="0 9 * * MON"), T0, T0) == datetime(
        2026, 3, 2, 9, 0, tzinfo=timezone.utc
    )


def test_due_fires_once_per_tick_and_skips_missed_ticks() -> None:
    app = pf.App("sched")

    @app.schedule("rate(1 minute)")
    def tick(event: pf.CloudEvent) -> None: ...

    now = [T0]
    scheduler = Scheduler(app, clock=lambda: now[0])
    assert scheduler.due(T0 + timedelta(seconds=59)) == []
    [(function, event)] = scheduler.due(T0 + timedelta(minutes=1))
    assert function == "tick"
    assert event.type == SCHEDULE_TYPE and event.source == "/portable-fn/local/schedules/tick"
    assert event.time == T0 + timedelta(minutes=1)
    assert event.data == {"expression": "rate(1 minute)", "scheduled_time": "2026-03-01T10:18:30Z"}
    assert event.id == "tick@2026-03-01T10:18:30Z"
    # Asleep for ten minutes: one fire, then back on the grid.
    fired = scheduler.due(T0 + timedelta(minutes=11, seconds=5))
    assert len(fired) == 1
    assert scheduler.next_wake() == T0 + timedelta(minutes=12)


def test_run_on_start_fires_immediately() -> None:
    app = pf.App("sched")

    @app.schedule("0 3 * * *")
    def nightly(event: pf.CloudEvent) -> None: ...

    scheduler = Scheduler(app, clock=lambda: T0, run_on_start=True)
    [(_, event)] = scheduler.due(T0)
    assert event.data["expression"] == "0 3 * * *"
    assert scheduler.next_wake() == datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc)


def test_a_fire_the_broker_refused_is_fired_again_not_skipped() -> None:
    """``run`` advanced every due schedule before handing the fires to the broker: one commit
    that failed (a full disk, a lock held past the busy timeout) lost that fire and the ones
    after it, and the restarted loop went on to the next tick."""
    import asyncio

    import pytest

    app = pf.App("sched")

    @app.schedule("0 3 * * *")
    def nightly(event: pf.CloudEvent) -> None: ...

    @app.schedule("0 3 * * *")
    def backup(event: pf.CloudEvent) -> None: ...

    at_three = datetime(2026, 3, 2, 3, 0, 0, tzinfo=timezone.utc)
    now = [T0]
    scheduler = Scheduler(app, clock=lambda: now[0])
    now[0] = at_three
    fired: list[str] = []

    def refuse(function: str, event: pf.CloudEvent) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError):
        asyncio.run(scheduler.run(refuse))
    # The supervisor starts the loop again; it then sleeps towards the next tick (a day away).
    with pytest.raises(asyncio.TimeoutError):
        asyncio.run(
            asyncio.wait_for(scheduler.run(lambda f, e: fired.append(f)), timeout=0.3)
        )
    assert fired == ["nightly", "backup"]
    assert scheduler.next_wake() == datetime(2026, 3, 3, 3, 0, tzinfo=timezone.utc)
