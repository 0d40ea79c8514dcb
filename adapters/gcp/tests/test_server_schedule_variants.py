# SPDX-License-Identifier: Apache-2.0
"""The real runtime, Cloud Scheduler HTTP-target jobs configured with a body and headers of
their own (``HttpTarget.body`` / ``HttpTarget.headers``:
https://cloud.google.com/scheduler/docs/reference/rpc/google.cloud.scheduler.v1#httptarget), and a
Pub/Sub-target job whose message is pushed straight to the function."""

from __future__ import annotations

import base64
import json
from typing import Any

from conftest import Recorder, Servers, load, raw

SCHEDULER = {
    "X-CloudScheduler": "true",
    "X-CloudScheduler-JobName": "at-night",
    "X-CloudScheduler-ScheduleTime": "2026-11-23T03:30:00.000Z",
    "User-Agent": "Google-Cloud-Scheduler",
}


def test_http_target_with_a_json_body_and_content_type_is_a_run(
    probe: Servers, recorder: Recorder
) -> None:
    """A job may set any body and ``Content-Type`` (the default is application/octet-stream);
    the ``X-CloudScheduler-*`` headers Google adds make it a run whatever they are, even a
    CloudEvents content type on a body that is no CloudEvent."""
    for content_type in ("application/json", "application/cloudevents+json"):
        status, _, _ = probe["at_night"].request(
            body=b'{"task": "cleanup"}', headers={**SCHEDULER, "Content-Type": content_type}
        )
        assert status == 200, content_type
    events = [r["event"] for r in recorder.records() if r["function"] == "at_night"]
    assert [e["id"] for e in events] == ["at-night@2026-11-23T03:30:00Z"] * 2
    assert events[0]["data"]["expression"] == "30 3 * * *"


def test_malformed_cloudevent_to_a_schedule_function_is_json_400(
    probe: Servers, recorder: Recorder
) -> None:
    """Without Scheduler headers a structured body must be a valid CloudEvent; one that is not
    is bad input (4xx, JSON, no traceback), not a crash of the function."""
    status, headers, body = probe["at_night"].request(
        body=b'{"id": "x"}', headers={"Content-Type": "application/cloudevents+json"}
    )
    assert status == 400
    assert headers["content-type"] == ["application/json"]
    assert json.loads(body)["error"]["status"] == 400
    assert b"Traceback" not in body
    assert recorder.records() == []


def _malformed_lines(server: Any) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("message") == "malformed delivery"]


def test_an_unreadable_schedule_time_is_an_error_line_and_a_json_400(
    probe: Servers, recorder: Recorder
) -> None:
    """``X-CloudScheduler-ScheduleTime`` is RFC 3339; one that is not was a 400 with no log
    line at all, so a broken job failed unseen. It is a malformed delivery, logged at ERROR as
    any other; a schedule function has no dead-letter topic, so the JSON 400 stands (Cloud
    Scheduler logs the failed attempt: https://cloud.google.com/scheduler/docs/configuring/retry-jobs)."""
    before = len(_malformed_lines(probe["at_night"]))
    status, headers, body = probe["at_night"].request(
        headers={**SCHEDULER, "X-CloudScheduler-ScheduleTime": "x"}
    )
    assert status == 400
    assert headers["content-type"] == ["application/json"]
    assert json.loads(body)["error"]["status"] == 400
    [line] = _malformed_lines(probe["at_night"])[before:]
    assert (line["severity"], line["function"], line["field"]) == ("ERROR", "at_night", "time")
    assert recorder.records() == []


