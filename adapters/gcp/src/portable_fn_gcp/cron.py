# SPDX-License-Identifier: Apache-2.0
"""A schedule as Cloud Scheduler's unix-cron text (packaging only)."""

from __future__ import annotations

from portable_fn.adapter import Finding
from portable_fn.triggers import Schedule

__all__ = ["cloud_scheduler_cron"]


def cloud_scheduler_cron(name: str, trigger: Schedule, findings: list[Finding]) -> str:
    """The unix-cron text of the Cloud Scheduler job that runs ``trigger``, a warning in
    ``findings`` when it cannot run the declared rate exactly
    (https://cloud.google.com/scheduler/docs/configuring/cron-job-schedules)."""
    if trigger.cron is not None:
        # Day-of-week as the numbers 0-6 it stands for: "7/2" or "1-7/2" read differently
        # from one cron implementation to the next. The other fields in the documented
        # syntax: a step follows a range or "*" ("5/15" is written "5-59/15"), and a day of
        # month that starts with "*" would be "marked as unrestricted by the asterisk", which
        # turns the portable OR with a restricted weekday into AND ("*/2" is written "1-31/2").
        return trigger.cron.numbered(0, plain=True)
    seconds = int(trigger.rate.total_seconds()) if trigger.rate is not None else 86400
    # A step no larger than the field's range: "*/90" minutes or "*/36" hours is not a valid
    # Cloud Scheduler schedule, and "*/45" days would fire on day 1 only.
    # What runs instead when the rate is not exact: said, as a rate rounded to another
    # period is another schedule (rate(90 minutes) runs every 2 hours).
    runs: str | None = None
    if seconds % 86400 == 0 or seconds > 86400:
        days = max(1, round(seconds / 86400))
        cron = {1: "0 0 * * *", 7: "0 0 * * 0"}.get(days) or ""
        if cron:
            runs = None if seconds % 86400 == 0 else f"every {_count(days, 'day')} at 00:00 UTC"
        elif days <= 30:
            cron = f"0 0 */{days} * *"
            runs = (f"every {_count(days, 'day')} at 00:00 UTC, counted from the 1st of each "
                    "month")
        else:
            cron, runs = "0 0 1 * *", "once a month, on the 1st at 00:00 UTC"
    elif seconds % 3600 == 0 or seconds > 3600:
        hours = round(seconds / 3600)
        cron = f"0 */{hours} * * *"
        if seconds % 3600 or 24 % hours:
            runs = f"every {_count(hours, 'hour')}" + (
                ", counted from midnight UTC each day" if 24 % hours else "")
    else:
        minutes = max(1, seconds // 60)
        cron = f"*/{minutes} * * * *"
        if seconds % 60 or 60 % minutes:
            runs = f"every {_count(minutes, 'minute')}" + (
                ", counted from the start of each hour" if 60 % minutes else "")
    if runs is not None:
        findings.append(Finding(name, "warning", f"{trigger.expression} runs as cron {cron!r}: "
                                                 f"{runs}, as Cloud Scheduler has no rates"))
    return cron


def _count(number: int, unit: str) -> str:
    """``every {_count(n, unit)}``: "day", "2 days"."""
    return unit if number == 1 else f"{number} {unit}s"
