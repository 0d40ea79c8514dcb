# SPDX-License-Identifier: Apache-2.0
"""Declared ``timeout=``/``memory=`` in ``deploy.sh``: the ``gcloud functions deploy`` flags,
Cloud Run's CPU for large memory, the deadlines of what calls the function (Pub/Sub's ack
deadline, Cloud Scheduler's attempt deadline), and the ceilings past which ``package`` refuses
(``inspect`` reports them ``unsupported``)."""

from __future__ import annotations

import re
from pathlib import Path

import portable_fn as pf
import pytest
from portable_fn.errors import ConfigurationError
from test_deploy import deploy_commands, deploy_of, run_with_fake_gcloud

from portable_fn_gcp.adapter import adapter
from portable_fn_gcp.deploy import render
from portable_fn_gcp.plan import build


def _flag(words: list[str], flag: str) -> str | None:
    return words[words.index(flag) + 1] if flag in words else None


def test_declared_timeout_and_memory_are_deploy_flags() -> None:
    app = pf.App("sized")

    @app.http("/report", methods=["GET"], timeout=900, memory=1024)
    def report(req: pf.Request) -> str:
        return "ok"

    words = deploy_of(render(build(app)), "sized-report")
    # gcloud takes a gen2 timeout as a duration ("30s") and memory with a unit; Mi, as the
    # Cloud Run functions memory tiers are written (128 MiB ... 32 GiB).
    assert (_flag(words, "--timeout"), _flag(words, "--memory")) == ("900s", "1024Mi")
    assert "--cpu" not in words


def test_undeclared_limits_are_written_as_gclouds_defaults() -> None:
    """gcloud keeps what an earlier deploy set for a flag left out: an app that stopped
    declaring a timeout would keep the old one, and ``ctx.deadline`` (60 s) would be wrong."""
    app = pf.App("plain")

    @app.topic("news")
    def reader(event: pf.CloudEvent) -> None: ...

    words = deploy_of(render(build(app)), "plain-reader")
    assert (_flag(words, "--timeout"), _flag(words, "--memory")) == ("60s", "256Mi")
    assert "--cpu" not in words


def test_the_apps_limits_apply_to_each_function_and_a_functions_own_win() -> None:
    app = pf.App("shared", timeout=30, memory=256)

    @app.topic("news")
    def reader(event: pf.CloudEvent) -> None: ...

    @app.queue("jobs", timeout=200)
    def worker(event: pf.CloudEvent) -> None: ...

    script = render(build(app))
    assert (_flag(deploy_of(script, "shared-reader"), "--timeout"),
            _flag(deploy_of(script, "shared-reader"), "--memory")) == ("30s", "256Mi")
    assert (_flag(deploy_of(script, "shared-worker"), "--timeout"),
            _flag(deploy_of(script, "shared-worker"), "--memory")) == ("200s", "256Mi")


@pytest.mark.parametrize(
    ("memory", "cpu"),
    [
        (128, None),
        (4096, None),  # 4 GiB: gcloud's own choice from the memory (2 vCPU)
        (4097, "2"),  # more than 4 GiB needs 2
        (8192, "2"),
        (8193, "4"),  # more than 8 GiB needs 4
        (16384, "4"),
        (16385, "6"),  # more than 16 GiB needs 6
        (24576, "6"),
        (24577, "8"),  # more than 24 GiB needs 8
        (32768, "8"),
    ],
)
def test_large_memory_deploys_with_the_cpu_cloud_run_requires(memory: int, cpu: str | None) -> None:
    app = pf.App("big")

    @app.http("/crunch", methods=["POST"], memory=memory)
    def crunch(req: pf.Request) -> str:
        return "ok"

    plan = build(app)
    words = deploy_of(render(plan), "big-crunch")
    assert _flag(words, "--memory") == f"{memory}Mi"
    assert _flag(words, "--cpu") == cpu
    said = [f for f in plan.findings if f.function == "crunch" and "--cpu" in f.message]
    assert bool(said) is (cpu is not None)


def _route(req: pf.Request) -> str:
    return "ok"


def _handler(event: pf.CloudEvent) -> None: ...


def _one(kind: str, timeout: int | None = None, memory: int | None = None) -> pf.App:
    app = pf.App("edge")
    sized = {"name": "sized", "timeout": timeout, "memory": memory}
    if kind == "http":
        app.http("/x", methods=["GET"], **sized)(_route)  # type: ignore[arg-type]
    elif kind == "schedule":
        app.schedule("rate(1 hour)", **sized)(_handler)  # type: ignore[arg-type]
    elif kind == "topic":
        app.topic("news", **sized)(_handler)  # type: ignore[arg-type]
    elif kind == "queue":
        app.queue("jobs", **sized)(_handler)  # type: ignore[arg-type]
    elif kind == "storage":
        app.storage("photos", **sized)(_handler)  # type: ignore[arg-type]
    else:
        app.event("com.example.thing.done", **sized)(_handler)  # type: ignore[arg-type]
    return app


