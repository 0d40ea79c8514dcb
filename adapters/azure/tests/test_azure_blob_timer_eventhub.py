# SPDX-License-Identifier: Apache-2.0
"""Blob trigger, timer trigger and Event Hubs trigger through the library's converters."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from portable_fn import App
from portable_fn.testing import RecordingPublisher

from portable_fn_azure import AzureOptions, blob_trigger, eventhub, function_app, timer, worker


def test_blob_trigger_input_stream(event: Any) -> None:
    ce = blob_trigger.to_event(worker.decode(event("blob_trigger")))
    assert ce.type == "Microsoft.Storage.BlobCreated"
    assert ce.subject == "photos/cat.png"
    assert ce.id == "uploads/photos/cat.png@0x8D4BCC2E4835CD0"
    assert ce.time == datetime(2026, 11, 23, 10, 15, 2, tzinfo=timezone.utc)
    assert ce.data == {"bucket": "uploads", "key": "photos/cat.png", "size": 10,
                       "etag": "0x8D4BCC2E4835CD0", "action": "created",
                       "content_type": "image/png"}


def test_blob_trigger_function_with_the_blob_option(event: Any) -> None:
    app = App("blobs")
    app.use_publisher(RecordingPublisher())
    seen: list[Any] = []

    @app.storage("uploads")
    def upload(ev: Any) -> None:
        seen.append(ev.data["key"])

    worker.invoke(function_app(app, AzureOptions(storage_events="blob")), "upload",
                  event("blob_trigger"))
    assert seen == ["photos/cat.png"]


def test_timer_uses_schedule_status_next_as_the_occurrence(event: Any) -> None:
    started = datetime(2016, 10, 4, 10, 20, 1, 250000, tzinfo=timezone.utc)  # as it fires
    ce = timer.to_event(worker.decode(event("timer")), function="nightly",
                        expression="rate(5 minutes)", now=started)
    assert ce.id == "nightly@2016-10-04T10:20:00Z"
    assert ce.type == "com.microsoft.functions.timer"
    assert ce.data == {"expression": "rate(5 minutes)", "scheduled_time": "2016-10-04T10:20:00Z"}


def test_a_manual_timer_run_is_not_the_next_occurrence(event: Any) -> None:
    """A manual run (portal Test/Run, ``POST /admin/functions/<name>``) is handed the stored
    schedule status, whose ``Next`` is the occurrence to come (the WebJobs timer binding builds
    a manual invocation's ``TimerInfo`` from the monitor's status). It took that occurrence's id,
    so the scheduled run that followed was a duplicate of it to an idempotency guard. Now it is
    named after its own second; the scheduled run, invoked at ``Next`` (or a moment before it),
    keeps ``Next``."""
    native = worker.decode(event("timer"))  # Next 2016-10-04T10:20:00
    manual = datetime(2016, 10, 4, 10, 17, 41, 250000, tzinfo=timezone.utc)
    ce = timer.to_event(native, function="nightly", expression="rate(5 minutes)", now=manual)
    assert ce.id == "nightly@2016-10-04T10:17:41Z"
    assert ce.data["scheduled_time"] == "2016-10-04T10:17:41Z"
    for invoked in (datetime(2016, 10, 4, 10, 19, 59, 900000, tzinfo=timezone.utc),
                    datetime(2016, 10, 4, 10, 20, 0, 30000, tzinfo=timezone.utc)):
        scheduled = timer.to_event(native, function="nightly", expression="rate(5 minutes)",
                                   now=invoked)
        assert scheduled.id == "nightly@2016-10-04T10:20:00Z"


def test_a_manual_run_on_a_stale_status_is_not_the_last_occurrence(event: Any) -> None:
    """The stored status is written after a scheduled run ends, retries included: a manual run
    of a disabled function (or one while the scheduled run still runs) gets a ``Next`` in the
    past. Every such run took that occurrence's id, one id for all of them. A first attempt,
    not past due, more than ten minutes after ``Next`` is named after its own second; a late
    scheduled start, a past-due run and a retry keep the occurrence."""
    doc = event("timer")  # Next 2016-10-04T10:20:00, not past due
    native = worker.decode(doc)
    days_later = datetime(2016, 10, 6, 9, 4, 12, 500000, tzinfo=timezone.utc)
    ids = {timer.to_event(native, function="nightly", expression="rate(5 minutes)",
                          now=days_later + timedelta(minutes=n)).id for n in (0, 1)}
    assert ids == {"nightly@2016-10-06T09:04:12Z", "nightly@2016-10-06T09:05:12Z"}
    occurrence = datetime(2016, 10, 4, 10, 20, tzinfo=timezone.utc)
    late = occurrence + timedelta(seconds=40)  # a cold start's lag
    assert timer.scheduled_time(native, late) == occurrence
    assert timer.scheduled_time(native, days_later, attempt=2) == occurrence  # a retry
    doc["data"]["value"]["IsPastDue"] = True  # the host was down at the occurrence
    assert timer.scheduled_time(worker.decode(doc), days_later) == occurrence


def test_timer_without_monitor_uses_the_invocation_second(event: Any) -> None:
    now = datetime(2026, 11, 23, 3, 0, 0, 812000, tzinfo=timezone.utc)
    ce = timer.to_event(worker.decode(event("timer_no_monitor")), function="f",
                        expression="0 3 * * *", now=now)
    assert ce.data["scheduled_time"] == "2026-11-23T03:00:00Z"


# How the host writes .NET times: round-trip "o" form (7 digits), Json.NET's default (trailing
# zeros dropped, so any of 0 to 7 digits), "Z" or an offset. Python 3.10's fromisoformat reads
# none of the first four; each must read the same on every supported Python.
_DOTNET_TIMES = [
    ("2026-11-23T10:15:02.1234567Z",
     datetime(2026, 11, 23, 10, 15, 2, 123456, tzinfo=timezone.utc)),
    ("2026-11-23T10:15:02.1234567+00:00",
     datetime(2026, 11, 23, 10, 15, 2, 123456, tzinfo=timezone.utc)),
    ("2026-11-23T10:15:02.52Z", datetime(2026, 11, 23, 10, 15, 2, 520000, tzinfo=timezone.utc)),
    ("2026-11-23T11:15:02.12345+01:00",
     datetime(2026, 11, 23, 10, 15, 2, 123450, tzinfo=timezone.utc)),
    ("2026-11-23T10:15:02Z", datetime(2026, 11, 23, 10, 15, 2, tzinfo=timezone.utc)),
]


@pytest.mark.parametrize(("text", "expected"), _DOTNET_TIMES)
def test_blob_trigger_reads_last_modified_as_dotnet_writes_it(
    event: Any, text: str, expected: datetime
) -> None:
    doc = event("blob_trigger")
    doc["metadata"]["Properties"]["LastModified"] = text
    assert blob_trigger.to_event(worker.decode(doc)).time == expected


@pytest.mark.parametrize("text", ["2026-11-23T10:15:02.1234567", "20261123T101502Z", "soon"])
def test_blob_trigger_last_modified_without_offset_or_not_rfc3339_is_no_time(
    event: Any, text: str
) -> None:
    """No offset: the instant is unknown. An ISO 8601 basic form is not RFC 3339 (Python 3.11+
    reads it, 3.10 does not: neither does the adapter)."""
    doc = event("blob_trigger")
    doc["metadata"]["Properties"]["LastModified"] = text
    assert blob_trigger.to_event(worker.decode(doc)).time is None


@pytest.mark.parametrize(("text", "expected"), [
    *_DOTNET_TIMES,
    ("2026-11-23T10:15:02.1234", datetime(2026, 11, 23, 10, 15, 2, 123400, tzinfo=timezone.utc)),
])
def test_timer_reads_next_as_dotnet_writes_it(event: Any, text: str, expected: datetime) -> None:
    """Without an offset the host's time is UTC (the last case)."""
    doc = event("timer")
    doc["data"]["value"]["ScheduleStatus"]["Next"] = text
    # A second after the occurrence, as a scheduled run starts; what a failed read would fall
    # back to (the invocation's whole second) differs from every expected time.
    now = expected + timedelta(seconds=1, microseconds=1)
    due = timer.scheduled_time(worker.decode(doc), now)
    assert due == expected
    assert due.tzinfo is timezone.utc


