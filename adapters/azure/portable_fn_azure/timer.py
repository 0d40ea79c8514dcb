# SPDX-License-Identifier: Apache-2.0
"""Timer trigger: ``azure.functions.TimerRequest`` -> schedule ``CloudEvent``.

Payload: https://learn.microsoft.com/azure/azure-functions/functions-bindings-timer
(``{"Schedule": {...}, "ScheduleStatus": {"Last", "Next", "LastUpdated"}, "IsPastDue"}``).
``ScheduleStatus.Next`` is the occurrence being run: the scheduler waits until ``Next`` and then
invokes (Azure Functions team, learn.microsoft.com/answers/questions/1459140). Without schedule
monitoring (``useMonitor`` false, the default for periods under a minute) there is no status, and
the invocation time, truncated to the second, stands in. ``id`` is ``<function>@<occurrence>``, so
a re-run of the same occurrence is recognisably a duplicate.

A manual run (the portal's Test/Run, ``POST /admin/functions/<name>``:
https://learn.microsoft.com/azure/azure-functions/functions-manual-run-non-http) gets the stored
status, whose ``Next`` is the occurrence still to come (the WebJobs timer binding builds a manual
invocation's ``TimerInfo`` from the schedule monitor's status): a ``Next`` more than a few
seconds ahead of the invocation is no occurrence being run, and the invocation time stands in
for it, as without monitoring. Read as the occurrence, it gave the manual run the id of the
scheduled run to come, which an idempotent handler then skipped as a duplicate.

The stored status is written only after a scheduled run ends, retries included
(``TimerListener.InvokeJobFunction``): a manual run while the scheduled one still runs, or of a
disabled function (which "can still be run",
https://learn.microsoft.com/azure/azure-functions/disable-function), gets a ``Next`` in the
past, the last occurrence's. A first attempt that is not past due (``IsPastDue``: the host was
down at the occurrence) with a ``Next`` more than ten minutes gone is such a run: a scheduled
run starts within seconds of its occurrence, and its retries (which keep the occurrence, and
its id) are not first attempts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from portable_fn.events import CloudEvent, format_time, schedule_data

from portable_fn_azure import _timestamps

if TYPE_CHECKING:
    import azure.functions as func

__all__ = ["TYPE", "scheduled_time", "to_event"]

TYPE = "com.microsoft.functions.timer"


# How far ahead of the invocation a scheduled run's ``Next`` can be: the listener's timer may
# fire a little early; a manual run's ``Next`` is a whole period ahead.
_EARLY = timedelta(seconds=5)
# How long after its occurrence a scheduled first attempt that is not past due may start.
_STALE = timedelta(minutes=10)


def scheduled_time(
    timer: func.TimerRequest, now: datetime | None = None, *, attempt: int = 1
) -> datetime:
    # The worker's TimerRequest has schedule_status; the abstract type does not declare it.
    status = getattr(timer, "schedule_status", None)
    # No (or an unreadable) status means schedule monitoring is off: use the invocation time.
    moment = _parse(status.get("Next")) if isinstance(status, Mapping) else None
    invoked = now or datetime.now(timezone.utc)
    if moment is not None and moment <= invoked + _EARLY:
        stale = attempt == 1 and not getattr(timer, "past_due", False) and (
            invoked - moment > _STALE)
        if not stale:
            return moment
    return invoked.replace(microsecond=0)  # no status, or a manual run (module docstring)


def to_event(
    timer: func.TimerRequest, *, function: str, expression: str, now: datetime | None = None,
    attempt: int = 1,
) -> CloudEvent:
    due = scheduled_time(timer, now, attempt=attempt)
    return CloudEvent(
        id=f"{function}@{format_time(due)}",
        source=f"/azure/functions/{function}",
        type=TYPE,
        time=due,
        datacontenttype="application/json",
        data=schedule_data(expression=expression, scheduled_time=due),
    )


def _parse(value: object) -> datetime | None:
    # A DateTime as the host writes it (_timestamps); without an offset it is UTC.
    moment = _timestamps.parse(value, naive_is_utc=True)
    return moment.astimezone(timezone.utc) if moment is not None else None
