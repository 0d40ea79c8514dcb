# SPDX-License-Identifier: Apache-2.0
"""Schedules -> 6-field NCRONTAB (seconds first)."""

from __future__ import annotations

from datetime import timedelta

import pytest

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
