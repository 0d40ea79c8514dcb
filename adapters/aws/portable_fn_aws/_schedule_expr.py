# SPDX-License-Identifier: Apache-2.0
"""Portable schedules as EventBridge schedule expressions (tooling only).

https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
EventBridge cron has six fields (a year), numbers weekdays 1-7 from Sunday, and needs ``?`` in
one of day-of-month / day-of-week; it cannot say "this day of month OR this weekday".
"""

from __future__ import annotations

from portable_fn.errors import ConfigurationError
from portable_fn.triggers import Schedule

_UNITS = ((86400, "day"), (3600, "hour"), (60, "minute"))


def aws_expression(schedule: Schedule) -> str:
    if schedule.rate is not None:
        seconds = int(schedule.rate.total_seconds())
        for size, unit in _UNITS:
            if seconds >= size and seconds % size == 0:
                count = seconds // size
                return f"rate({count} {unit}{'' if count == 1 else 's'})"
        raise ConfigurationError(f"EventBridge rates are whole minutes: {schedule.expression!r}")
    cron = schedule.cron
    if cron is None:  # pragma: no cover - a Schedule always has one of the two
        raise ConfigurationError(f"not a schedule: {schedule.expression!r}")
    fields = cron.expression.split()
    if len(fields) != 5:  # a macro such as @daily: render from the parsed sets
        fields = [
            ",".join(map(str, sorted(s)))
            for s in (cron.minutes, cron.hours, cron.days, cron.months, cron.weekdays)
        ]
    # EventBridge writes increments from an explicit start ("0/15"), not "*/15".
    minute, hour, day, month, _ = (
        f.replace("*/", start)
        for f, start in zip(fields, ("0/", "0/", "1/", "1/", ""), strict=True)
    )
    if cron.days_restricted and cron.weekdays_restricted:
        raise ConfigurationError(
            f"EventBridge cron cannot restrict both day of month and weekday: {cron.expression!r}"
        )
    if cron.weekdays_restricted:
        weekdays = ",".join(str(d + 1) for d in sorted(cron.weekdays))
        return f"cron({minute} {hour} ? {month} {weekdays} *)"
    return f"cron({minute} {hour} {day} {month} ? *)"
