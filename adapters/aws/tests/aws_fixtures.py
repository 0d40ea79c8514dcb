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
