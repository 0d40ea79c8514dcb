# SPDX-License-Identifier: Apache-2.0
"""Timeout and memory on Workers (``limits.py``): ``[limits] cpu_ms`` in wrangler.toml from the
declared timeouts, the findings for what Workers cannot honour, and ``ctx.deadline`` where a
trigger's wall-clock limit is a true deadline, checked on real Pyodide with the real SDK."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pyodide_worker import PyodideWorker, ensure_node_modules, tomllib, wrangler_schema

import portable_fn as pf
from portable_fn.adapter import Finding
from portable_fn_cloudflare import wrangler
from portable_fn_cloudflare.adapter import adapter


def handle(event: pf.CloudEvent) -> None:
    return None


def page(req: pf.Request) -> dict[str, str]:
    return {}


def limit_findings(app: pf.App) -> list[Finding]:
    """The findings about timeout and memory (what this module adds), in order."""
    words = ("cpu", "timeout", "memory", "wall")
    return [f for f in adapter.findings(app) if any(w in f.message.lower() for w in words)]


def test_no_declared_timeout_writes_no_limits_table() -> None:
    # A [limits] table is what the Free plan refuses: none unless a timeout asks for it.
    app = pf.App("plain")
    app.http("/a", auth="anonymous")(page)
    app.queue("jobs")(handle)
    assert "limits" not in wrangler.config(app)
    assert limit_findings(app) == []


def test_cpu_ms_is_the_longest_declared_timeout() -> None:
    app = pf.App("timed")
    app.http("/a", auth="anonymous", timeout=45)(page)
    app.schedule("rate(1 day)", timeout=120, name="report")(handle)
    assert wrangler.config(app)["limits"] == {"cpu_ms": 120_000}


def test_the_apps_timeout_counts_for_every_function() -> None:
    app = pf.App("timed", timeout=90)
    app.http("/a", auth="anonymous")(page)
    app.queue("jobs", timeout=60)(handle)
    assert wrangler.config(app)["limits"] == {"cpu_ms": 90_000}


def test_a_timeout_under_the_default_cpu_time_writes_no_limits() -> None:
    """Declared for another provider, a short timeout must not lower the app-wide CPU limit
    (or keep the Worker off the Free plan, which refuses a [limits] table)."""
    app = pf.App("short", timeout=10)
    app.http("/a", auth="anonymous")(page)
    app.queue("jobs")(handle)
    assert "limits" not in wrangler.config(app)


def test_an_undeclared_function_keeps_the_default_cpu_time() -> None:
    # cpu_ms is app-wide: 10 s would cut the undeclared function below its default 30 s.
    app = pf.App("mixed")
    app.http("/a", auth="anonymous", timeout=10)(page)
    app.queue("jobs")(handle)
    assert "limits" not in wrangler.config(app)


def test_a_stream_functions_timeout_does_not_count() -> None:
    app = pf.App("streamy")
    app.http("/a", auth="anonymous", timeout=45)(page)
    app.stream("clicks", timeout=200)(handle)
    assert wrangler.config(app)["limits"] == {"cpu_ms": 45_000}


def test_cpu_ms_is_capped_at_five_minutes_with_a_warning() -> None:
    app = pf.App("long")
    app.http("/a", auth="anonymous", timeout=600)(page)
    assert wrangler.config(app)["limits"] == {"cpu_ms": 300_000}
    warnings = [f for f in limit_findings(app) if f.level == "warning" and f.function]
    assert [f.function for f in warnings] == ["page"]
    assert "5 minutes of CPU" in warnings[0].message


def test_one_app_wide_warning_says_workers_bound_cpu_not_wall_time() -> None:
    """A written [limits] table keeps the Worker off the Free plan: a warning, not news."""
    app = pf.App("timed")
    app.http("/a", auth="anonymous", timeout=45)(page)
    app.queue("jobs", timeout=120)(handle)
    infos = [f for f in limit_findings(app) if f.function is None]
    assert len(infos) == 1
    assert infos[0].function is None
    message = infos[0].message
    assert "cpu_ms = 120000" in message and "app-wide" in message
    assert "Workers Paid" in message


@pytest.mark.parametrize(
    ("declare", "beyond_wall"),
    [
        (lambda app, t: app.schedule("rate(1 day)", timeout=t)(handle), True),
        (lambda app, t: app.queue("jobs", timeout=t)(handle), True),
        (lambda app, t: app.topic("news", timeout=t)(handle), True),
        (lambda app, t: app.storage("uploads", timeout=t)(handle), True),
        (lambda app, t: app.event("com.example.x", timeout=t)(handle), True),
        # No wall-clock limit while the client stays connected.
        (lambda app, t: app.http("/a", auth="anonymous", timeout=t)(page), False),
    ],
)
def test_a_timeout_past_the_triggers_wall_clock_limit_is_a_warning(
    declare: Any, beyond_wall: bool
) -> None:
    app = pf.App("walls")
    declare(app, 1200)
    walls = [f for f in limit_findings(app) if "15 minutes" in f.message]
    assert [f.level for f in walls] == (["warning"] if beyond_wall else [])
    within = pf.App("walls")
    declare(within, 900)
    assert [f for f in limit_findings(within) if "15 minutes" in f.message] == []


def test_memory_above_128_mb_is_a_warning_per_function() -> None:
    app = pf.App("mem", memory=256)
    app.http("/a", auth="anonymous")(page)
    app.queue("jobs", memory=128)(handle)
    found = limit_findings(app)
    assert [(f.function, f.level) for f in found] == [("page", "warning")]
    assert "128 MB" in found[0].message and "256" in found[0].message
    # Memory is no wrangler.toml setting: nothing is written for it.
    assert "limits" not in wrangler.config(app)


# -- examples/shop: nightly_report declares timeout=120, memory=512 ------------------------


def test_shop_wrangler_toml_raises_cpu_for_the_nightly_report(shop_dist: Path) -> None:
    cfg = tomllib.loads((shop_dist / "wrangler.toml").read_text())
    assert cfg["limits"] == {"cpu_ms": 120_000}
    ensure_node_modules()
    validator = jsonschema.Draft7Validator(wrangler_schema())
    assert [e.message for e in validator.iter_errors(cfg)] == []
    # The check reads the table: a wrong type is caught.
    assert list(validator.iter_errors({**cfg, "limits": {"cpu_ms": "120s"}}))


def test_shop_findings_report_the_nightly_reports_memory() -> None:
    from examples.shop.app import app

    found = limit_findings(app)
    memory = [f for f in found if "memory" in f.message.lower()]
    assert [(f.function, f.level) for f in memory] == [("nightly_report", "warning")]
    assert "512" in memory[0].message


# -- ctx.deadline on real Pyodide ------------------------------------------------------------


@pytest.fixture(scope="module")
def limits_worker(sdk_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from conftest import package_app

    dist = package_app("cf_apps.limits_app:app", tmp_path_factory.mktemp("lim") / "cloudflare")
    worker = PyodideWorker(sdk_dir, dist)
    yield worker
    worker.close()


def _reported(reply: dict[str, Any]) -> dict[str, Any]:
    bodies = [s["body"] for s in reply["sent"] if s["queue"] == "deadlines"]
    assert len(bodies) == 1, reply
    body = bodies[0]
    return body if isinstance(body, dict) else json.loads(body)


def test_cron_and_queue_get_the_fifteen_minute_wall_clock_deadline(
    limits_worker: PyodideWorker,
) -> None:
    ran = limits_worker.call("scheduled", cron="0 3 * * *", scheduledTime=1732320000000)
    assert ran["error"] is None, limits_worker.logs()
    cron = _reported(ran)["data"]
    # The Worker's clock stands still while it computes: what is left is the whole 900 s
    # (not the declared 120 s), less the I/O before the handler ran.
    assert 800 < cron["remaining"] <= 900
    batch = limits_worker.call(
        "queue",
        queue="work",
        messages=[{"id": "m1", "timestamp": 1732320000000, "attempts": 1, "body": {"n": 1}}],
    )
    assert batch["calls"] == [{"id": "m1", "op": "ack"}], limits_worker.logs()
    queued = _reported(batch)["data"]
    assert 800 < queued["remaining"] <= 900


def test_http_has_no_deadline(limits_worker: PyodideWorker) -> None:
    reply = limits_worker.call("fetch", method="GET", url="https://l.example.workers.dev/left")
    assert reply["status"] == 200, limits_worker.logs()
    assert json.loads(base64.b64decode(reply["body_b64"])) == {
        "deadline": None,
        "remaining": None,
    }
