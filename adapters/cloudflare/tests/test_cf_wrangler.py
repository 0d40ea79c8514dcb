# SPDX-License-Identifier: Apache-2.0
"""The generated wrangler.toml validates against the JSON schema wrangler ships, and declares
exactly the crons, consumers, DLQs and producers the app needs (issue #6, "Done means" 2)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pyodide_worker import ADAPTER, ensure_node_modules, tomllib, wrangler_schema

from portable_fn_cloudflare import plan


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    ensure_node_modules()
    return jsonschema.Draft7Validator(wrangler_schema())


def load(dist: Path) -> dict[str, Any]:
    return tomllib.loads((dist / "wrangler.toml").read_text())


@pytest.mark.parametrize("dist_fixture", ["shop_dist", "echo_dist"])
def test_validates_against_wranglers_schema(
    dist_fixture: str, validator: jsonschema.Draft7Validator, request: pytest.FixtureRequest
) -> None:
    cfg = load(request.getfixturevalue(dist_fixture))
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(cfg)]
    assert errors == []


def test_schema_check_is_not_vacuous(
    shop_dist: Path, validator: jsonschema.Draft7Validator
) -> None:
    cfg = load(shop_dist)
    cfg["queues"]["consumers"][0]["max_retries"] = "three"
    assert list(validator.iter_errors(cfg))
    assert list(validator.iter_errors({**load(shop_dist), "crons": ["* * * * *"]}))


def test_shop_config_matches_the_app(shop_dist: Path) -> None:
    cfg = load(shop_dist)
    assert cfg["main"] == "src/entry.py"
    assert "python_workers" in cfg["compatibility_flags"]
    assert cfg["triggers"]["crons"] == ["0 0 * * *"]  # rate(1 day)
    consumers = {c["queue"]: c for c in cfg["queues"]["consumers"]}
    assert set(consumers) == {
        "shop--order-events--notify-customer",
        "shop--order-events--request-fulfilment",
        "fulfilment",
        "shop--r2--uploads--on-upload",
        "shop--events--invoice-paid",
    }
    fulfil = consumers["fulfilment"]
    assert fulfil["max_retries"] == 3
    assert fulfil["dead_letter_queue"] == "fulfilment-dlq"
    assert fulfil["max_batch_size"] == 10
    # No dead_letter declared: the default name, so failures are kept, never deleted.
    notify = consumers["shop--order-events--notify-customer"]
    assert notify["dead_letter_queue"] == "shop--order-events--notify-customer-dlq"
    assert consumers["shop--r2--uploads--on-upload"]["dead_letter_queue"] == (
        "shop--r2--uploads--on-upload-dlq"
    )
    producers = {p["queue"]: p["binding"] for p in cfg["queues"]["producers"]}
    # Every consumed queue the Worker sends to and every DLQ can be sent to, under the binding
    # the Worker looks up; only R2 sends to a storage function's queue.
    sent_to = [q for q in consumers if "--r2--" not in q]
    for queue in [*sent_to, *(c["dead_letter_queue"] for c in consumers.values())]:
        assert producers[queue] == plan.binding_name(queue)
    assert cfg["r2_buckets"] == [{"binding": "R2_UPLOADS", "bucket_name": "uploads"}]


def test_logs_reach_workers_logs_and_r2_queues_get_no_producer(
    shop_dist: Path, echo_dist: Path
) -> None:
    """Workers Logs keeps a Worker's console lines only with ``[observability] enabled = true``
    (https://developers.cloudflare.com/workers/observability/logs/workers-logs/); an R2
    notification queue is sent to by R2 alone (https://developers.cloudflare.com/r2/buckets/
    event-notifications/), so it needs no producer binding; its dead-letter queue, which the
    Worker sends to, keeps one."""
    for dist in (shop_dist, echo_dist):
        cfg = load(dist)
        assert cfg["observability"] == {"enabled": True}
        producers = {p["queue"] for p in cfg["queues"]["producers"]}
        consumers = {c["queue"]: c for c in cfg["queues"]["consumers"]}
        r2_queues = [q for q in consumers if "--r2--" in q]
        assert r2_queues
        for queue in r2_queues:
            assert queue not in producers
            assert consumers[queue]["dead_letter_queue"] in producers
        assert f"npx wrangler queues create {r2_queues[0]} ||" in (dist / "deploy.sh").read_text()


def test_echo_config_matches_the_app(echo_dist: Path) -> None:
    cfg = load(echo_dist)
    assert cfg["triggers"]["crons"] == ["*/5 * * * *"]
    consumers = {c["queue"]: c for c in cfg["queues"]["consumers"]}
    assert consumers["jobs"]["max_retries"] == 5
    assert consumers["jobs"]["dead_letter_queue"] == "jobs-dlq"
    made_up = {"echo--things--on-thing", "echo--things--audit-thing", "echo--r2--media--media"}
    assert made_up <= set(consumers)
    assert "echo--events--thing-event" in consumers


def test_package_layout_and_deploy_script(shop_dist: Path) -> None:
    src = shop_dist / "src"
    entry = (src / "entry.py").read_text()
    assert "from examples.shop.app import app as _app" in entry
    assert "Default = worker_entrypoint(_app)" in entry
    assert (src / "portable_fn" / "events.py").is_file()
    assert (src / "portable_fn_cloudflare" / "runtime.py").is_file()
    assert not (src / "portable_fn" / "_local").exists()
    assert not list(src.rglob("__pycache__"))
    deploy = (shop_dist / "deploy.sh").read_text()
    assert (
        "npx wrangler r2 bucket notification create uploads --event-type object-create "
        "--queue shop--r2--uploads--on-upload" in deploy
    )
    assert "npx wrangler queues create fulfilment-dlq" in deploy


def test_file_reference_packages_too(tmp_path: Path) -> None:
    import importlib

    from portable_fn_cloudflare.adapter import adapter

    app = importlib.import_module("examples.shop.app").app
    ref = str(ADAPTER.parents[1] / "examples" / "shop" / "app.py")
    adapter.package(app, ref, tmp_path)
    assert "from app import app as _app" in (tmp_path / "src" / "entry.py").read_text()
    assert (tmp_path / "src" / "app.py").is_file()


def test_deploy_script_passes_shellcheck(echo_dist: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (Debian package shellcheck; .ci/run installs it)")
    deploy = (echo_dist / "deploy.sh").read_text()
    assert "--prefix in/" in deploy  # the media function's filter reaches the rule
    subprocess.run([shellcheck, str(echo_dist / "deploy.sh")], check=True)


def test_deploy_script_with_shell_characters_in_filters_passes_shellcheck(
    tmp_path: Path,
) -> None:
    """A key prefix may hold ``$`` or a backtick: quoted literally, and shellcheck-clean."""
    import portable_fn as pf
    from portable_fn_cloudflare.target import deploy_script

    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (Debian package shellcheck; .ci/run installs it)")
    app = pf.App("odd")

    @app.storage("uploads", prefix="in/$HOME's `x`/", suffix="$.csv")
    def odd(event: pf.CloudEvent) -> None: ...

    script = tmp_path / "deploy.sh"
    script.write_text(deploy_script(app))
    subprocess.run([shellcheck, str(script)], check=True)


def test_one_consumer_per_queue_the_one_the_worker_runs() -> None:
    import portable_fn as pf
    from portable_fn_cloudflare.runtime import WorkerRuntime
    from portable_fn_cloudflare.wrangler import config

    app = pf.App("shared")

    @app.queue("jobs", max_retries=2)
    def first(event: pf.CloudEvent) -> None: ...

    @app.queue("jobs", max_retries=7)
    def second(event: pf.CloudEvent) -> None: ...

    [consumer] = config(app)["queues"]["consumers"]
    runs = WorkerRuntime(app).consumers["jobs"].function
    assert consumer["max_retries"] == app.function(runs).trigger.retry.max_retries


def _storage_app() -> Any:
    import portable_fn as pf

    app = pf.App("media")

    @app.storage("uploads", on=("created", "deleted"), prefix="img/")
    def images(event: pf.CloudEvent) -> None: ...

    @app.storage("uploads", prefix="docs/", suffix=".pdf")
    def pdfs(event: pf.CloudEvent) -> None: ...

    @app.storage("uploads", suffix=".png")  # created under img/*.png: images' rule already
    def pngs(event: pf.CloudEvent) -> None: ...

    @app.storage("uploads", on=("deleted",), prefix="docs/")  # created rule of pdfs is not hit
    def doc_deletes(event: pf.CloudEvent) -> None: ...

    return app


def test_overlapping_r2_rules_are_reported_and_left_out_of_deploy_sh() -> None:
    """R2 refuses a rule that could fire together with an existing one for the same event
    (https://developers.cloudflare.com/r2/buckets/event-notifications/, "Notes"): under
    ``set -e`` the refused ``notification create`` would stop deploy.sh half way."""
    from portable_fn_cloudflare.findings import findings
    from portable_fn_cloudflare.target import deploy_script

    app = _storage_app()
    rules = [
        line for line in deploy_script(app).splitlines() if "r2 bucket notification create" in line
    ]
    queues = [line.split("--queue ")[1].split()[0] for line in rules]
    assert queues == [
        "media--r2--uploads--images", "media--r2--uploads--pdfs", "media--r2--uploads--doc-deletes"
    ]
    assert "--event-types object-create object-delete --queue media--r2--uploads--images" in (
        rules[0]
    )
    unsupported = {f.function for f in findings(app) if f.level == "unsupported"}
    assert unsupported == {"pngs"}


def test_deploy_sh_creates_each_bucket_before_its_rules() -> None:
    """A notification rule needs an existing bucket (workers.api.error.bucket_not_found
    otherwise): https://developers.cloudflare.com/r2/buckets/event-notifications/#prerequisites"""
    from portable_fn_cloudflare.target import deploy_script

    lines = deploy_script(_storage_app()).splitlines()
    create = [i for i, line in enumerate(lines) if "r2 bucket create uploads" in line]
    first_rule = next(i for i, line in enumerate(lines) if "notification create" in line)
    assert len(create) == 1 and create[0] < first_rule


def test_deploy_sh_runs_again_when_everything_exists(tmp_path: Path) -> None:
    """Run twice (say after adding a function), every create is refused as existing: the
    script goes on to the end instead of stopping at the first rule that is already there."""
    from portable_fn_cloudflare.target import deploy_script

    script = tmp_path / "deploy.sh"
    script.write_text(deploy_script(_storage_app()))
    log = tmp_path / "calls"
    fake = tmp_path / "bin" / "npx"
    fake.parent.mkdir()
    # Every resource exists already: wrangler's create commands all fail.
    fake.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexit 1\n')
    fake.chmod(0o755)
    env = {"PATH": f"{fake.parent}:/usr/bin:/bin"}
    done = subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    assert sum("notification create" in c for c in calls) == 3  # one per function


def test_a_function_on_created_and_deleted_gets_one_rule_naming_both(tmp_path: Path) -> None:
    """``wrangler r2 bucket notification create`` PUTs the configuration of one (bucket, queue)
    pair (``PUT .../event_notifications/r2/{bucket}/configuration/queues/{queue_id}``), and
    workers-sdk ``putEventNotificationConfig`` documents "409 Conflict - A configuration between
    the bucket and queue already exists" (R2's beta docs: "only one event notification rule can
    be created per queue"). Two creates for one function's queue: the second was refused, the
    ``|| echo`` let deploy.sh go on, and that function never heard of its deletes. One command
    takes every event type (``--event-types`` is an array option), whatever the API does with
    a second PUT for the pair."""
    from portable_fn_cloudflare.target import deploy_script

    script = tmp_path / "deploy.sh"
    script.write_text(deploy_script(_storage_app()))
    state = tmp_path / "configured"
    state.mkdir()
    fake = tmp_path / "bin" / "npx"
    fake.parent.mkdir()
    # The API: one configuration per (bucket, queue); a second PUT for the pair is a 409.
    fake.write_text(
        "#!/bin/sh\n"
        'case "$*" in *"notification create"*) ;; *) exit 0 ;; esac\n'
        'bucket=$6; shift 6; types=""; queue=""\n'
        "while [ $# -gt 0 ]; do\n"
        '  case "$1" in\n'
        '    --event-type|--event-types) shift\n'
        '      while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do types="$types $1"; shift; done ;;\n'
        '    --queue) queue=$2; shift 2 ;;\n'
        "    *) shift ;;\n"
        "  esac\n"
        "done\n"
        f'pair="{state}/$bucket@$queue"\n'
        '[ -e "$pair" ] && { echo "409 Conflict" >&2; exit 1; }\n'
        'echo "$types" > "$pair"\n'
    )
    fake.chmod(0o755)
    env = {"PATH": f"{fake.parent}:/usr/bin:/bin"}
    done = subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    configured = {f.name: set(f.read_text().split()) for f in state.iterdir()}
    assert configured["uploads@media--r2--uploads--images"] == {"object-create", "object-delete"}
    assert configured["uploads@media--r2--uploads--doc-deletes"] == {"object-delete"}
    assert "409" not in done.stderr


def test_an_app_without_schedules_clears_the_deployed_crons(
    validator: jsonschema.Draft7Validator,
) -> None:
    """wrangler leaves a Worker's deployed crons alone when ``crons`` is absent; only
    ``crons = []`` removes them (https://developers.cloudflare.com/workers/wrangler/configuration/#triggers,
    workers-sdk#9266). Removing an app's last schedule must stop it firing."""
    import portable_fn as pf
    from portable_fn_cloudflare.wrangler import config, to_toml

    app = pf.App("no-cron")

    @app.http("/", auth="anonymous")
    def home(req: pf.Request) -> str:
        return "ok"

    cfg = tomllib.loads(to_toml(config(app)))
    assert cfg["triggers"] == {"crons": []}
    assert list(validator.iter_errors(cfg)) == []


@pytest.mark.parametrize(("count", "level"), [(5, None), (6, "warning"), (251, "unsupported")])
def test_more_crons_than_cloudflare_allows_are_reported(count: int, level: str | None) -> None:
    """Cron Triggers per account: 5 on Workers Free, 250 on Paid
    (https://developers.cloudflare.com/workers/platform/limits/); two schedules with one
    cron share a trigger."""
    import portable_fn as pf
    from portable_fn_cloudflare.findings import findings

    app = pf.App("many")
    for i in range(count):
        minute, hour = i % 60, i // 60
        app.schedule(cron=f"{minute} {hour} * * *", name=f"s{i}")(lambda event: None)
    app.schedule(cron="0 0 * * *", name="same_cron")(lambda event: None)
    about = [f.level for f in findings(app) if f.function is None and "Cron Triggers" in f.message]
    assert about == ([level] if level else [])


def test_queues_and_topics_the_app_only_sends_to_get_producer_bindings(tmp_path: Path) -> None:
    """A Worker reaches only the queues its wrangler.toml binds
    (https://developers.cloudflare.com/queues/configuration/javascript-apis/#producer). A queue
    the app sends to, or a topic it publishes to, that another app consumes had no binding: the
    deployed Worker answered 500 ("no Queue producer binding Q_BILLING") and nothing said so at
    packaging. They get one now, deploy.sh creates them, and a target named at run time is a
    warning. The Worker, given the env that wrangler.toml describes, sends."""
    import asyncio
    import importlib

    from portable_fn_cloudflare import fetch, native
    from portable_fn_cloudflare.adapter import adapter
    from portable_fn_cloudflare.runtime import WorkerRuntime

    app = importlib.import_module("cf_apps.sender").app
    notes = adapter.package(app, "cf_apps.sender:app", tmp_path)
    producers = {p["binding"]: p["queue"] for p in load(tmp_path)["queues"]["producers"]}
    assert producers == {"Q_BILLING": "billing", "Q_AUDIT": "audit"}
    deploy = (tmp_path / "deploy.sh").read_text()
    assert "npx wrangler queues create billing ||" in deploy
    assert "npx wrangler queues create audit ||" in deploy
    [warning] = [n for n in notes if n.function == "route"]
    assert warning.level == "warning" and "named at run time" in warning.message

    env = native.EnvStandIn(producers)
    request = native.JsRequestStandIn(
        method="POST", url="https://sender.example.workers.dev/go",
        header_pairs=[("content-type", "application/json")], content=b"{}")
    status, _, _ = fetch.response_parts(asyncio.run(WorkerRuntime(app).fetch(request, env, None)))
    assert status == 200
    assert [len(env.producers[b].sent) for b in ("Q_BILLING", "Q_AUDIT")] == [1, 1]


def test_a_queue_keeps_messages_as_long_as_its_retries_may_take(tmp_path: Path) -> None:
    """A queue deletes a message when its retention ends (4 days unless set), retries left or
    not, and it never reaches the dead-letter queue: 20 retries backing off to 12 hours took
    up to 9 days. deploy.sh raises the queue's retention past the worst schedule (14 days at
    most, a warning past that; Workers Free keeps 24 h: said); the default policy leaves it.
    https://developers.cloudflare.com/changelog/2025-02-14-customize-queue-retention-period"""
    import portable_fn as pf
    from portable_fn_cloudflare.findings import findings
    from portable_fn_cloudflare.target import deploy_script

    shellcheck = shutil.which("shellcheck")
    app = pf.App("kept")

    @app.queue("slow", retry=pf.Retry(max_retries=20, initial_backoff=3600, max_backoff=43_200))
    def patient(event: pf.CloudEvent) -> None: ...

    @app.queue("slower", retry=pf.Retry(max_retries=40, initial_backoff=3600,
                                        max_backoff=43_200))
    def very_patient(event: pf.CloudEvent) -> None: ...

    @app.queue("quick")
    def quick(event: pf.CloudEvent) -> None: ...

    script = deploy_script(app)
    # 21 runs of 15 minutes; retries wait 1, 2, 4, 8 hours, then 12 hours 16 times; an hour.
    slow = 21 * 900 + 3600 * (1 + 2 + 4 + 8) + 16 * 43_200 + 3600
    assert f"npx wrangler queues update slow --message-retention-period-secs {slow} ||" in script
    assert "npx wrangler queues update slower --message-retention-period-secs 1209600 ||" in script
    assert "queues update quick" not in script
    notes = {(f.function, f.level) for f in findings(app) if "retention" in f.message}
    assert notes == {("patient", "info"), ("very_patient", "warning")}
    if shellcheck is not None:
        (tmp_path / "deploy.sh").write_text(script)
        subprocess.run([shellcheck, str(tmp_path / "deploy.sh")], check=True)
