# SPDX-License-Identifier: Apache-2.0
"""The real runtime, Cloud Scheduler HTTP-target jobs configured with a body and headers of
their own (``HttpTarget.body`` / ``HttpTarget.headers``:
https://cloud.google.com/scheduler/docs/reference/rpc/google.cloud.scheduler.v1#httptarget)."""

from __future__ import annotations

import json

from conftest import Recorder, Servers

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
