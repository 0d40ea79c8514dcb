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
        "order-events--notify-customer",
        "order-events--request-fulfilment",
        "fulfilment",
        "r2--uploads--on-upload",
        "events--shop--invoice-paid",
    }
    fulfil = consumers["fulfilment"]
    assert fulfil["max_retries"] == 3
    assert fulfil["dead_letter_queue"] == "fulfilment-dlq"
    assert fulfil["max_batch_size"] == 10
    # No dead_letter declared: the default name, so failures are kept, never deleted.
    notify = consumers["order-events--notify-customer"]
    assert notify["dead_letter_queue"] == "order-events--notify-customer-dlq"
    assert consumers["r2--uploads--on-upload"]["dead_letter_queue"] == (
        "r2--uploads--on-upload-dlq"
    )
    producers = {p["queue"]: p["binding"] for p in cfg["queues"]["producers"]}
    # Every consumed queue and the DLQ can be sent to, under the binding the Worker looks up.
    for queue in [*consumers, *(c["dead_letter_queue"] for c in consumers.values())]:
        assert producers[queue] == plan.binding_name(queue)
    assert cfg["r2_buckets"] == [{"binding": "R2_UPLOADS", "bucket_name": "uploads"}]


def test_echo_config_matches_the_app(echo_dist: Path) -> None:
    cfg = load(echo_dist)
    assert cfg["triggers"]["crons"] == ["*/5 * * * *"]
    consumers = {c["queue"]: c for c in cfg["queues"]["consumers"]}
    assert consumers["jobs"]["max_retries"] == 5
    assert consumers["jobs"]["dead_letter_queue"] == "jobs-dlq"
    assert {"things--on-thing", "things--audit-thing", "r2--media--media"} <= set(consumers)
    assert "events--echo--thing-event" in consumers


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
        "--queue r2--uploads--on-upload" in deploy
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
