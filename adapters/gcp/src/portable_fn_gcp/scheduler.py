# SPDX-License-Identifier: Apache-2.0
"""Cloud Scheduler runs to the portable schedule event.

A job reaches a function in one of three documented ways:

- HTTP target (what ``deploy.sh`` creates): a request with ``X-CloudScheduler: true``,
  ``X-CloudScheduler-JobName`` and ``X-CloudScheduler-ScheduleTime`` (RFC 3339) headers,
  https://cloud.google.com/scheduler/docs/reference/rpc/google.cloud.scheduler.v1#httptarget
- Pub/Sub target: a ``messagePublished`` event (Eventarc, or a push subscription to the
  function's URL); the run's time is the message ``publishTime``,
  https://cloud.google.com/scheduler/docs/schedule-run-cron-job-pubsub
- an Eventarc ``google.cloud.scheduler.job.v1.executed`` event (``SchedulerJobData``).

All three give the same event: type ``google.cloud.scheduler.job.v1.executed``, ``id`` =
``<job>@<scheduled time>`` (a retried run keeps its id, so it is recognisably a duplicate),
``subject`` = the function, ``data`` = ``schedule_data(expression, scheduled_time)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone

from portable_fn.errors import EventDecodeError, InvalidCloudEventError
from portable_fn.events import CloudEvent, schedule_data

from portable_fn_gcp import pubsub, timestamps

__all__ = ["EXECUTED", "from_event", "from_headers", "is_http_target"]

EXECUTED = "google.cloud.scheduler.job.v1.executed"
_SOURCE = "//cloudscheduler.googleapis.com/jobs/"
_HTTP_TARGET_HEADERS = frozenset(("x-cloudscheduler-jobname", "x-cloudscheduler-scheduletime"))


def is_http_target(headers: Mapping[str, str]) -> bool:
    """A Cloud Scheduler HTTP-target request (its ``X-CloudScheduler`` headers; any case)."""
    return any(k.lower() in _HTTP_TARGET_HEADERS for k in headers)


def from_headers(
    headers: Mapping[str, str], *, function: str, expression: str, job: str | None = None
) -> CloudEvent:
    """The schedule event for a Scheduler HTTP-target request (headers: any case); ``job``,
    the job ``deploy.sh`` names for the function, stands in for a manual call's missing
    ``X-CloudScheduler-JobName`` (else the function's name)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    job = lowered.get("x-cloudscheduler-jobname") or job or function
    stamp = lowered.get("x-cloudscheduler-scheduletime")
    # Without the header (a manual call), the run is due now.
    when = _time(stamp) if stamp else datetime.now(timezone.utc)
    return _event(job, when, function=function, expression=expression)


def from_event(
    event: CloudEvent, *, function: str, expression: str, job: str | None = None
) -> CloudEvent:
    """The schedule event for a Scheduler run delivered as a CloudEvent; ``job`` (as for
    ``from_headers``) names the run of a Pub/Sub-target job whose message names none."""
    if pubsub.is_published(event):
        message = pubsub.parse(event, trigger="schedule")
        job = message.attributes.get("job") or job or function
        stamp = message.publish_time
        when = _time(stamp) if stamp else event.time or datetime.now(timezone.utc)
        return _event(job, when, function=function, expression=expression)
    if event.time is None:
        raise EventDecodeError(
            "scheduler event has no time", provider="gcp", trigger="schedule", field="time"
        )
    job = event.source.rsplit("/", 1)[-1] or function
    return _event(job, event.time, function=function, expression=expression)


def _event(job: str, when: datetime, *, function: str, expression: str) -> CloudEvent:
    stamp = when.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    return CloudEvent(
        id=f"{job}@{stamp}",
        source=_SOURCE + job,
        type=EXECUTED,
        time=when,
        subject=function,
        datacontenttype="application/json",
        data=schedule_data(expression=expression, scheduled_time=when),
    )


def _time(text: str) -> datetime:
    try:
        return timestamps.parse(text)
    except InvalidCloudEventError as exc:
        raise EventDecodeError(
            f"bad schedule time {text!r}", provider="gcp", trigger="schedule", field="time"
        ) from exc
