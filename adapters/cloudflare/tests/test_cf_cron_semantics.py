# SPDX-License-Identifier: Apache-2.0
"""The Cron Trigger written to wrangler.toml fires when the portable schedule does.

A small reference evaluator of Cloudflare's cron dialect: five fields, UTC; weekdays 1-7 from
Sunday (``0 17 * * sun`` or ``0 17 * * 1``: 5PM on Sunday); ``* , - /`` in every field
(https://developers.cloudflare.com/workers/configuration/cron-triggers/). Parsing and
matching follow Cloudflare's parser behind Cron Triggers (github.com/cloudflare/saffron,
``cfron``): ``*`` is the whole field or ``*/n``, never an item of a list (``*,5`` fails to
parse); ``a/n`` steps from ``a`` to the end of the range; day of month and weekday combine
with OR unless one of them is exactly ``*`` (``Cron::contains``).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from portable_fn._schedule import parse_cron
from portable_fn.triggers import Schedule
from portable_fn_cloudflare import scheduled

UTC = timezone.utc
_MONTHS = {m: i for i, m in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1)}
_DAYS = {d: i for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)}


def _number(text: str, names: dict[str, int]) -> int:
    if text.upper() in names:
        return names[text.upper()]
    if not (text.isascii() and text.isdigit()):
        raise ValueError(text)
    return int(text)


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int]:
    names = names or {}
    items = text.split(",")
    values: set[int] = set()
    for index, item in enumerate(items):
        base, slash, step = item.partition("/")
        if base == "*":
            if index or (len(items) > 1 and not slash):
                raise ValueError(f"'*' only as the whole field or '*/n': {text!r}")
            start, end = low, high
        elif "-" in base:
            a, b = base.split("-", 1)
            start, end = _number(a, names), _number(b, names)
        else:
            start = _number(base, names)
            end = high if slash else start
        if not low <= start <= end <= high:
            raise ValueError(item)
        values.update(range(start, end + 1, int(step) if slash else 1))
    return values


class CloudflareCron:
    def __init__(self, text: str) -> None:
        minute, hour, day, month, weekday = text.split()
        self.minutes = _field(minute, 0, 59)
        self.hours = _field(hour, 0, 23)
        self.days = _field(day, 1, 31)
        self.months = _field(month, 1, 12, _MONTHS)
        self.weekdays = {d - 1 for d in _field(weekday, 1, 7, _DAYS)}  # 0 = Sunday
        self.either = day != "*" and weekday != "*"

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
    monday = datetime(2026, 11, 23, tzinfo=UTC)
    sunday_5pm = datetime(2026, 11, 29, 17, 0, tzinfo=UTC)
    assert CloudflareCron("0 17 * * sun").fires(monday, 1) == [sunday_5pm]
    assert CloudflareCron("10 7 * * mon-fri").weekdays == CloudflareCron("10 7 * * 2-6").weekdays
    with pytest.raises(ValueError):
        CloudflareCron("*,5 * * * *")


@pytest.mark.parametrize(
    "expression",
    [
        "*/30 * * * *",
        "0 9 * * MON-FRI",
        "0 0 13 * 5",  # OR of the day fields, as in the portable meaning
        "0 0 */2 * MON",
        "5/15 * * * *",
        "0 0 1 JAN/2 *",
        "0 0 * * 1-7/2",
        # "*" as an item of a list is valid portable (and Vixie) cron, but no Cloudflare cron
        "*,30 1 * * *",
        "0 *,12 * * *",
        "0 0 *,15 * MON",
        "0 0 1 *,JAN *",
    ],
)
def test_cron_trigger_fires_when_the_portable_schedule_does(expression: str) -> None:
    cron, note = scheduled.cron_for(Schedule(expression=expression))
    assert cron is not None and note is None
    target = CloudflareCron(cron)
    for start in (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 2, 27, 23, 30, tzinfo=UTC)):
        assert target.fires(start, 60) == _portable(expression, start, 60), cron
