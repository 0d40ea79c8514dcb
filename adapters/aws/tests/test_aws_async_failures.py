# SPDX-License-Identifier: Apache-2.0
"""Asynchronous invocations (S3, EventBridge, schedules) that fail, against moto's SQS on
127.0.0.1: a failure retrying can fix is raised, so Lambda retries it (MaximumRetryAttempts)
and then writes it to the on-failure queue; one it cannot fix (``pf.NonRetryable``, an
undecodable record) is written to that queue by the function at once, as Lambda's invocation
record, and the invocation succeeds with its retries unspent.

Record shape: https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from datetime import datetime, timezone
from typing import Any

import pytest

import portable_fn as pf
from portable_fn_aws import lambda_handler, native

from aws_fixtures import FakeLambdaContext, dead_letter_queue, dead_letters

CTX = FakeLambdaContext()


def _app() -> pf.App:
    app = pf.App("async")

    @app.storage("uploads")
    def on_upload(event: pf.CloudEvent) -> None:
        _fail(event.data["key"])

    @app.event("com.example.paid")
    def paid(event: pf.CloudEvent) -> None:
        _fail(event.data["how"])

    @app.schedule("rate(5 minutes)")
    def tick(event: pf.CloudEvent) -> None:
        raise pf.NonRetryable("the report it builds was retired")

    return app


def _fail(how: str) -> None:
    if how == "final":
        raise pf.NonRetryable("order references a deleted customer")
    if how == "flaky":
        raise TimeoutError("try again")


def _upload(key: str) -> dict[str, Any]:
    record = native.s3_record(bucket="uploads", key=key, size=3, etag="e", action="created")
    return {"Records": [record]}


def _paid(how: str) -> dict[str, Any]:
    return native.eventbridge_event("com.example.paid", "com.example.billing", {"how": how})


@pytest.mark.parametrize(
    ("function", "event"),
    [("on_upload", _upload("final")), ("paid", _paid("final"))],
    ids=["s3", "eventbridge"],
)
def test_a_final_failure_is_dead_lettered_as_lambdas_invocation_record(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, function: str, event: Any
) -> None:
    url = dead_letter_queue(monkeypatch, "async-failed")
    out = io.StringIO()
    with redirect_stdout(out):
        assert lambda_handler(_app(), function)(event, CTX) is None  # no error: no retries
    (message,) = dead_letters(url)
    record = json.loads(message["Body"])
    assert record["version"] == "1.0"
    assert datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00")).tzinfo is not None
    assert record["requestContext"] == {
        "requestId": CTX.aws_request_id,
        "functionArn": CTX.invoked_function_arn,
        "condition": "NonRetryable",
    }
    assert record["requestPayload"] == event  # the native event, as Lambda keeps it
    assert record["responsePayload"] == {
        "errorType": "NonRetryable",
        "errorMessage": "order references a deleted customer",
    }
    reason = message["MessageAttributes"]["pf-failure-reason"]["StringValue"]
    assert reason == "NonRetryable: order references a deleted customer"
    # The failure is still logged, once, as an ERROR line with the event's id.
    (line,) = [json.loads(s) for s in out.getvalue().splitlines() if '"ERROR"' in s]
    assert line["error_type"] == "NonRetryable"


def test_a_schedule_that_cannot_succeed_is_dead_lettered(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = dead_letter_queue(monkeypatch, "async-failed")
    event = native.scheduled_event(datetime(2026, 12, 6, 7, 0, tzinfo=timezone.utc))
    with redirect_stdout(io.StringIO()):
        assert lambda_handler(_app(), "tick")(event, CTX) is None
    (message,) = dead_letters(url)
    assert json.loads(message["Body"])["requestPayload"] == event


@pytest.mark.parametrize(
    ("function", "event"),
    [("on_upload", _upload("flaky")), ("paid", _paid("flaky"))],
    ids=["s3", "eventbridge"],
)
def test_a_failure_retrying_can_fix_is_raised_for_lambda_to_retry(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, function: str, event: Any
) -> None:
    url = dead_letter_queue(monkeypatch, "async-failed")
    with redirect_stdout(io.StringIO()), pytest.raises(TimeoutError, match="try again"):
        lambda_handler(_app(), function)(event, CTX)
    assert dead_letters(url) == []


def test_one_retryable_failure_retries_the_whole_invocation(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two records in one invocation (S3 sends one; the shape allows more): a retry runs both
    again, so a final failure beside a retryable one is not dead-lettered on its own."""
    url = dead_letter_queue(monkeypatch, "async-failed")
    event = {"Records": [*_upload("final")["Records"], *_upload("flaky")["Records"]]}
    with redirect_stdout(io.StringIO()), pytest.raises(pf.NonRetryable):
        lambda_handler(_app(), "on_upload")(event, CTX)
    assert dead_letters(url) == []


