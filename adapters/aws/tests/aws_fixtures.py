# SPDX-License-Identifier: Apache-2.0
"""Shared test helpers (a uniquely named module: every adapter's tests have a conftest)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).parent / "events"


def load(name: str) -> Any:
    return json.loads((EVENTS / name).read_text())


class FakeLambdaContext:
    """Stands in for the runtime's context object in in-process tests; the awslambdaric tests
    (test_aws_runtime.py) use the real one."""

    aws_request_id = "3f1c6a5e-0000-4000-8000-000000000001"
    function_name = "test-function"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    memory_limit_in_mb = 128

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def dead_letter_queue(monkeypatch: Any, name: str) -> str:
    """A queue on moto's SQS named ``name``, set as the function's ``PF_DEAD_LETTER_URL``."""
    import boto3

    url: str = boto3.client("sqs").create_queue(QueueName=name)["QueueUrl"]
    monkeypatch.setenv("PF_DEAD_LETTER_URL", url)
    return url


def dead_letters(url: str) -> list[dict[str, Any]]:
    """What the dead-letter queue at ``url`` holds, with its message attributes."""
    import boto3

    return boto3.client("sqs").receive_message(  # type: ignore[no-any-return]
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=1
    ).get("Messages", [])