def test_shop_nightly_report_runs(shop: Any, event: Any) -> None:
    app, _ = shop
    assert worker.invoke(function_app(app), "nightly_report", event("timer")) is None


@pytest.mark.parametrize(("retry_count", "attempt"), [(0, 1), (2, 3)])
def test_a_timer_rerun_by_its_retry_policy_counts_its_attempt(
        event: Any, retry_count: int, attempt: int) -> None:
    """The timer's retry policy reruns a failed run, and the worker says which run this is in
    ``context.retry_context.retry_count`` (0 on the first), as it does for Event Hubs:
    ``ctx.attempt`` is that count + 1.
    https://learn.microsoft.com/azure/azure-functions/functions-bindings-error-pages#retries"""
    app = App("clock")
    attempts: list[int] = []

    @app.schedule("rate(5 minutes)")
    def tick(_: Any, ctx: Any) -> None:
        attempts.append(ctx.attempt)

    context = worker.InvocationContext("tick")
    context.retry_context.retry_count = retry_count
    context.retry_context.max_retry_count = 2
    assert worker.invoke(function_app(app), "tick", event("timer"), context=context) is None
    assert attempts == [attempt]


def test_eventhub_batch(event: Any) -> None:
    events = worker.decode(event("eventhub_many"))
    found = [eventhub.to_event(e, hub="telemetry") for e in events]
    assert [e.id for e in found] == ["3:101", "3:102", "5a5f4a84-6c1e-4b4e-9d5c-9f0d3c1c2b7a"]
    assert dict(found[0].extensions) == {
        "sequence": "00000000000000000101", "partitionkey": "sensor-1"}
    assert found[0].source == "/azure/eventhubs/telemetry"
    assert found[1].data == "not json"
    assert found[2].type == "com.example.fulfilment.requested"  # published by portable-fn