def test_an_undecodable_record_is_dead_lettered(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = dead_letter_queue(monkeypatch, "async-failed")
    event = _upload("final")
    del event["Records"][0]["s3"]["object"]["key"]
    out = io.StringIO()
    with redirect_stdout(out):
        assert lambda_handler(_app(), "on_upload")(event, CTX) is None
    (message,) = dead_letters(url)
    assert json.loads(message["Body"])["requestPayload"] == event
    assert "could not decode" in out.getvalue()


def test_without_a_dead_letter_queue_the_error_is_raised(aws_env: dict[str, str]) -> None:
    """No PF_DEAD_LETTER_URL (a function deployed without the template): Lambda's own retries
    and on-failure destination take the event."""
    with redirect_stdout(io.StringIO()), pytest.raises(pf.NonRetryable):
        lambda_handler(_app(), "paid")(_paid("final"), CTX)


def test_when_the_dead_letter_queue_refuses_the_error_is_raised(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The event is never lost: Lambda retries it and its destination keeps it."""
    url = dead_letter_queue(monkeypatch, "async-failed")
    monkeypatch.setenv("PF_DEAD_LETTER_URL", url.replace("async-failed", "no-such-queue"))
    out = io.StringIO()
    with redirect_stdout(out), pytest.raises(pf.NonRetryable):
        lambda_handler(_app(), "paid")(_paid("final"), CTX)
    assert "could not dead-letter the event" in out.getvalue()
    assert dead_letters(url) == []


def test_an_undecodable_bus_event_is_dead_lettered(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An EventBridge event whose ``detail`` claims to be a structured CloudEvent but breaks the
    spec (here a CloudEvents 0.3 producer's, which puts the event in ``detail`` as AWS's
    "Sending and receiving CloudEvents with Amazon EventBridge" blog does) decodes no better on
    a retry: like an undecodable S3 or SNS record it goes to the on-failure queue at once. It
    was raised, spending Lambda's two retries on the same bytes."""
    url = dead_letter_queue(monkeypatch, "async-failed")
    detail = {"specversion": "0.3", "id": "e-1", "source": "/billing", "type": "com.example.paid"}
    event = native.eventbridge_event("com.example.paid", "com.example.billing", detail)
    out = io.StringIO()
    with redirect_stdout(out):
        assert lambda_handler(_app(), "paid")(event, CTX) is None
    (message,) = dead_letters(url)
    assert json.loads(message["Body"])["requestPayload"] == event
    assert "could not decode" in out.getvalue()


def test_an_undecodable_bus_event_without_a_dead_letter_queue_is_raised_typed(
    aws_env: dict[str, str],
) -> None:
    from portable_fn.errors import EventDecodeError

    detail = {"specversion": "0.3", "id": "e-1", "source": "/billing", "type": "com.example.paid"}
    event = native.eventbridge_event("com.example.paid", "com.example.billing", detail)
    with redirect_stdout(io.StringIO()), pytest.raises(EventDecodeError, match="specversion"):
        lambda_handler(_app(), "paid")(event, CTX)