# Ceilings: gen2 HTTP 3600 s, event-driven 540 s; a schedule's Cloud Scheduler HTTP job waits at
# most 1800 s for an answer, a minute of it kept for routing and a cold start; 32 GiB of memory.
@pytest.mark.parametrize(
    ("kind", "timeout", "memory", "word"),
    [
        ("http", 3601, None, "3600"),
        ("schedule", 1741, None, "1740"),
        ("topic", 541, None, "540"),
        ("queue", 541, None, "540"),
        ("storage", 541, None, "540"),
        ("event", 541, None, "540"),
        ("http", None, 32769, "32768"),
        ("topic", None, 40000, "32768"),
        # both past: both said at once (the memory was reported after the timeout was fixed)
        ("queue", 600, 40000, "540.*32768"),
    ],
)
def test_limits_past_the_ceilings_are_refused_and_reported(
    kind: str, timeout: int | None, memory: int | None, word: str
) -> None:
    app = _one(kind, timeout, memory)
    [name] = app.functions
    with pytest.raises(ConfigurationError, match=word) as raised:
        build(app)
    assert raised.value.function == name
    with pytest.raises(ConfigurationError, match=word):
        adapter.package(app, "unused:app", Path("/nonexistent/never-written"))
    reported = [f for f in adapter.findings(app) if f.level == "unsupported"]
    assert [(f.function, bool(re.search(word, f.message))) for f in reported] == [(name, True)]


@pytest.mark.parametrize(
    ("kind", "timeout"),
    [("http", 3600), ("schedule", 1740), ("topic", 540), ("storage", 540), ("event", 540)],
)
def test_limits_at_the_ceilings_deploy(kind: str, timeout: int) -> None:
    app = _one(kind, timeout, 32768)
    plan = build(app)
    assert not [f for f in plan.findings if f.level == "unsupported"]
    [deployment] = plan.deployments
    words = deploy_of(render(plan), deployment.service)
    assert (_flag(words, "--timeout"), _flag(words, "--memory")) == (f"{timeout}s", "32768Mi")


def _events_app() -> pf.App:
    app = pf.App("acks")

    @app.topic("news", timeout=300)
    def reader(event: pf.CloudEvent) -> None: ...

    @app.queue("jobs", max_retries=0, timeout=5)
    def quick(event: pf.CloudEvent) -> None: ...

    @app.storage("photos", on=("created", "deleted"), timeout=120)
    def both(event: pf.CloudEvent) -> None: ...

    @app.event("com.example.thing.done")
    def plain(event: pf.CloudEvent) -> None: ...

    return app


def test_each_event_trigger_waits_longer_than_its_function_runs() -> None:
    """Pub/Sub ends a push request at the subscription's ack deadline (10 s unless set, up to
    600 s) and redelivers. The request's clock starts before the function's (routing, a cold
    start), so a deadline equal to the timeout redelivered a message whose attempt still ran:
    every trigger's subscription, the second trigger of a two-action storage function too,
    gets Pub/Sub's 600 s, past the 540 s longest event-driven timeout."""
    commands = deploy_commands(render(build(_events_app())))
    acks = {c[1]: c[2] for c in commands["ack_deadline"]}
    assert acks == {
        "$(function_trigger acks-reader)": "600",
        "$(function_trigger acks-quick)": "600",
        "$(function_trigger acks-both)": "600",
        "projects/$PROJECT/locations/$BUCKET_PHOTOS_LOCATION/triggers/acks-both-2": "600",
        "$(function_trigger acks-plain)": "600",
    }


def test_ack_deadline_updates_the_triggers_subscription(tmp_path: Path) -> None:
    calls = run_with_fake_gcloud(render(build(_events_app())), tmp_path)
    updates = [c for c in calls if c[:3] == ["pubsub", "subscriptions", "update"]
               and "--ack-deadline" in c]
    assert [_flag(c, "--ack-deadline") for c in updates] == ["600"] * 5
    assert all(c[3] == "projects/fake-proj/subscriptions/sub" for c in updates)


def test_a_schedules_job_waits_for_the_functions_timeout(tmp_path: Path) -> None:
    """Cloud Scheduler cancels an HTTP attempt at its attempt deadline (180 s unless set,
    15 s to 30 min) and retries it: the job waits as long as the function may run and a
    minute (Scheduler's clock counts routing and a cold start), never less than its 180 s."""
    app = pf.App("sched")

    @app.schedule("rate(1 day)", timeout=1200)
    def long_run(event: pf.CloudEvent) -> None: ...

    @app.schedule("rate(1 hour)", timeout=5)
    def short_run(event: pf.CloudEvent) -> None: ...

    @app.schedule("rate(2 hours)")
    def plain_run(event: pf.CloudEvent) -> None: ...

    script = render(build(app))
    deadlines = {c[1]: c[-1] for c in deploy_commands(script)["schedule_job"]}
    assert deadlines == {"sched-long-run": "1260s", "sched-short-run": "180s",
                         "sched-plain-run": "180s"}
    calls = run_with_fake_gcloud(script, tmp_path)
    jobs = {c[4]: _flag(c, "--attempt-deadline") for c in calls if c[:2] == ["scheduler", "jobs"]
            and c[2] in ("create", "update")}
    assert jobs == {"sched-long-run": "1260s", "sched-short-run": "180s",
                    "sched-plain-run": "180s"}


def test_the_shop_nightly_report_deploys_with_its_limits(shop_dist: Path) -> None:
    script = (shop_dist / "deploy.sh").read_text()
    words = deploy_of(script, "shop-nightly-report")
    assert (_flag(words, "--timeout"), _flag(words, "--memory")) == ("120s", "512Mi")
    [job] = deploy_commands(script)["schedule_job"]
    assert job[-1] == "180s"  # 120 s and the minute's margin, at least Scheduler's own 180 s
