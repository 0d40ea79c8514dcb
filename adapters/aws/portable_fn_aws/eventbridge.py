# SPDX-License-Identifier: Apache-2.0
"""Amazon EventBridge events: custom events, scheduled rules, and AWS service events.

Envelope: https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html
Scheduled rule event: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html
Mapped by AWS's CloudEvents recipe
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destinations-cloudevents.html):
``id`` = id, ``source`` = source, ``type`` = detail-type, ``time`` = time, ``data`` = detail.
A ``detail`` that is a structured CloudEvent (what ``pf.emit`` puts) is that event itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from portable_fn.events import CloudEvent, from_dict, new_id, parse_time, schedule_data
from portable_fn_aws import s3
from portable_fn_aws._common import UTC, require

TRIGGER = "eventbridge"
SCHEDULE_SOURCE = "aws.events"
SCHEDULE_TYPE = "Scheduled Event"


def matches(event: Any) -> bool:
    return isinstance(event, dict) and "detail-type" in event and "source" in event


def to_event(event: dict[str, Any]) -> CloudEvent:
    """The CloudEvent an EventBridge event stands for: S3's object created / deleted events as
    storage events (``s3.from_eventbridge``), anything else by AWS's recipe.

    S3's other events on the bus (``Object Restore Completed``, ``Object Tags Added``...,
    https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-s3.html) and CloudTrail's
    ``AWS API Call via CloudTrail`` from ``aws.s3`` are not storage events, but a function
    routed to them by ``detail-type`` (``@app.event("Object*", source="aws.s3")``) asked for
    them: they go by the recipe too. A storage function skips them, as its filter skips every
    event without a created / deleted ``action``.
    """
    detail = event.get("detail")
    if type(detail) is dict and "specversion" in detail:
        return from_dict(detail)
    source = require(event, "source", TRIGGER)
    if source == "aws.s3":
        storage = s3.from_eventbridge(event)
        if storage is not None:
            return storage
    return CloudEvent(
        id=require(event, "id", TRIGGER),
        source=source,
        type=require(event, "detail-type", TRIGGER),
        time=event.get("time"),
        datacontenttype="application/json",
        data=detail,
    )


def schedule_event(event: Any, expression: str, request_id: str | None = None) -> CloudEvent:
    """A scheduled run. EventBridge rules send a ``Scheduled Event``; EventBridge Scheduler sends
    whatever input it was given (often ``{}``), so every field falls back to "now", except the
    ``id``: the invocation's ``request_id``, which Lambda keeps on the retries of an
    asynchronous invocation (Scheduler invokes asynchronously), so a function that failed and
    is run again sees the same event id, as with a rule's ``Scheduled Event``, and an
    idempotency guard keyed on it holds. A new id only without one (run outside Lambda).

    Only an event in EventBridge's envelope (``matches``: ``detail-type`` and ``source``) is
    read as one: a Scheduler input is the user's own JSON, as it is
    (https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-templated.html),
    whose ``id`` or ``time`` keys, if any, mean something else (the same ``id`` on every run,
    a ``time`` that is no timestamp).
    """
    native = event if matches(event) else {}
    raw_time = native.get("time")
    scheduled = parse_time(raw_time) if isinstance(raw_time, str) else datetime.now(UTC)
    resources = native.get("resources")
    subject = resources[0] if isinstance(resources, list) and resources else None
    return CloudEvent(
        id=str(native.get("id") or request_id or new_id()),
        source=str(native.get("source") or SCHEDULE_SOURCE),
        type=str(native.get("detail-type") or SCHEDULE_TYPE),
        subject=subject if isinstance(subject, str) else None,
        time=scheduled,
        datacontenttype="application/json",
        data=schedule_data(expression=expression, scheduled_time=scheduled),
    )
