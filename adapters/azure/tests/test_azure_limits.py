# SPDX-License-Identifier: Apache-2.0
"""Declared timeout and memory (``timeout=``, ``memory=``) on Azure: host.json
``functionTimeout`` is app-wide, memory is the plan's, and ``ctx.deadline`` follows the
written timeout. Invocations go through the library's own converters (``worker``), as the
host's would. https://learn.microsoft.com/azure/azure-functions/functions-scale#timeout
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from portable_fn import App
from portable_fn.adapter import Finding
from portable_fn.testing import RecordingPublisher

from portable_fn_azure import function_app, worker
from portable_fn_azure.findings import findings
from portable_fn_azure.limits import function_timeout, host_timeout
from portable_fn_azure.options import AzureOptions
from portable_fn_azure.target import host_json


def _app(*, app_timeout: int | None = None, **timeouts: int | None) -> tuple[App, dict[str, Any]]:
    """An HTTP function ``web`` and a queue function ``job``, each with the timeout given by
    its name (None: undeclared); ``seen`` gets each one's ``ctx.deadline``."""
    app = App("limits", timeout=app_timeout)
    app.use_publisher(RecordingPublisher())
    seen: dict[str, Any] = {}

    @app.http("/web", methods=["GET"], auth="anonymous", timeout=timeouts.get("web"))
    def web(req: Any, ctx: Any) -> dict[str, bool]:
        seen["web"] = ctx.deadline
        return {"ok": True}

    @app.queue("jobs", timeout=timeouts.get("job"))
    def job(event: Any, ctx: Any) -> None:
        seen["job"] = ctx.deadline

    return app, seen


def _limit_findings(app: App) -> list[Finding]:
    words = ("timeout", "memory", "functionTimeout")
    return [f for f in findings(app, AzureOptions()) if any(w in f.message for w in words)]


@pytest.mark.parametrize(("app_timeout", "timeouts", "written"), [
    (None, {}, "00:10:00"),                     # nothing declared: today's value
    (120, {}, "00:02:00"),                      # every function declares 120 s (the app's)
    (None, {"web": 120, "job": 900}, "00:15:00"),  # the longest declared
    (None, {"job": 120}, "00:10:00"),           # web keeps the 600 s it had undeclared
    (None, {"job": 90_000}, "1.01:00:00"),      # a day and more: d.hh:mm:ss, not 25:00:00
])
def test_host_json_function_timeout_is_the_longest_of_the_apps_functions(
        app_timeout: int | None, timeouts: dict[str, int], written: str) -> None:
    app, _ = _app(app_timeout=app_timeout, **timeouts)
    assert host_json(app, AzureOptions())["functionTimeout"] == written


def test_host_timeout_text() -> None:
    assert [host_timeout(s) for s in (1, 59, 600, 3599, 86_399, 86_400, 172_861)] == [
        "00:00:01", "00:00:59", "00:10:00", "00:59:59", "23:59:59", "1.00:00:00",
        "2.00:01:01"]


def test_nothing_declared_reports_nothing() -> None:
    app, _ = _app()
    assert _limit_findings(app) == []


def test_one_timeout_for_every_function_reports_nothing() -> None:
    app, _ = _app(app_timeout=200)
    assert _limit_findings(app) == []


def test_different_timeouts_are_reported_as_app_wide() -> None:
    app, _ = _app(web=60, job=300)
    [finding] = _limit_findings(app)
    assert (finding.function, finding.level) == (None, "info")
    assert "app-wide on Azure: every function gets the longest, 300 s" in finding.message
    assert "web (60 s)" in finding.message


def test_a_shorter_timeout_beside_undeclared_functions_gets_todays_600s() -> None:
    app, _ = _app(job=120)
    [finding] = _limit_findings(app)
    assert "every function gets the longest, 600 s" in finding.message
    assert "job (120 s)" in finding.message


def test_past_the_consumption_maximum_is_a_warning_naming_the_plans_that_allow_it() -> None:
    app, _ = _app(job=1800)
    found = [f for f in _limit_findings(app) if f.level != "info"]
    [finding] = found
    assert (finding.function, finding.level) == ("job", "warning")
    for plan in ("Flex Consumption", "Premium", "Dedicated", "Consumption plan's 10-minute"):
        assert plan in finding.message
    assert "60 minutes" not in finding.message  # within the scale-in grace


