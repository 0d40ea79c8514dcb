# SPDX-License-Identifier: Apache-2.0
"""Cloud Scheduler runs (HTTP target, Pub/Sub target, executed event) to one schedule event."""

from __future__ import annotations

import base64
from datetime import datetime, timezone

import pytest
from portable_fn.errors import EventDecodeError
from portable_fn.events import CloudEvent

from portable_fn_gcp.pubsub import PUBLISHED
from portable_fn_gcp.scheduler import EXECUTED, from_event, from_headers


def test_http_target_headers_any_case() -> None:
    event = from_headers(
        {
            "x-cloudscheduler-jobname": "nightly",
            "X-CloudScheduler-ScheduleTime": "2026-01-01T03:00:00.5Z",
        },
        function="nightly_report",
        expression="rate(1 day)",
    )
    assert event.id == "nightly@2026-01-01T03:00:00.500000Z"
    assert event.type == EXECUTED
    assert event.subject == "nightly_report"
    assert event.data == {
        "expression": "rate(1 day)",
        "scheduled_time": "2026-01-01T03:00:00.500000Z",
    }


def test_manual_call_without_headers_runs_now() -> None:
    before = datetime.now(timezone.utc)
    event = from_headers({}, function="f", expression="0 3 * * *")
    assert event.time is not None and event.time >= before
    assert event.id.startswith("f@")


def test_bad_schedule_time_is_a_decode_error() -> None:
    with pytest.raises(EventDecodeError) as info:
        from_headers({"X-CloudScheduler-ScheduleTime": "soon"}, function="f", expression="x")
    assert (info.value.trigger, info.value.field) == ("schedule", "time")


def test_pubsub_target_uses_publish_time_and_job_attribute() -> None:
    envelope = CloudEvent(
        id="m",
        source="//pubsub.googleapis.com/projects/p/topics/t",
        type=PUBLISHED,
        data={
            "message": {
                "data": base64.b64encode(b"{}").decode(),
                "messageId": "m",
                "publishTime": "2026-02-03T04:05:06Z",
                "attributes": {"job": "j1"},
            }
        },
    )
    event = from_event(envelope, function="f", expression="rate(1 hour)")
    assert event.id == "j1@2026-02-03T04:05:06Z"
    assert event.data["scheduled_time"] == "2026-02-03T04:05:06Z"


def test_executed_event() -> None:
    native = CloudEvent(
        id="x",
        source="//cloudscheduler.googleapis.com/projects/p/locations/l/jobs/nightly",
        type=EXECUTED,
        time="2026-02-03T00:00:00Z",
        data={"customData": ""},
    )
    event = from_event(native, function="f", expression="0 0 * * *")
    assert event.id == "nightly@2026-02-03T00:00:00Z"
    with pytest.raises(EventDecodeError):
        from_event(native.replace(time=None), function="f", expression="0 0 * * *")


def test_an_event_that_is_no_scheduler_run_does_not_run_the_schedule() -> None:
    """A schedule function takes a Scheduler run in the three documented forms (module
    docstring: HTTP target, Pub/Sub target, ``google.cloud.scheduler.job.v1.executed``). A
    CloudEvent of any other type (here a Cloud Storage ``finalized`` event, shaped as
    google-cloudevents ``StorageObjectData`` samples) reaching it is a misrouted trigger: it
    ran the nightly job, with the object's time as the scheduled time. It is acknowledged
    without running, and said (``Decoded.misrouted``)."""
    import portable_fn as pf

    from portable_fn_gcp.route import decode

    app = pf.App("sched")

    @app.schedule(cron="0 3 * * *")
    def nightly(event: pf.CloudEvent) -> None: ...

    stored = CloudEvent(
        id="1", source="//storage.googleapis.com/projects/_/buckets/b",
        type="google.cloud.storage.object.v1.finalized", time="2020-04-23T07:38:57.230Z",
        data={"bucket": "b", "name": "a"}, datacontenttype="application/json",
    )
    decoded = decode(app.function("nightly"), stored)
    assert decoded.event is None and decoded.misrouted
    executed = stored.replace(type=EXECUTED, source="//cloudscheduler.googleapis.com/jobs/x")
    assert decode(app.function("nightly"), executed).event is not None


def test_a_pubsub_target_run_without_a_job_attribute_names_the_job_deploy_sh_made() -> None:
    """A Pub/Sub-target run whose message names no job (Scheduler sets no attributes unless
    the job does: https://cloud.google.com/scheduler/docs/schedule-run-cron-job-pubsub) gets the
    same fallback job as a manual HTTP call, ``<app>-<function>`` (names.job_name): it was the
    bare function name, so moving a job between targets changed the event's source and id."""
    from portable_fn.app import App

    from portable_fn_gcp.route import decode

    app = App("audit")

    @app.schedule("rate(1 hour)")
    def tick(event: CloudEvent) -> None:
        pass

    envelope = CloudEvent(
        id="m",
        source="//pubsub.googleapis.com/projects/p/topics/t",
        type=PUBLISHED,
        data={"message": {"data": "", "messageId": "m", "publishTime": "2026-02-03T04:05:06Z"}},
    )
    headers_event = from_headers({}, function="tick", expression="rate(1 hour)",
                                 job="audit-tick")
    event = decode(app.function("tick"), envelope, app="audit").event
    assert event is not None
    assert event.source == headers_event.source == "//cloudscheduler.googleapis.com/jobs/audit-tick"
    assert event.id == "audit-tick@2026-02-03T04:05:06Z"
