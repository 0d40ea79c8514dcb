"""The runtime in-process: background loops survive their own failures."""

from __future__ import annotations

import asyncio
import io
import json
import time
from pathlib import Path

import pytest

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


def test_a_second_runtime_on_the_same_state_dir_is_refused_at_start(tmp_path: Path) -> None:
    """``portable_fn.asgi.asgi(app)`` under a server with two workers (``uvicorn --workers 2``,
    gunicorn) starts two runtimes on one state directory. Only ``dev`` took the lock before:
    the second worker's start recovered the first one's in-flight delivery and ran it again
    beside it (attempt 2 while attempt 1 still ran), and every schedule fired twice."""
    import threading

    import pytest

    from portable_fn.errors import ConfigurationError

    def make() -> pf.App:
        app = pf.App("twice")

        @app.queue("jobs")
        def job(event: pf.CloudEvent, ctx: pf.Context) -> None:
            runs.append(ctx.attempt)
            release.wait(10)

        return app

    runs: list[int] = []
    release = threading.Event()
    options = Options(state_dir=tmp_path, poll_interval=0.01)
    first = Runtime(make(), options, Reporter(json_lines=True, stream=io.StringIO()))
    second = Runtime(make(), options, Reporter(json_lines=True, stream=io.StringIO()))

    async def scenario() -> None:
        await first.start()
        first.accept("queue", "jobs", pf.CloudEvent.create(type="t", source="/tests", data={}))
        deadline = time.monotonic() + 10
        while not runs and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        with pytest.raises(ConfigurationError, match="another portable-fn"):
            await second.start()
        await asyncio.sleep(0.2)  # a second runtime would have claimed it by now
        release.set()
        await first.stop()

    try:
        asyncio.run(scenario())
    finally:
        release.set()
    assert runs == [1]


def test_the_timeout_and_body_limit_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``dev`` reads PORTABLE_FN_TIMEOUT and PORTABLE_FN_MAX_BODY (docs/cli.md): unset keeps the
    defaults, 0 lifts a limit, what is no number is one line (exit 2)."""
    from portable_fn.errors import ConfigurationError

    monkeypatch.delenv("PORTABLE_FN_TIMEOUT", raising=False)
    monkeypatch.delenv("PORTABLE_FN_MAX_BODY", raising=False)
    assert Options(**Options.limits_from_env()) == Options()
    assert (Options().timeout, Options().max_body) == (30.0, 6 * 1024 * 1024)
    monkeypatch.setenv("PORTABLE_FN_TIMEOUT", "0")
    monkeypatch.setenv("PORTABLE_FN_MAX_BODY", "33554432")
    assert Options.limits_from_env() == {"timeout": None, "max_body": 32 * 1024 * 1024}
    for bad in ("soon", "-1", "nan", "inf"):
        monkeypatch.setenv("PORTABLE_FN_TIMEOUT", bad)
        with pytest.raises(ConfigurationError, match="PORTABLE_FN_TIMEOUT"):
            Options.limits_from_env()
