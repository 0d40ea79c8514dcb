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


def packaged(root: Path, module: str, source: str) -> tuple[Path, set[str]]:
    """``source`` written as ``root/src/<module>.py``, packaged as the CLI packages it, and its
    ``app.zip`` unzipped as Lambda's task root: that folder, and the zip's entry names."""
    import sys
    import zipfile

    from portable_fn.testing import load_app
    from portable_fn_aws.adapter import adapter

    (root / "src").mkdir()
    app_file = root / "src" / f"{module}.py"
    app_file.write_text(source)
    sys.path.insert(0, str(app_file.parent))
    try:
        adapter.package(load_app(str(app_file)), str(app_file), root / "out")
    finally:
        sys.path.remove(str(app_file.parent))
        sys.modules.pop(module, None)
    with zipfile.ZipFile(root / "out" / "app.zip") as archive:
        archive.extractall(root / "task")
        return root / "task", set(archive.namelist())


class Functions:
    """Starts a packaged function under awslambdaric against its own Runtime API emulator
    (``functions("name")``); ``stop`` ends every one a test started."""

    def __init__(self, task: Path, env: dict[str, str]) -> None:
        self.task, self.env = task, env
        self.started: list[tuple[Any, Any]] = []

    def __call__(self, function: str) -> Any:
        from runtime_api import RuntimeAPI, RuntimeProcess

        api = RuntimeAPI().__enter__()
        self.started.append(
            (api, RuntimeProcess(api, self.task, f"pf_entry.{function}", self.env))
        )
        return api

    def stop(self) -> None:
        for api, process in self.started:
            process.stop()
            api.__exit__(None, None, None)
