# SPDX-License-Identifier: Apache-2.0
"""Schedules -> 6-field NCRONTAB (seconds first)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from portable_fn._schedule import parse_cron

from portable_fn_azure.ncrontab import from_cron, from_rate


@pytest.mark.parametrize(("period", "expression", "exact"), [
    (timedelta(minutes=1), "0 * * * * *", True),
    (timedelta(minutes=5), "0 */5 * * * *", True),
    (timedelta(minutes=7), "0 */7 * * * *", False),
    (timedelta(hours=1), "0 0 * * * *", True),
    (timedelta(hours=6), "0 0 */6 * * *", True),
    (timedelta(hours=5), "0 0 */5 * * *", False),
    (timedelta(days=1), "0 0 0 * * *", True),
    (timedelta(days=2), "0 0 0 */2 * *", False),
    (timedelta(minutes=90), "0 0 */2 * * *", False),
    (timedelta(days=7), "0 0 0 * * 0", True),  # weekly: the period is exact
    (timedelta(hours=36), "0 0 0 * * *", False),  # was "*/36" hours: once a day, said otherwise
    (timedelta(days=45), "0 0 0 1 * *", False),  # was "*/45" days: day 1 only, said "1, 46"
])
def test_rate(period: timedelta, expression: str, exact: bool) -> None:
    found = from_rate(period)
    assert found.expression == expression
    assert (found.warning is None) is exact
    assert found.warning is None or "runs" in found.warning or "restarts" in found.warning


@pytest.mark.parametrize(("cron", "expression"), [
    ("0 3 * * *", "0 0 3 * * *"),
    ("*/15 9-17 * * 1-5", "0 */15 9-17 * * 1-5"),
    ("0 0 * * 7", "0 0 0 * * 0"),
    ("0 0 * * 5-7", "0 0 0 * * 0,5-6"),
    ("30 6 1 JAN *", "0 30 6 1 JAN *"),
    ("0 12 * * MON,FRI", "0 0 12 * * 1,5"),
    # the forms below produced NCRONTAB that is invalid or fires on other days
    ("cron(30 6 * * *)", "0 30 6 * * *"),
    ("0 3 ? * *", "0 0 3 * * *"),
    ("0 0 * * 1-7/2", "0 0 0 * * 0-1,3,5"),  # Monday, Wednesday, Friday, Sunday
    ("0 0 * * 7/2", "0 0 0 * * 0"),  # Sunday only, not 0/2
    ("0 0 * jan sat", "0 0 0 * JAN 6"),
])
def test_cron(cron: str, expression: str) -> None:
    assert from_cron(cron).expression == expression


def test_cron_with_both_day_fields_warns() -> None:
    assert from_cron("0 0 1 * 1").warning is not None
    assert from_cron("0 0 1 * *").warning is None


def test_cron_needs_five_fields() -> None:
    with pytest.raises(ValueError):
        from_cron("0 0 0 * * *")


# A reference NCRONTAB evaluator: six fields, seconds first, day of week 0-6 from Sunday,
# names as prefixes (learn.microsoft.com/azure/azure-functions/functions-bindings-timer
# #ncrontab-expressions); as NCrontab (atifaziz/NCrontab, which the timer trigger uses) matches
# it, "a/n" steps from a to the end of the range and the day fields must both match (AND).
def _ncrontab_fires(expression: str, after: datetime, count: int) -> list[datetime]:
    second, *fields = expression.split()
    assert second == "0"
    names = {m: i for i, m in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1)}
    sets = []
    for text, (low, high) in zip(fields, ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6)), strict=True):
        values: set[int] = set()
        for item in text.split(","):
            base, slash, step = item.partition("/")
            if base == "*":
                start, end = low, high
            elif "-" in base:
                a, b = (int(names.get(x, x)) for x in base.split("-"))
                start, end = a, b
            else:
                start = int(names.get(base, base))
                end = high if slash else start
            assert low <= start <= end <= high, item
            values.update(range(start, end + 1, int(step) if slash else 1))
        sets.append(values)
    minutes, hours, days, months, weekdays = sets
    t, out = after.replace(second=0) + timedelta(minutes=1), []
    while len(out) < count:
        if t.month in months and t.day in days and t.isoweekday() % 7 in weekdays:
            if t.hour in hours and t.minute in minutes:
                out.append(t)
            t += timedelta(minutes=1)
        else:
            t = (t + timedelta(days=1)).replace(hour=0, minute=0)
    return out


@pytest.mark.parametrize("cron", [
    "*/7 9-17 * * MON-FRI", "5/15 3/6 * * *", "0 0 */2 JAN/2 *", "0 0 * * 1-7/2",
    "0 0 5/10 * *", "*,30 1 * * 7", "0 12 * FEB 0",
    # both day fields restricted: the portable OR is no NCRONTAB, and a warning says so
    "0 0 13 * 5", "0 0 */2 * MON",
])
def test_ncrontab_fires_when_the_portable_schedule_does_or_warns(cron: str) -> None:
    found, portable = from_cron(cron), parse_cron(cron)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    expected, t = [], start
    for _ in range(60):
        t = portable.next_after(t)
        expected.append(t)
    same = _ncrontab_fires(found.expression, start, 60) == expected
    assert same is (found.warning is None), found
