# SPDX-License-Identifier: Apache-2.0
"""The entry point object: sample events, invoke, findings, and the harness's native paths."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from portable_fn import App
from portable_fn.adapter import load_adapter
from portable_fn.events import CloudEvent
from portable_fn.testing import RecordingPublisher

from portable_fn_azure import AzureOptions, worker
from portable_fn_azure.adapter import AzureAdapter


def test_entry_point_is_registered() -> None:
    adapter = load_adapter("azure")
    assert isinstance(adapter, AzureAdapter) and adapter.name == "azure"


def test_every_sample_event_decodes_with_the_library_converters() -> None:
    samples = AzureAdapter().sample_events()
    assert set(samples) == {"http", "queue", "servicebus", "eventgrid", "cloudevent", "storage",
                            "blob", "timer", "eventhub"}
    for name, sample in samples.items():
        assert worker.decode(sample) is not None, name


def test_invoke_runs_the_shop_on_sample_events(shop: Any) -> None:
    app, recorder = shop
    adapter = AzureAdapter()
    samples = adapter.sample_events()
    response = adapter.invoke(app, "create_order", samples["http"])
    assert response.status_code == 202
    adapter.invoke(app, "on_upload", samples["storage"])
    adapter.invoke(app, "invoice_paid", samples["cloudevent"])
    adapter.invoke(app, "nightly_report", samples["timer"])
    assert [p.name for p in recorder.sent] == ["order-events"]


def _app() -> App:
    app = App("findings")
    app.use_publisher(RecordingPublisher())

    @app.queue("aaa", max_retries=2, dead_letter="aaa-poison")
    def a(event: Any) -> None: ...

    @app.queue("bbb", max_retries=6, fifo=True)
    def b(event: Any) -> None: ...

    @app.storage("photos", on=("created", "deleted"))
    def photos(event: Any) -> None: ...

    @app.schedule("rate(7 minutes)")
    def often(event: Any) -> None: ...

    @app.stream("telemetry")
    def telemetry(event: Any) -> None: ...

    return app


def _levels(findings: list[Any]) -> dict[tuple[str | None, str], list[str]]:
    out: dict[tuple[str | None, str], list[str]] = {}
    for f in findings:
        out.setdefault((f.function, f.level), []).append(f.message)
    return out


def test_findings_storage_queues() -> None:
    found = _levels(AzureAdapter().findings(_app()))
    assert ("a", "unsupported") not in found  # aaa-poison is exactly what Azure does
    assert any("host-wide: 7 attempts" in m for m in found[("a", "warning")])
    assert any("do not keep order" in m for m in found[("b", "unsupported")])
    assert any("restarts every full hour" in m for m in found[("often", "warning")])
    # Retried by the timer's retry policy; nothing dead-letters a run that still fails.
    assert any("retried 2 times" in m and "no dead-letter" in m and "Application Insights" in m
               for m in found[("often", "warning")])
    assert any("no per-event failure" in m for m in found[("telemetry", "warning")])


def test_findings_blob_trigger_cannot_see_deletions() -> None:
    found = _levels(AzureAdapter(AzureOptions(storage_events="blob")).findings(_app()))
    assert any("never fires on deletion" in m for m in found[("photos", "unsupported")])


def test_findings_report_names_and_queues_azure_refuses() -> None:
    app = App("names")
    app.use_publisher(RecordingPublisher())

    @app.storage("logs.example.com")  # containers: no '.' and no '--' (Blob naming rules)
    def dotted(event: Any) -> None: ...

    @app.storage("in--box")
    def doubled(event: Any) -> None: ...

    @app.storage("plain-container")
    def plain(event: Any) -> None: ...

    @app.queue("q" * 60)  # its poison queue would be 67 characters: at most 63
    def long(event: Any) -> None: ...

    @app.queue("jobs")
    def first(event: Any) -> None: ...

    @app.queue("jobs")  # competing consumers: each message reaches one of the two
    def second(event: Any) -> None: ...

    for options in (AzureOptions(), AzureOptions(storage_events="blob")):
        found = _levels(AzureAdapter(options).findings(app))
        assert any("logs.example.com" in m for m in found[("dotted", "unsupported")])
        assert any("in--box" in m for m in found[("doubled", "unsupported")])
        assert ("plain", "unsupported") not in found
    found = _levels(AzureAdapter().findings(app))
    assert any("-poison" in m and "63" in m for m in found[("long", "unsupported")])
    assert ("first", "warning") in found and ("jobs", "unsupported") not in found
    assert any("'first'" in m for m in found[("second", "warning")])
    sb = _levels(AzureAdapter(AzureOptions(queues="servicebus")).findings(app))
    assert ("long", "unsupported") not in sb  # Service Bus queues have no poison queue
    assert any("'first'" in m for m in sb[("second", "warning")])


def test_findings_service_bus_queues() -> None:
    found = _levels(AzureAdapter(AzureOptions(queues="servicebus")).findings(_app()))
    assert any("maxDeliveryCount 3" in m for m in found[("a", "info")])
    assert any("session" in m for m in found[("b", "warning")])


def test_findings_service_bus_queue_says_non_retryable_is_retried() -> None:
    """A Service Bus queue redelivers a pf.NonRetryable failure as any other, as a topic's
    subscription does (the harness's delivery fails; no poison queue the adapter could move it
    to): ``inspect`` says so for both."""
    import portable_fn as pf

    app = App("sb")
    app.use_publisher(RecordingPublisher())

    @app.queue("jobs")
    def job(event: Any) -> None:
        raise pf.NonRetryable("never succeeds")

    adapter = AzureAdapter(AzureOptions(queues="servicebus"))
    event = CloudEvent(source="/orders", type="order.created", id="e-1", data={"n": 1})
    assert adapter.harness().deliver(app, "job", [event]) == [False]  # redelivered
    found = _levels(adapter.findings(app))
    assert any("pf.NonRetryable cannot dead-letter at once on Service Bus" in m
               for m in found[("job", "info")])


def test_harness_stream_fails_the_whole_batch() -> None:
    app = App("batch")
    app.use_publisher(RecordingPublisher())

    @app.stream("telemetry")
    def telemetry(event: CloudEvent) -> None:
        if event.data == "bad":
            raise ValueError("bad reading")

    harness = AzureAdapter().harness()
    good = [CloudEvent.create(type="t", source="/s", data=str(i)) for i in range(3)]
    assert harness.deliver(app, "telemetry", good) == [True, True, True]
    bad = [*good, CloudEvent.create(type="t", source="/s", data="bad")]
    assert harness.deliver(app, "telemetry", bad) == [False] * 4


@pytest.mark.parametrize("storage_events", ["eventgrid", "blob"])
def test_harness_storage_both_paths(storage_events: str) -> None:
    app = App("files")
    app.use_publisher(RecordingPublisher())
    seen: list[CloudEvent] = []

    @app.storage("uploads")
    def upload(event: CloudEvent) -> None:
        seen.append(event)

    harness = AzureAdapter(AzureOptions(storage_events=storage_events)).harness()  # type: ignore[arg-type]
    harness.storage(app, "upload", bucket="uploads", key="a/b.txt", size=5, etag="0x1",
                    action="created")
    assert seen[0].data == {"bucket": "uploads", "key": "a/b.txt", "size": 5, "etag": "0x1",
                            "action": "created", "content_type": "application/octet-stream"}


def test_harness_schedule_carries_the_occurrence() -> None:
    app = App("timers")
    app.use_publisher(RecordingPublisher())
    seen: list[CloudEvent] = []

    @app.schedule("0 3 * * *")
    def nightly(event: CloudEvent) -> None:
        seen.append(event)

    when = datetime(2026, 11, 24, 3, 0, tzinfo=timezone.utc)
    AzureAdapter().harness().schedule(app, "nightly", when)
    assert seen[0].data == {"expression": "0 3 * * *", "scheduled_time": "2026-11-24T03:00:00Z"}


def test_cli_invoke_reports_an_http_response_as_its_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The CLI printed Azure's HttpResponse as "<azure.functions.http.HttpResponse object ...>".
    from portable_fn.cli import main

    shop = str(Path(__file__).resolve().parents[3] / "examples" / "shop" / "app.py")
    assert main(["invoke", shop, "create_order", "--provider", "azure", "--event", "http"]) == 0
    result = json.loads(capsys.readouterr().out)["result"]
    assert result["status"] == 202 and result["base64"] is False
    assert json.loads(result["body"])["id"] == "o-1"
    assert result["headers"]["content-type"].startswith("application/json")


def test_findings_names_and_routes_the_host_refuses() -> None:
    # The host looks functions up by name ignoring case (FunctionMetadataManager,
    # OrdinalIgnoreCase), keeps routes beginning with "admin" or "runtime" for itself
    # ("The specified route conflicts with one or more built in routes", ScriptHost
    # .ValidateHttpFunction) and serves an empty route at the function's name.
    app = App("clash")

    @app.http("/orders", auth="anonymous")
    def orders(req: Any) -> str: ...

    @app.http("/Orders/{id}", auth="anonymous")
    def Orders(req: Any) -> str: ...

    @app.http("/administration/users")
    def admin_users(req: Any) -> str: ...

    @app.http("/runtime/status")
    def status(req: Any) -> str: ...

    @app.http("/")
    def home(req: Any) -> str: ...

    @app.http("/admins-guide")  # only the first segment's prefix counts, as the host reads it
    def guide(req: Any) -> str: ...

    @app.http("/help/admin")
    def help_admin(req: Any) -> str: ...

    @app.queue("portable-jobs", name="portable_fn_fallback")
    def taken(event: Any) -> None: ...

    found = _levels(AzureAdapter().findings(app))
    assert any("'orders'" in m for m in found[("Orders", "unsupported")])
    assert ("orders", "unsupported") not in found
    assert any("built in" in m for m in found[("admin_users", "unsupported")])
    assert any("built in" in m for m in found[("status", "unsupported")])
    assert any("built in" in m for m in found[("guide", "unsupported")])
    assert ("help_admin", "unsupported") not in found
    assert any("/home" in m for m in found[("home", "unsupported")])
    assert any("portable_fn_fallback" in m for m in found[("portable_fn_fallback", "unsupported")])
    no_fallback = _levels(AzureAdapter(AzureOptions(http_fallback=False)).findings(app))
    assert ("portable_fn_fallback", "unsupported") not in no_fallback
