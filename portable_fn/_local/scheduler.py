"""The local scheduler for ``@app.schedule``: computes next fire times and enqueues events.

A fire is an event handed to the durable broker (so it is retried, and survives a restart
between firing and running, like any other delivery). Rates are anchored at the runtime's
start; cron expressions are the core's parsed 5-field UTC cron (``Schedule.cron``).
After a pause (laptop asleep) a schedule fires once and moves on, as EventBridge Scheduler
with a flexible window does, rather than replaying every missed tick.

Event shape: ``type`` = ``SCHEDULE_TYPE``, ``source`` = ``/portable-fn/local/schedules/<fn>``,
``data`` = ``portable_fn.events.schedule_data`` (expression + scheduled time), ``time`` = the
scheduled time, and ``id`` = ``<function>@<scheduled time>`` so a fire has one identity.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from portable_fn.app import App
from portable_fn.events import CloudEvent, format_time, schedule_data
from portable_fn.triggers import Schedule

SCHEDULE_TYPE = "portable-fn.schedule.fired"

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def next_fire(trigger: Schedule, after: datetime, anchor: datetime) -> datetime:
    """The first fire time strictly after ``after``."""
    if trigger.rate is not None:
        periods = max(0, int((after - anchor) / trigger.rate)) + 1
        return anchor + trigger.rate * periods
    if trigger.cron is None:  # Schedule guarantees one of the two
        raise ValueError(f"schedule {trigger.expression!r} has neither rate nor cron")
    return trigger.cron.next_after(after)


@dataclass(slots=True)
class _Entry:
    function: str
    trigger: Schedule
    due: datetime


def schedule_event(function: str, trigger: Schedule, scheduled: datetime) -> CloudEvent:
    return CloudEvent(
        id=f"{function}@{format_time(scheduled)}",
        source=f"/portable-fn/local/schedules/{function}",
        type=SCHEDULE_TYPE,
        time=scheduled,
        subject=function,
        datacontenttype="application/json",
        data=schedule_data(expression=trigger.expression, scheduled_time=scheduled),
    )


class Scheduler:
    """Holds each schedule's next fire time; ``due(now)`` pops what is due (pure, testable)."""

    def __init__(self, app: App, *, clock: Clock = utcnow, run_on_start: bool = False) -> None:
        self.clock = clock
        start = clock()
        self.entries = [
            _Entry(name, fn.trigger, start if run_on_start else next_fire(fn.trigger, start, start))
            for name, fn in app.functions.items()
            if isinstance(fn.trigger, Schedule)
        ]
        self.anchor = start

    def due(self, now: datetime) -> list[tuple[str, CloudEvent]]:
        fired: list[tuple[str, CloudEvent]] = []
        for entry in self.entries:
            if entry.due <= now:
                fired.append(
                    (entry.function, schedule_event(entry.function, entry.trigger, entry.due))
                )
                self._advance(entry, now)
        return fired

    def _advance(self, entry: _Entry, now: datetime) -> None:
        entry.due = next_fire(entry.trigger, now, self.anchor)

    def next_wake(self) -> datetime | None:
        return min((e.due for e in self.entries), default=None)

    async def run(self, fire: Callable[[str, CloudEvent], None]) -> None:
        """Fire due schedules through ``fire(function, event)`` (blocking: run in a thread)."""
        while self.entries:
            now = self.clock()
            for entry in self.entries:
                if entry.due <= now:
                    event = schedule_event(entry.function, entry.trigger, entry.due)
                    await asyncio.to_thread(fire, entry.function, event)
                    # Moved on only once the broker holds the fire: if it raised (a full disk),
                    # the restarted loop fires this tick again instead of skipping it.
                    self._advance(entry, now)
            wake = self.next_wake()
            # Re-check at least every second: the wall clock can jump (sleep, NTP).
            wait = 1.0 if wake is None else (wake - self.clock()).total_seconds()
            await asyncio.sleep(min(1.0, max(0.01, wait)))
