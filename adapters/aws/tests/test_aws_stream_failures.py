# SPDX-License-Identifier: Apache-2.0
"""Kinesis records that fail, against moto's SQS on 127.0.0.1.

A failure retrying can fix stops the shard at that record (its sequence number reported, so
Lambda resumes there). One retrying cannot fix (``pf.NonRetryable``, an undecodable record)
went the same way, so Lambda retried it ``MaximumRetryAttempts`` times with the shard blocked,
then discarded it with the rest of its batch; it is now written to the function's on-failure
queue (``PF_DEAD_LETTER_URL``, which the template sets for stream functions) and the shard goes
on. https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-errors.html
"""

from __future__ import annotations

import base64
import io
import json
from contextlib import redirect_stdout
from typing import Any

import pytest

import portable_fn as pf
from portable_fn_aws import lambda_handler, native

from aws_fixtures import FakeLambdaContext, dead_letter_queue, dead_letters

CTX = FakeLambdaContext()


def _app(seen: list[str]) -> pf.App:
    app = pf.App("streams")

    @app.stream("clicks")
    def clicks(event: pf.CloudEvent) -> None:
        how = event.data["how"]
        if how == "final":
            raise pf.NonRetryable("a click from a deleted page")
        if how == "flaky":
            raise TimeoutError("try again")
        seen.append(how)

    return app


def _batch(*bodies: bytes) -> dict[str, Any]:
    return {
        "Records": [
            native.kinesis_record(body, stream="clicks", sequence=n)
            for n, body in enumerate(bodies, 1)
        ]
    }


BATCH = _batch(b'{"how": "a"}', b'{"how": "final"}', b"", b'{"how": "b"}')
BATCH["Records"][2]["kinesis"]["data"] = "not base64!"  # undecodable: no retry decodes it


def test_records_retrying_cannot_fix_go_to_the_failed_queue_and_the_shard_goes_on(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = dead_letter_queue(monkeypatch, "clicks-failed")
    seen: list[str] = []
    with redirect_stdout(io.StringIO()):
        result = lambda_handler(_app(seen), "clicks")(BATCH, CTX)
    assert result == {"batchItemFailures": []}
    assert seen == ["a", "b"]
    dead = dead_letters(url)
    assert len(dead) == 2
    by_sequence = {json.loads(m["Body"])["kinesis"]["sequenceNumber"]: m for m in dead}
    assert sorted(by_sequence) == [f"{2:056d}", f"{3:056d}"]
    final = by_sequence[f"{2:056d}"]
    assert base64.b64decode(json.loads(final["Body"])["kinesis"]["data"]) == b'{"how": "final"}'
    reason = final["MessageAttributes"]["pf-failure-reason"]["StringValue"]
    assert reason == "NonRetryable: a click from a deleted page"


def test_a_failure_retrying_can_fix_still_stops_the_shard_there(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = dead_letter_queue(monkeypatch, "clicks-failed")
    seen: list[str] = []
    batch = _batch(b'{"how": "a"}', b'{"how": "flaky"}', b'{"how": "b"}')
    with redirect_stdout(io.StringIO()):
        result = lambda_handler(_app(seen), "clicks")(batch, CTX)
    assert result == {"batchItemFailures": [{"itemIdentifier": f"{2:056d}"}]}
    assert seen == ["a"] and dead_letters(url) == []


def test_without_a_failed_queue_the_record_is_reported(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PF_DEAD_LETTER_URL", raising=False)
    seen: list[str] = []
    with redirect_stdout(io.StringIO()):
        result = lambda_handler(_app(seen), "clicks")(BATCH, CTX)
    assert result == {"batchItemFailures": [{"itemIdentifier": f"{2:056d}"}]}
    assert seen == ["a"]
