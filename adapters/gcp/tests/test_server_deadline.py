# SPDX-License-Identifier: Apache-2.0
"""The real runtime, ``ctx.deadline``: functions-framework hands a function no deadline, so the
adapter sets one at the start of each invocation from the function's timeout (declared, else
gen2's 60 s default, https://cloud.google.com/functions/docs/configuring/timeout).

Each deadline is checked against wall-clock readings taken around the request, not against a
duration: ``start + timeout`` lies between ``before + timeout`` and ``after + timeout``."""

from __future__ import annotations

import time

import pytest
from conftest import Recorder, Servers, binary_headers, raw
from test_server_http import send


def _between(deadline: float, before: float, after: float, timeout: int) -> bool:
    return before + timeout <= deadline <= after + timeout


@pytest.mark.parametrize(
    ("function", "timeout"),
    [("on_message", 300), ("no_retries", 60)],  # declared; none declared: gen2's default
)
def test_event_function_deadline_is_its_timeout(
    probe: Servers, recorder: Recorder, function: str, timeout: int
) -> None:
    before = time.time()
    status, _, _ = probe[function].request(
        body=raw("pubsub_text_data.json"), headers=binary_headers("pubsub_text_data.json")
    )
    after = time.time()
    assert status == 200
    [record] = [r for r in recorder.records() if r["function"] == function]
    assert _between(record["deadline"], before, after, timeout)


def test_http_function_deadline_is_its_declared_timeout(probe: Servers) -> None:
    before = time.time()
    resp = send(probe, "echo", "GET", "/echo/x", [])
    after = time.time()
    assert resp.status == 201
    assert _between(float(resp.headers["x-deadline"]), before, after, 900)


def test_schedule_function_gets_the_default_deadline(probe: Servers, recorder: Recorder) -> None:
    headers = {
        "X-CloudScheduler": "true",
        "X-CloudScheduler-JobName": "at-night",
        "X-CloudScheduler-ScheduleTime": "2024-01-02T03:30:00Z",
    }
    before = time.time()
    status, _, _ = probe["at_night"].request(body=b"", headers=headers)
    after = time.time()
    assert status == 200
    [record] = [r for r in recorder.records() if r["function"] == "at_night"]
    assert _between(record["deadline"], before, after, 60)
