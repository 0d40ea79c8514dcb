# SPDX-License-Identifier: Apache-2.0
"""Cron Triggers: the ``scheduled`` controller to a schedule CloudEvent, and rates to crons.

Shape: ``ScheduledController`` with ``cron`` (the trigger's expression as written in
wrangler.toml) and ``scheduledTime`` (ms since the epoch),
https://developers.cloudflare.com/workers/runtime-apis/handlers/scheduled/
Cron syntax and limits: https://developers.cloudflare.com/workers/configuration/cron-triggers/
(five fields, UTC, at most one run a minute, weekdays 1-7 with Sunday = 1).

Mapping (Cloudflare mapping table, version 2, this adapter's README):
``type=com.cloudflare.workers.scheduled``,
``source=cloudflare:workers/<app>``, ``id`` = ``<app>/<function>/<scheduledTime>`` (stable for
a retried run, so handlers can de-duplicate), ``subject`` = cron, ``time`` = scheduledTime,
``data`` = ``schedule_data(expression=<the decorator's expression>, ...)`` as on every provider.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from portable_fn.errors import EventDecodeError
from portable_fn.events import CloudEvent, schedule_data
from portable_fn.triggers import Schedule
from portable_fn_cloudflare._values import utc_time

TYPE = "com.cloudflare.workers.scheduled"


def cron_for(schedule: Schedule) -> tuple[str | None, str | None]:
    """The Cloudflare cron for a schedule, and a note when it is only an approximation.

    Cloudflare has cron only; a rate becomes the cron that fires at the same interval,
    aligned to the clock (AWS starts a rate at creation time instead). ``(None, reason)`` when
    no cron can express it.
    """
    if schedule.cron is not None:
        # Cloudflare numbers weekdays 1-7 from Sunday (Quartz), not 0-7: "1-5" would run Sunday
        # to Thursday, so the weekday field is written from the parsed days. Plain fields:
        # Cloudflare's parser (cloudflare/saffron) takes "*" only as a whole field or "*/n",
        # so "*,30" would fail the deploy; it is written "0-59,30".
        return schedule.cron.numbered(1, plain=True), None
    rate = schedule.rate
    if rate is None:
        return None, f"schedule {schedule.expression!r} has neither a cron nor a rate"
    return _rate_to_cron(rate)


def _rate_to_cron(rate: timedelta) -> tuple[str | None, str | None]:
    seconds = int(rate.total_seconds())
    if seconds < 60 or seconds % 60:
        return None, f"Cron Triggers fire at most once a minute; a rate of {rate} cannot run"
    minutes = seconds // 60
    if minutes < 60 and 60 % minutes == 0:
        return ("* * * * *" if minutes == 1 else f"*/{minutes} * * * *"), None
    if minutes % 60 == 0:
        hours = minutes // 60
        if hours < 24 and 24 % hours == 0:
            return ("0 * * * *" if hours == 1 else f"0 */{hours} * * *"), None
        if hours % 24 == 0:
            days = hours // 24
            if days == 1:
                return "0 0 * * *", None
            if days == 7:
                return "0 0 * * 1", None
            if days > 30:  # Cloudflare's day-of-month step stops at 30
                return None, f"a rate of {days} days is longer than a month; no cron expresses it"
            return (
                f"0 0 */{days} * *",
                f"a rate of {days} days runs as day-of-month step */{days}: the gap across a "
                "month end is shorter",
            )
    return None, f"a rate of {rate} does not divide an hour or a day; no cron expresses it"


def read_controller(controller: Any) -> tuple[str, datetime]:
    """The cron and scheduled time of a ``ScheduledController``."""
    cron = getattr(controller, "cron", None)
    if not isinstance(cron, str):
        raise EventDecodeError(
            "controller has no cron", provider="cloudflare", trigger="schedule", field="cron"
        )
    when = utc_time(getattr(controller, "scheduledTime", None))
    if when is None:
        raise EventDecodeError(
            "controller has no scheduledTime",
            provider="cloudflare",
            trigger="schedule",
            field="scheduledTime",
        )
    return cron, when


def to_event(
    *, app_name: str, function: str, schedule: Schedule, cron: str, scheduled_time: datetime
) -> CloudEvent:
    millis = int(scheduled_time.timestamp() * 1000)
    return CloudEvent(
        id=f"{app_name}/{function}/{millis}",
        source=f"cloudflare:workers/{app_name}",
        type=TYPE,
        subject=cron,
        time=scheduled_time,
        datacontenttype="application/json",
        data=schedule_data(expression=schedule.expression, scheduled_time=scheduled_time),
    )