def test_eventhub_utf8_bom_before_json_is_ignored(event: Any) -> None:
    """As on Storage Queues and Service Bus (RFC 8259 section 8.1): JSON data and the
    structured CloudEvent read the same with a leading UTF-8 BOM; text keeps it."""
    doc = event("eventhub_many")
    doc["data"]["value"] = ["\ufeff" + body for body in doc["data"]["value"]]
    found = [eventhub.to_event(e, hub="telemetry") for e in worker.decode(doc)]
    assert [(e.type, e.datacontenttype, e.data) for e in found] == [
        ("com.microsoft.eventhub.event", "application/json", {"reading": 21.5}),
        ("com.microsoft.eventhub.event", "text/plain; charset=utf-8", "\ufeffnot json"),
        ("com.example.fulfilment.requested", "application/json", {"id": "o-1", "sku": "blue-mug"}),
    ]


def _stream_app(fail_on: str | None) -> tuple[App, list[Any]]:
    app = App("streams")
    app.use_publisher(RecordingPublisher())
    seen: list[Any] = []

    @app.stream("telemetry")
    def telemetry(ev: Any) -> None:
        seen.append(ev.id)
        if ev.id == fail_on:
            raise RuntimeError("cannot store reading")

    return app, seen


def test_eventhub_batch_stops_at_a_failure_until_its_retries_run_out(
    event: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A batch is one partition's events in order. The retry policy reruns the whole batch
    (functions-bindings-error-pages#retries), so the events after a failing one wait for that
    rerun instead of running before it (``@app.stream``: partition order, as Lambda resumes a
    shard at the failed sequence number). On the last run the checkpoint moves past the batch
    whatever happens (functions-reliable-event-processing), so then every event runs, and the
    ones given up are logged with their partition and sequence numbers."""
    app, seen = _stream_app(None)
    worker.invoke(function_app(app), "telemetry", event("eventhub_many"))
    assert len(seen) == 3
    app, seen = _stream_app("3:102")
    native = function_app(app)
    with pytest.raises(RuntimeError):  # the retry policy reruns the batch
        worker.invoke(native, "telemetry", event("eventhub_many"))
    assert seen == ["3:101", "3:102"]  # the third waits: it must not overtake 3:102
    capsys.readouterr()
    seen.clear()
    context = worker.InvocationContext("telemetry")
    context.retry_context.retry_count = 4  # the default Retry: 4 retries, so the last run
    context.retry_context.max_retry_count = 4
    with pytest.raises(RuntimeError):
        worker.invoke(native, "telemetry", event("eventhub_many"), context=context)
    assert len(seen) == 3  # the checkpoint moves on after this run: nothing is left unrun
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()
             if line.startswith("{")]
    [gave_up] = [line for line in lines if line.get("given_up")]
    assert gave_up["level"] == "ERROR" and gave_up["given_up"] == ["3:102"]
    assert gave_up["partition"] == "3" and gave_up["sequences"] == ["00000000000000000102"]
    assert gave_up["attempts"] == 5


def test_blob_trigger_empty_blob_has_size_zero(event: Any) -> None:
    """An empty blob is ``size`` 0, as Event Grid's ``contentLength`` says for the same blob: the
    library's ``InputStream.length`` reads ``Properties.ContentLength`` 0 as "unknown" (None).
    https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-blob-trigger
    (metadata ``Properties``)."""
    doc = event("blob_trigger")
    doc["data"] = {"type": "bytes", "base64": ""}
    doc["metadata"]["Properties"]["ContentLength"] = 0
    ce = blob_trigger.to_event(worker.decode(doc))
    assert ce.data["size"] == 0
    assert ce.id == "uploads/photos/cat.png@0x8D4BCC2E4835CD0"
