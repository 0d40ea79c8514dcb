"""The runtime in-process: background loops survive their own failures."""

from __future__ import annotations

import asyncio
import io
import json
import time
from pathlib import Path

import portable_fn as pf
from portable_fn._local.report import Reporter
from portable_fn._local.runtime import Options, Runtime


def test_a_failing_background_loop_is_reported_and_restarted(tmp_path: Path) -> None:
    app = pf.App("files")

    @app.storage("inbox")
    def on_file(event: pf.CloudEvent) -> None: ...

    out = io.StringIO()
    runtime = Runtime(
        app, Options(state_dir=tmp_path, poll_interval=0.01), Reporter(json_lines=True, stream=out)
    )
    real_scan = runtime.watcher.scan
    calls: list[int] = []

    def flaky_scan() -> int:
        # Failure injection: the first scan fails as a full disk or a bad file would.
        calls.append(1)
        if len(calls) == 1:
            raise OSError("disk on fire")
        return real_scan()

    runtime.watcher.scan = flaky_scan  # type: ignore[method-assign]

    async def scenario() -> None:
        await runtime.start()
        # The supervisor waits a second before the restart: generous for a loaded machine.
        deadline = time.monotonic() + 30
        while len(calls) < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await runtime.stop()

    asyncio.run(scenario())
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    errors = [r for r in records if r["event"] == "error"]
    assert len(errors) == 1 and "bucket watcher failed" in errors[0]["message"]
    assert "disk on fire" in errors[0]["message"]
    assert len(calls) >= 3  # scanning went on after the failure
