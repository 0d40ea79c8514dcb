# SPDX-License-Identifier: Apache-2.0
"""Names ``deploy.sh`` makes up per function carry the app's name.

Cloud Run functions, Cloud Scheduler jobs, Eventarc triggers and Pub/Sub topics are named per
project (and region or location), with nothing like a CloudFormation stack or a Function App
around them: two apps with a function ``create_order`` each, deployed to one project and
region, must not deploy onto one Cloud Run function, job, trigger or dead-letter topic.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import portable_fn as pf
import pytest
from test_deploy import deploy_commands

from portable_fn_gcp.deploy import render
from portable_fn_gcp.harness import GCPHarness
from portable_fn_gcp.plan import build

# Cloud Run functions: functionId "4-63 characters, and valid characters are /[a-z][0-9]-/"
# (functions v2 CreateFunctionRequest); Cloud Run service names start with a letter and do
# not end with '-'.
FUNCTION_ID = re.compile(r"[a-z][a-z0-9-]{2,61}[a-z0-9]")
# Eventarc triggers: no rule of its own in the Eventarc reference; AIP-122's resource IDs
# (https://google.aip.dev/122), RFC-1034 labels in lowercase.
TRIGGER_ID = re.compile(r"[a-z]([a-z0-9-]{0,61}[a-z0-9])?")
# Cloud Scheduler JOB_ID: letters, numbers, hyphens or underscores, at most 500 characters.
JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,500}")
# Pub/Sub topic and subscription: a letter, then letters, numbers, - _ . ~ + %, 3-255
# characters, not starting with "goog".
PUBSUB = re.compile(r"(?!goog)[A-Za-z][A-Za-z0-9_.~+%-]{2,254}")


def _same_functions(name: str) -> pf.App:
    """An app with one function of each kind that makes up deployed names, under the names
    another app of the project may well use too."""
    app = pf.App(name)

    @app.http("/orders", methods=["POST"])
    def create_order(req: pf.Request) -> str:
        return "ok"

    @app.topic("order-events")
    def notify_customer(event: pf.CloudEvent) -> None: ...

    @app.queue("fulfilment", dead_letter="fulfilment-dlq")
    def fulfil(event: pf.CloudEvent) -> None: ...

    @app.storage("uploads", on=["created", "deleted"])
    def on_upload(event: pf.CloudEvent) -> None: ...

    @app.event("com.example.invoice.paid")
    def invoice_paid(event: pf.CloudEvent) -> None: ...

    @app.schedule("rate(1 day)")
    def nightly_report(event: pf.CloudEvent) -> None: ...

    return app


def _names(script: str) -> dict[str, set[str]]:
    """What deploy.sh names per function: functions, Scheduler jobs, Eventarc triggers it
    creates itself, dead-letter topics and their subscriptions."""
    commands = deploy_commands(script)
    return {
        "function": {c[1] for c in commands["deploy"]},
        "job": {c[1] for c in commands["schedule_job"]},
        "trigger": {c[1] for c in commands["add_trigger"]},
        "dead_letter": {c[2] for c in commands["dead_letter"]},
        "subscription": {c[1] for c in commands.get("ensure_subscription", [])},
    }


def _shellcheck(script: str, tmp_path: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.fail("shellcheck is required: apt-get install -y shellcheck")
    path = tmp_path / "deploy.sh"
    path.write_text(script)
    result = subprocess.run([shellcheck, "--severity=style", str(path)], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_two_apps_with_the_same_functions_deploy_apart(tmp_path: Path) -> None:
    shop = render(build(_same_functions("shop")))
    billing = render(build(_same_functions("billing")))
    ours, theirs = _names(shop), _names(billing)
    assert ours == {
        "function": {"shop-create-order", "shop-notify-customer", "shop-fulfil",
                     "shop-on-upload", "shop-invoice-paid", "shop-nightly-report"},
        "job": {"shop-nightly-report"},
        "trigger": {"shop-on-upload-2"},
        # fulfil's dead-letter topic is the app's own, declared: kept as named.
        "dead_letter": {"shop-notify-customer-dlq", "fulfilment-dlq", "shop-on-upload-dlq",
                        "shop-invoice-paid-dlq"},
        "subscription": {"shop-notify-customer-dlq", "fulfilment-dlq", "shop-on-upload-dlq",
                         "shop-invoice-paid-dlq"},
    }
    for kind in ("function", "job", "trigger"):
        assert ours[kind].isdisjoint(theirs[kind]), kind
    assert ours["dead_letter"] & theirs["dead_letter"] == {"fulfilment-dlq"}
    # The topics and queues the apps declare are shared by design, and stay as named.
    topics = {c[1] for c in deploy_commands(shop)["ensure_topic"]}
    assert {"order-events", "fulfilment", "fulfilment-dlq", "shop-events"} <= topics
    _shellcheck(shop, tmp_path)


def test_the_harness_and_inspect_use_the_deployed_names() -> None:
    app = _same_functions("shop")
    harness = GCPHarness()
    assert harness.dead_letters(app) == {
        "notify_customer": "shop-notify-customer-dlq",
        "fulfil": "fulfilment-dlq",
        "on_upload": "shop-on-upload-dlq",
        "invoice_paid": "shop-invoice-paid-dlq",
    }
    seen: list[pf.CloudEvent] = []
    timed = pf.App("shop")

    @timed.schedule("rate(1 day)")
    def nightly_report(event: pf.CloudEvent) -> None:
        seen.append(event)

    harness.schedule(timed, "nightly_report", datetime(2026, 1, 2, tzinfo=timezone.utc))
    # Cloud Scheduler names the job in X-CloudScheduler-JobName: the one deploy.sh creates.
    [event] = seen
    assert event.id == "shop-nightly-report@2026-01-02T00:00:00Z"
    assert event.source == "//cloudscheduler.googleapis.com/jobs/shop-nightly-report"


LONG_APP = "a" * 24 + "-long-app-name-0"  # 40 characters, the most an app name has
assert len(LONG_APP) == 40


def _long_app() -> pf.App:
    app = pf.App(LONG_APP)
    # Two 63-character names (the most a function name has) that differ only at the end.
    first, second = "process_" + "x" * 54 + "1", "process_" + "x" * 54 + "2"
    assert len(first) == len(second) == 63

    def handler(event: pf.CloudEvent) -> None: ...

    app.storage("photos", on=["created", "deleted"], name=first)(handler)
    app.storage("photos", on=["created", "deleted"], name=second)(handler)
    app.schedule("rate(1 hour)", name="s" * 63)(handler)
    return app


def test_long_names_are_valid_unique_and_stable(tmp_path: Path) -> None:
    script = render(build(_long_app()))
    names = _names(script)
    functions, triggers = names["function"], names["trigger"]
    assert len(functions) == 3 and len(triggers) == 2
    assert all(FUNCTION_ID.fullmatch(n) for n in functions), functions
    assert all(TRIGGER_ID.fullmatch(n) for n in triggers), triggers
    assert all(JOB_ID.fullmatch(n) for n in names["job"]), names["job"]
    assert len(names["dead_letter"]) == 2
    assert all(PUBSUB.fullmatch(n) for n in names["dead_letter"] | names["subscription"])
    # Shortened: the app's name stays in front, a hash of the full name at the end.
    assert all(n.startswith(LONG_APP + "-") and re.search(r"-[0-9a-f]{8}$", n)
               for n in functions | triggers)
    # Stable: the same package twice, and the same names as every release before (a new name
    # would deploy a second function beside the first).
    assert render(build(_long_app())) == script
    # The first 54 characters, '-', and sha256("<app>-process-xxx...x2")[:8], and so on.
    assert sorted(functions) == [
        "aaaaaaaaaaaaaaaaaaaaaaaa-long-app-name-0-process-xxxxx-0269f17a",
        "aaaaaaaaaaaaaaaaaaaaaaaa-long-app-name-0-process-xxxxx-11e2bc16",
        "aaaaaaaaaaaaaaaaaaaaaaaa-long-app-name-0-sssssssssssss-022e391d",
    ]
    assert names["job"] == {"aaaaaaaaaaaaaaaaaaaaaaaa-long-app-name-0-sssssssssssss-022e391d"}
    # The second trigger's full name (<deployed name>-2) is longer still: it is hashed too,
    # from that full name, so the two functions' second triggers differ.
    assert triggers.isdisjoint(functions)
    _shellcheck(script, tmp_path)