def test_past_an_hour_the_warning_names_the_scale_in_grace() -> None:
    app, _ = _app(job=7200)
    [finding] = [f for f in _limit_findings(app) if f.function == "job"]
    assert "60 minutes" in finding.message


def test_an_http_timeout_past_230s_is_a_warning() -> None:
    app, _ = _app(web=300, job=300)
    [finding] = _limit_findings(app)
    assert (finding.function, finding.level) == ("web", "warning")
    assert "230 s" in finding.message and "Load Balancer" in finding.message


def test_an_http_timeout_within_230s_is_not_reported() -> None:
    app, _ = _app(web=230, job=230)
    assert _limit_findings(app) == []


def test_a_declared_memory_is_reported_as_the_plans() -> None:
    app = App("mem", memory=1024)
    app.use_publisher(RecordingPublisher())

    @app.queue("jobs")
    def job(event: Any) -> None: ...

    @app.queue("other", memory=256)
    def other(event: Any) -> None: ...

    found = {f.function: f for f in _limit_findings(app)}
    assert set(found) == {"job", "other"}
    assert found["job"].level == found["other"].level == "warning"
    assert "1024 MB" in found["job"].message and "256 MB" in found["other"].message
    assert "no per-function memory" in found["job"].message
    assert "Flex Consumption" in found["job"].message


def test_the_shop_example_reports_its_nightly_report_limits(shop: Any) -> None:
    app, _ = shop
    assert function_timeout(app) == 600
    found = _limit_findings(app)
    assert [(f.function, f.level) for f in found] == [(None, "info"), ("nightly_report",
                                                                       "warning")]
    assert "nightly_report (120 s)" in found[0].message
    assert "512 MB" in found[1].message


def _deadline_of(app: App, function: str, seen: dict[str, Any], doc: Any) -> tuple[float, ...]:
    before = time.time()
    worker.invoke(function_app(app), function, doc)
    after = time.time()
    return before, seen[function], after


@pytest.mark.parametrize(("timeouts", "expected"), [
    # HTTP at most 230 s: the caller stops waiting then, whatever functionTimeout says.
    ({}, {"web": 230, "job": 600}),            # today's host.json value
    ({"web": 120, "job": 120}, {"web": 120, "job": 120}),
    ({"job": 900}, {"web": 230, "job": 900}),  # app-wide: 900 s for web too, but no caller
    ({"web": 200, "job": 60}, {"web": 200, "job": 200}),
])
def test_deadline_is_the_start_plus_the_written_function_timeout(
        event: Any, timeouts: dict[str, int], expected: dict[str, int]) -> None:
    app, seen = _app(**timeouts)
    for function, doc in (("web", _get("/web")), ("job", event("queue_cloudevent"))):
        before, deadline, after = _deadline_of(app, function, seen, doc)
        wanted = expected[function]
        assert before + wanted <= deadline <= after + wanted, function


def test_every_event_of_a_batch_shares_the_invocations_deadline(event: Any) -> None:
    app = App("streams", timeout=45)
    app.use_publisher(RecordingPublisher())
    deadlines: list[float] = []

    @app.stream("telemetry")
    def telemetry(ev: Any, ctx: Any) -> None:
        deadlines.append(ctx.deadline)

    before = time.time()
    worker.invoke(function_app(app), "telemetry", event("eventhub_many"))
    after = time.time()
    assert len(deadlines) == 3 and len(set(deadlines)) == 1
    assert before + 45 <= deadlines[0] <= after + 45


def test_remaining_time_reads_the_deadline(event: Any) -> None:
    app = App("left", timeout=30)
    app.use_publisher(RecordingPublisher())
    left: list[float | None] = []

    @app.queue("jobs")
    def job(ev: Any, ctx: Any) -> None:
        left.append(ctx.remaining_time)

    worker.invoke(function_app(app), "job", event("queue_cloudevent"))
    assert left[0] is not None and 0 < left[0] <= 30


def test_the_app_with_limits_still_indexes() -> None:
    app, _ = _app(web=200, job=1800)
    names = [f.get_function_name() for f in function_app(app).get_functions()]
    assert names[:2] == ["web", "job"]


def _get(path: str) -> dict[str, Any]:
    return {"binding": "httpTrigger", "data": {"type": "http", "value": {
        "method": "GET", "url": f"https://x.azurewebsites.net{path}", "headers": {},
        "query": {}, "params": {}}}}
