# SPDX-License-Identifier: Apache-2.0
"""The packaged app under the real Python worker library (PyPI ``azure-functions-runtime``,
the worker for Python 3.13+): it indexes ``function_app.py``, loads every function and runs
invocations built from the host's TypedData; ``pf.send`` lands in Azurite and the message read
back from Azurite is the next invocation. Only the gRPC transport to the host is absent
(``rpc_schema`` declares the messages; the host itself is .NET and cannot run here)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from portable_fn.events import format_time

pytestmark = pytest.mark.skipif(
    sys.version_info < (3, 13),
    reason="azure-functions-runtime, the worker library for Python 3.13+, needs Python 3.13")

APP = textwrap.dedent('''
    import portable_fn as pf

    app = pf.App("runtime")

    @app.http("/jobs", methods=["POST"])
    def submit(req: pf.Request) -> pf.Response:
        event = pf.send("jobs", req.json(), type="com.example.job")
        return pf.Response.json({"event_id": event.id}, status=202)

    @app.queue("jobs", max_retries=2)
    def work(event: pf.CloudEvent, ctx: pf.Context) -> None:
        if event.data.get("fail"):
            raise ValueError("job failed")
        print("WORKED", event.id, event.type, ctx.attempt)

    @app.schedule("rate(5 minutes)")
    def tick(event: pf.CloudEvent) -> None:
        print("TICK", event.data["scheduled_time"])
''')


def _run(out: Path, script: list[dict[str, Any]], env: dict[str, str]) -> dict[str, Any]:
    script_file = out.parent / "script.json"
    script_file.write_text(json.dumps(script))
    done = subprocess.run(
        [sys.executable, str(Path(__file__).parent / "runtime_driver.py"), str(out),
         str(script_file)], capture_output=True, text=True, timeout=120, cwd=out, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["stdout"] = done.stdout
    return result


def test_worker_library_indexes_and_invokes_the_package(tmp_path: Path, azurite: str) -> None:
    import os

    from portable_fn.app import App

    from portable_fn_azure.adapter import AzureAdapter
    from portable_fn_azure.publisher import queue_client

    source = tmp_path / "src" / "jobs_app.py"
    source.parent.mkdir()
    source.write_text(APP)
    sys.path.insert(0, str(source.parent))
    try:
        import jobs_app

        app: App = jobs_app.app
        out = tmp_path / "azure"
        AzureAdapter().package(app, str(source), out)
    finally:
        sys.path.remove(str(source.parent))
    env = {**os.environ, "AzureWebJobsStorage": azurite, "FUNCTIONS_WORKER_RUNTIME": "python"}
    body = {"type": "http", "value": {
        "method": "POST", "url": "https://runtime.azurewebsites.net/jobs",
        "headers": {"content-type": "application/json"}, "body": '{"size": 3}'}}
    # A scheduled run as it fires: its occurrence (Next) this minute. One far in the past, not
    # past due, is a manual run on a stale status, named after its own second (timer.py).
    due = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    timer = {"type": "json", "value": {"Schedule": {"AdjustForDST": True}, "IsPastDue": False,
             "ScheduleStatus": {"Last": format_time(due - timedelta(minutes=5)),
                                "Next": format_time(due),
                                "LastUpdated": format_time(due - timedelta(minutes=5))}}}
    first = _run(out, [{"function": "submit", "arg": "req", "data": body},
                       {"function": "tick", "arg": "timer_request", "data": timer}], env)
    assert first["init"], first["init_error"]
    assert set(first["functions"]) == {"submit", "work", "tick", "portable_fn_fallback"}
    assert first["functions"]["work"]["raw_bindings"][0]["queueName"] == "jobs"
    assert first["functions"]["tick"]["raw_bindings"][0]["schedule"] == "0 */5 * * * *"
    submitted, ticked = first["invocations"]
    assert submitted["ok"] and submitted["status"] == 202, submitted
    event_id = json.loads(submitted["body"])["event_id"]
    assert ticked["ok"] and f"TICK {format_time(due)}" in first["stdout"]

    # The message pf.send wrote, read back from Azurite the way the queue trigger reads it.
    client = queue_client(azurite, "jobs")
    [message] = list(client.receive_messages(visibility_timeout=30))
    metadata = {"Id": message.id, "DequeueCount": message.dequeue_count,
                "InsertionTime": message.inserted_on.isoformat(),
                "PopReceipt": message.pop_receipt}
    failing = json.loads(message.content)
    failing["data"] = {"fail": True}
    second = _run(out, [
        {"function": "work", "arg": "msg", "metadata": metadata,
         "data": {"type": "bytes", "base64": base64.b64encode(message.content).decode()}},
        {"function": "work", "arg": "msg", "metadata": {**metadata, "DequeueCount": 2},
         "data": {"type": "string", "value": json.dumps(failing)}},
    ], env)
    worked, failed = second["invocations"]
    assert worked["ok"], worked
    assert f"WORKED {event_id} com.example.job 1" in second["stdout"]
    assert not failed["ok"] and "job failed" in failed["error"]  # the host will redeliver
    client.delete_message(message)


def test_worker_library_hands_an_event_grid_function_the_event_json(tmp_path: Path) -> None:
    """The Event Grid entry takes ``event: str``: the worker binds it through its generic
    binding (the event's JSON text), so an event time with a UTC offset, which the library's
    ``EventGridEventInConverter`` cannot parse, reaches the handler in both schemas
    (https://learn.microsoft.com/azure/event-grid/event-schema, cloud-event-schema)."""
    import os

    from portable_fn.app import App

    from portable_fn_azure.adapter import AzureAdapter

    source = tmp_path / "src" / "grid_app.py"
    source.parent.mkdir()
    source.write_text(textwrap.dedent('''
        import portable_fn as pf

        app = pf.App("grid")

        @app.event("com.example.invoice.paid")
        def paid(event: pf.CloudEvent) -> None:
            print("PAID", event.id, event.time.isoformat(), event.data["invoice"])
    '''))
    sys.path.insert(0, str(source.parent))
    try:
        import grid_app

        app: App = grid_app.app
        out = tmp_path / "azure"
        AzureAdapter().package(app, str(source), out)
    finally:
        sys.path.remove(str(source.parent))
    cloudevent = {"specversion": "1.0", "type": "com.example.invoice.paid", "source": "/billing",
                  "id": "A1", "time": "2026-11-23T15:45:00+05:30", "data": {"invoice": 42}}
    eventgrid = {"id": "1807", "topic": "/billing", "subject": "invoice/43",
                 "eventType": "com.example.invoice.paid", "data": {"invoice": 43},
                 "eventTime": "2026-11-23T12:15:00.1234567+02:00", "dataVersion": "1.0",
                 "metadataVersion": "1"}
    result = _run(out, [
        {"function": "paid", "arg": "event", "data": {"type": "json", "value": json.dumps(e)}}
        for e in (cloudevent, eventgrid)], {**os.environ, "FUNCTIONS_WORKER_RUNTIME": "python"})
    assert result["init"], result["init_error"]
    assert all(step["ok"] for step in result["invocations"]), result["invocations"]
    assert "PAID A1 2026-11-23T15:45:00+05:30 42" in result["stdout"]
    assert "PAID 1807 2026-11-23T12:15:00.123456+02:00 43" in result["stdout"]