def test_pubsub_target_job_pushed_to_the_function_runs_at_its_publish_time(
    probe: Servers, recorder: Recorder
) -> None:
    """A Pub/Sub-target job (https://cloud.google.com/scheduler/docs/schedule-run-cron-job-pubsub)
    whose topic has a push subscription to the function's URL: the request is the bare push
    body (https://cloud.google.com/pubsub/docs/push#receive_push). The run is the message's
    publishTime, as through Eventarc, and a redelivery keeps the event id, so it is
    recognisably the same run; it is not "now" with a fresh id each time.

    Body: ``push_documented.json``, the push page's example, verbatim.
    """
    for _ in range(2):  # the same message pushed again, as Pub/Sub redelivers it
        status, _, _ = probe["at_night"].request(
            body=raw("push_documented.json"), headers={"Content-Type": "application/json"}
        )
        assert status == 200
    events = [r["event"] for r in recorder.records() if r["function"] == "at_night"]
    assert [e["data"]["scheduled_time"] for e in events] == ["2021-02-26T19:13:55.749000Z"] * 2
    # The message names no job: the run is the job deploy.sh makes, as for a manual call.
    assert events[0]["id"] == events[1]["id"] == "probe-at-night@2021-02-26T19:13:55.749000Z"
    assert events[0]["type"] == "google.cloud.scheduler.job.v1.executed"


def test_pubsub_target_job_pushed_unwrapped_runs_as_pushed_wrapped(
    probe: Servers, recorder: Recorder
) -> None:
    """A Pub/Sub-target job sets the message's data and attributes
    (https://cloud.google.com/scheduler/docs/reference/rpc/google.cloud.scheduler.v1#pubsubtarget);
    one carrying a CloudEvent in the Pub/Sub binding's structured mode, pushed unwrapped with
    write metadata (https://cloud.google.com/pubsub/docs/payload-unwrapping), has that
    attribute as its ``Content-Type`` header. It was read as an HTTP CloudEvent, no Scheduler
    run, and acknowledged without running; it is the same Pub/Sub message as when pushed
    wrapped, so the same run at its publish time.
    """
    event = {"specversion": "1.0", "id": "job-1", "source": "/jobs", "type": "com.example.tick"}
    data = json.dumps(event).encode()
    attributes = {"content-type": "application/cloudevents+json; charset=utf-8"}
    sample = load("push_unwrapped.json")
    headers = {**{k: v for k, v in sample["headers"].items() if k != "Content-Type"},
               **attributes}
    status, _, _ = probe["at_night"].request(body=data, headers=headers)
    assert status == 200
    wrapped = {
        "message": {"data": base64.b64encode(data).decode(), "attributes": attributes,
                    "messageId": headers["x-goog-pubsub-message-id"],
                    "publishTime": headers["x-goog-pubsub-publish-time"]},
        "subscription": headers["x-goog-pubsub-subscription-name"],
    }
    status, _, _ = probe["at_night"].request(
        body=json.dumps(wrapped).encode(), headers={"Content-Type": "application/json"}
    )
    assert status == 200
    events = [r["event"] for r in recorder.records() if r["function"] == "at_night"]
    assert [e["id"] for e in events] == ["probe-at-night@2021-02-26T19:13:55.749000Z"] * 2


def test_pubsub_target_job_pushed_again_counts_its_delivery_attempt(
    probe: Servers, recorder: Recorder
) -> None:
    """A push subscription with a dead-letter policy sends ``deliveryAttempt``
    (https://cloud.google.com/pubsub/docs/push#receive_push); a schedule run's ``ctx.attempt``
    is that count, as an event function's is.

    Body: ``push_documented.json``, the push page's example, with ``deliveryAttempt`` added.
    """
    body = {**load("push_documented.json"), "deliveryAttempt": 3}
    status, _, _ = probe["at_night"].request(
        body=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    assert status == 200
    [record] = [r for r in recorder.records() if r["function"] == "at_night"]
    assert record["attempt"] == 3
    assert record["event"]["id"] == "probe-at-night@2021-02-26T19:13:55.749000Z"


def test_a_manual_call_names_the_job_deploy_sh_makes(probe: Servers, recorder: Recorder) -> None:
    """Someone calling a schedule function's URL by hand sends no ``X-CloudScheduler-*``
    headers: the run is named after the job ``deploy.sh`` creates for it (``<app>-<function>``,
    ``names.job_name``), as Scheduler's own runs are, not after the Python function."""
    status, _, _ = probe["at_night"].request(body=b"", headers={})
    assert status == 200
    [event] = [r["event"] for r in recorder.records() if r["function"] == "at_night"]
    assert event["source"].endswith("/jobs/probe-at-night")
    assert event["id"].startswith("probe-at-night@")
