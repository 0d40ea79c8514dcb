# SPDX-License-Identifier: Apache-2.0
"""The Cloud Scheduler cron fires when the portable schedule (the local scheduler) does.

A small reference evaluator of unix-cron as Cloud Scheduler documents it
(https://cloud.google.com/scheduler/docs/configuring/cron-job-schedules):

- ``*`` stands for first-last; ranges ``a-b``; "following a range with /NUMBER specifies skips
  of the number's value through the range" (``0-23/2``, ``*/2``); lists of numbers or ranges.
  A step after a single value (EventBridge's ``5/15``) is not in that syntax: refused here.
- day of week 0-6 (or SUN-SAT, or 7 for Sunday); months 1-12 or JAN-DEC in upper case.
- the day-of-week field "is evaluated as an inclusive OR with the day of the month field,
  unless one of these fields is marked as unrestricted by the asterisk (*)". A field that
  starts with ``*`` (``*/2``, ``*,15``) is read as so marked, as unix (Vixie) cron, which the
  format is based on, reads it (DOM_STAR/DOW_STAR are set by a leading ``*``).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import portable_fn as pf
import pytest
from portable_fn._schedule import parse_cron

from portable_fn_gcp.plan import build

UTC = timezone.utc
_MONTHS = {m: i for i, m in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1)}
_DAYS = {d: i for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}


def _number(text: str, names: dict[str, int]) -> int:
    if text in names:
        return names[text]
    if not (text.isascii() and text.isdigit()):
        raise ValueError(text)
    return int(text)


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int]:
    names = names or {}
    values: set[int] = set()
    for item in text.split(","):
        base, slash, step = item.partition("/")
        if base == "*":
            start, end = low, high
        elif "-" in base:
            a, b = base.split("-", 1)
            start, end = _number(a, names), _number(b, names)
        elif slash:
            raise ValueError(f"a step follows a range or *, not {item!r}")
        else:
            start = end = _number(base, names)
        if not low <= start <= end <= high:
            raise ValueError(item)
        values.update(range(start, end + 1, int(step) if slash else 1))
    return values


class UnixCron:
    def __init__(self, text: str) -> None:
        minute, hour, day, month, weekday = text.split()
        self.minutes = _field(minute, 0, 59)
        self.hours = _field(hour, 0, 23)
        self.days = _field(day, 1, 31)
        self.months = _field(month, 1, 12, _MONTHS)
        self.weekdays = {d % 7 for d in _field(weekday, 0, 7, _DAYS)}
        self.either = not (day.startswith("*") or weekday.startswith("*"))

    def _day_ok(self, t: datetime) -> bool:
        day, weekday = t.day in self.days, t.isoweekday() % 7 in self.weekdays
        return (day or weekday) if self.either else (day and weekday)

    def fires(self, after: datetime, count: int) -> list[datetime]:
        t, out = after.replace(second=0, microsecond=0) + timedelta(minutes=1), []
        while len(out) < count:
            if t.month not in self.months or not self._day_ok(t):
                t = (t + timedelta(days=1)).replace(hour=0, minute=0)
            elif t.hour not in self.hours:
                t = (t + timedelta(hours=1)).replace(minute=0)
            else:
                if t.minute in self.minutes:
                    out.append(t)
                t += timedelta(minutes=1)
        return out


def _portable(expression: str, after: datetime, count: int) -> list[datetime]:
    cron, out = parse_cron(expression), [after]
    for _ in range(count):
        out.append(cron.next_after(out[-1]))
    return out[1:]


def test_the_reference_reads_the_documented_examples() -> None:
    # "1 SAT" runs on the 1st of every month and on every Saturday; "* SAT" on Saturdays only
    either = UnixCron("0 0 1 * SAT").fires(datetime(2026, 8, 29, tzinfo=UTC), 2)
    assert [(t.month, t.day) for t in either] == [(9, 1), (9, 5)]  # a Tuesday, a Saturday
    saturdays = UnixCron("0 0 * * SAT").fires(datetime(2026, 8, 29, tzinfo=UTC), 1)
    assert [(t.month, t.day) for t in saturdays] == [(9, 5)]
    assert UnixCron("0 */2 * * *").hours == UnixCron("0 0-23/2 * * *").hours
    with pytest.raises(ValueError):
        UnixCron("5/15 * * * *")


@pytest.mark.parametrize(
    "expression",
    [
        "0 3 * * *",
        "*/7 9-17 * * MON-FRI",
        "0 0 13 * 5",  # Friday the 13th: OR
        "0 12 1,15 * SAT,SUN",
        "0 0 1-7 * 1",
        # a day-of-month step or list that starts with "*" is restricted in the portable
        # meaning (OR with the weekday); Cloud Scheduler reads a leading "*" as unrestricted
        "0 0 */2 * MON",
        "30 6 *,15 * 1-5",
        "0 0 */10 JAN-MAR 0",
        # a step from a single value is no documented Cloud Scheduler syntax
        "5/15 * * * *",
        "0 3/6 * * *",
        "0 0 5/10 * *",
        "0 0 1 JAN/2 *",
        "0 0 5/10 * SUN",
        "*,30 1 * * *",
    ],
)
def test_cloud_scheduler_fires_when_the_portable_schedule_does(expression: str) -> None:
    app = pf.App("sched")

    @app.schedule(expression)
    def tick(event: pf.CloudEvent) -> None: ...

    plan = build(app)
    [deployment] = plan.deployments
    assert deployment.schedule is not None
    target = UnixCron(deployment.schedule)
    for start in (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 2, 27, 23, 30, tzinfo=UTC)):
        assert target.fires(start, 60) == _portable(expression, start, 60), deployment.schedule
    # No warning about when it runs (the one about failed runs is not about timing).
    assert not [f for f in plan.findings if f.function == "tick" and f.level != "info"
                and "no dead-letter" not in f.message]
