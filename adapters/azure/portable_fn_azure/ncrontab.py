# SPDX-License-Identifier: Apache-2.0
"""Portable schedules -> NCRONTAB, the 6-field format (seconds first) of the timer trigger.

Reference: https://learn.microsoft.com/azure/azure-functions/functions-bindings-timer#ncrontab-expressions
(``{second} {minute} {hour} {day} {month} {day-of-week}``, day-of-week 0-6 with Sunday = 0).
A ``rate(...)`` becomes the clock-aligned schedule with the same period when the period divides
the next larger unit evenly; otherwise the closest NCRONTAB is used and a warning says how it
differs. A 5-field cron gains a leading ``0`` second; a restricted day-of-week is written as the
numbers 0-6 it stands for (``7``, Sunday in Vixie cron, is outside NCRONTAB's range, and so is a
step such as ``1-7/2``).
"""

from __future__ import annotations

from datetime import timedelta

from portable_fn._schedule import parse_cron

__all__ = ["Ncrontab", "from_cron", "from_rate"]


class Ncrontab:
    """An NCRONTAB expression and, when it only approximates the schedule, how it differs."""

    __slots__ = ("expression", "warning")

    def __init__(self, expression: str, warning: str | None = None) -> None:
        self.expression = expression
        self.warning = warning

    def __repr__(self) -> str:
        return f"Ncrontab({self.expression!r}, {self.warning!r})"


def from_rate(period: timedelta) -> Ncrontab:
    seconds = int(period.total_seconds())
    if seconds % 86400 == 0:
        days = seconds // 86400
        if days == 1:
            return Ncrontab("0 0 0 * * *")
        if days == 7:
            return Ncrontab("0 0 0 * * 0")
        if days > 30:  # a day-of-month step past 30 fires on day 1 only
            return Ncrontab("0 0 0 1 * *", f"rate of {days} days is not expressible in NCRONTAB; "
                            "runs on day 1 of every month")
        return Ncrontab(
            f"0 0 0 */{days} * *",
            f"rate of {days} days runs on days 1, {1 + days}, ... of each month (NCRONTAB "
            "restarts the day count every month)",
        )
    if seconds % 3600 == 0 and seconds < 86400:
        hours = seconds // 3600
        expression = "0 0 * * * *" if hours == 1 else f"0 0 */{hours} * * *"
        if 24 % hours == 0:
            return Ncrontab(expression)
        return Ncrontab(expression, f"rate of {hours} hours restarts at midnight UTC every day")
    minutes = max(1, seconds // 60)
    if minutes < 60:
        expression = "0 * * * * *" if minutes == 1 else f"0 */{minutes} * * * *"
        if 60 % minutes == 0 and seconds % 60 == 0:
            return Ncrontab(expression)
        return Ncrontab(expression, f"rate of {minutes} minutes restarts every full hour")
    if minutes >= 1440:  # a day or more, not whole days
        return Ncrontab("0 0 0 * * *", f"rate of {minutes} minutes is not expressible in "
                        "NCRONTAB; runs every day")
    hours = max(1, round(minutes / 60))
    return Ncrontab(
        "0 0 * * * *" if hours == 1 else f"0 0 */{hours} * * *",
        f"rate of {minutes} minutes is not expressible in NCRONTAB; runs every {hours} hour(s)",
    )


def from_cron(expression: str) -> Ncrontab:
    """``0 <minute> <hour> <day> <month> <weekday>`` from a 5-field cron."""
    cron = parse_cron(expression)
    warning = None
    if cron.days_restricted and cron.weekdays_restricted:
        warning = (
            "cron restricts both day-of-month and day-of-week: cron runs when either matches, "
            "NCRONTAB only when both do"
        )
    return Ncrontab(f"0 {cron.numbered(0)}", warning)
