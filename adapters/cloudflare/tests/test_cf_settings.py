# SPDX-License-Identifier: Apache-2.0
"""``App(env=, secrets=)`` on Workers: ``[vars]`` and ``[secrets] required`` in wrangler.toml
(https://developers.cloudflare.com/workers/configuration/environment-variables/,
https://developers.cloudflare.com/workers/wrangler/configuration/#secrets-configuration-property),
no name a binding of the adapter's also takes, findings naming ``wrangler secret put``, and a
handler on real Pyodide with the real SDK reading both from ``os.environ``."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pyodide_worker import PyodideWorker, ensure_node_modules, tomllib, wrangler_schema

import portable_fn as pf
from portable_fn.errors import ConfigurationError
from portable_fn_cloudflare import wrangler
from portable_fn_cloudflare.adapter import adapter


def handle(event: pf.CloudEvent) -> None:
    return None


@pytest.fixture(scope="module")
def settings_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from conftest import package_app

    return package_app("cf_apps.settings_app:app", tmp_path_factory.mktemp("settings") / "cf")


def load(dist: Path) -> dict[str, Any]:
    return tomllib.loads((dist / "wrangler.toml").read_text(encoding="utf-8"))


def test_vars_round_trip_exactly_through_toml(settings_dist: Path) -> None:
    from cf_apps.settings_app import ENV

    cfg = load(settings_dist)
    assert cfg["vars"] == ENV
    assert cfg["secrets"] == {"required": ["API_KEY"]}


def test_config_with_settings_validates_against_wranglers_schema(settings_dist: Path) -> None:
    ensure_node_modules()
    validator = jsonschema.Draft7Validator(wrangler_schema())
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(load(settings_dist))]
    assert errors == []


def test_no_settings_write_no_tables() -> None:
    # `[secrets] required = []` would make wrangler dev load nothing from .dev.vars.
    app = pf.App("plain")
    app.queue("jobs")(handle)
    cfg = tomllib.loads(wrangler.to_toml(wrangler.config(app)))
    assert "vars" not in cfg and "secrets" not in cfg


def test_only_secrets_write_no_vars_table() -> None:
    app = pf.App("only-secrets", secrets=["API_KEY", "DB_PASSWORD"])
    cfg = tomllib.loads(wrangler.to_toml(wrangler.config(app)))
    assert "vars" not in cfg
    assert cfg["secrets"] == {"required": ["API_KEY", "DB_PASSWORD"]}


@pytest.mark.parametrize(
    ("kind", "name"),
    [("env", "Q_JOBS"), ("secret", "Q_JOBS_DLQ"), ("env", "R2_MEDIA_FILES")],
)
def test_a_name_a_binding_takes_is_reported_by_inspect_as_package_refuses_it(
    kind: str, name: str, tmp_path: Path
) -> None:
    """Vars, secrets and bindings share the Worker's ``env``, one name each: ``package``
    refuses the name before writing anything, and ``inspect`` says so in the same words."""
    app = pf.App(
        "clash",
        env={name: "x"} if kind == "env" else None,
        secrets=[name] if kind == "secret" else [],
    )
    app.queue("jobs")(handle)
    app.storage("media.files", name="on_media")(handle)
    clashes = [f for f in adapter.findings(app) if "binding" in f.message]
    assert [(f.function, f.level) for f in clashes] == [(None, "unsupported")]
    with pytest.raises(ConfigurationError, match=name) as caught:
        adapter.package(app, "x:app", tmp_path)
    assert clashes[0].message == str(caught.value)
    assert not (tmp_path / "wrangler.toml").exists()
    assert name in clashes[0].message


def test_a_name_like_a_binding_prefix_but_no_binding_packages(tmp_path: Path) -> None:
    app = pf.App("near-miss", env={"Q_OTHER": "x", "R2_OTHER": "y"})
    app.queue("jobs")(handle)
    assert not [f for f in adapter.findings(app) if f.level == "unsupported"]
    adapter.package(app, "cf_apps.echo:app", tmp_path)
    assert load(tmp_path)["vars"] == {"Q_OTHER": "x", "R2_OTHER": "y"}


def test_each_secret_gets_its_wrangler_secret_put_and_dev_vars_note() -> None:
    app = pf.App("secrets", secrets=["API_KEY", "DB_PASSWORD"])
    notes = [f for f in adapter.findings(app) if "wrangler secret put" in f.message]
    assert [f.level for f in notes] == ["info", "info"]
    assert "npx wrangler secret put API_KEY" in notes[0].message
    assert "npx wrangler secret put DB_PASSWORD" in notes[1].message
    assert all(".dev.vars" in f.message for f in notes)


def test_no_secret_no_secret_finding() -> None:
    app = pf.App("none", env={"CURRENCY": "EUR"})
    assert not [f for f in adapter.findings(app) if "secret" in f.message]


def test_values_past_the_workers_limits_are_reported() -> None:
    """5 KB a variable; 64 variables a Worker on Free, 128 on Paid
    (https://developers.cloudflare.com/workers/platform/limits/#environment-variables)."""
    big = pf.App("big", env={"BIG": "x" * 5121, "FITS": "x" * 5120})
    about = [f for f in adapter.findings(big) if "5 KB" in f.message]
    assert [(f.level, "BIG" in f.message, "FITS" in f.message) for f in about] == [
        ("unsupported", True, False)
    ]
    many = pf.App("many", env={f"V{i:03}": "x" for i in range(65)})
    assert [f.level for f in adapter.findings(many) if "64" in f.message] == ["warning"]
    too_many = pf.App("too-many", env={f"V{i:03}": "x" for i in range(100)},
                      secrets=[f"S{i:03}" for i in range(29)])
    assert [f.level for f in adapter.findings(too_many) if "128" in f.message] == ["unsupported"]


def test_no_secret_value_and_secret_commands_in_deploy_sh(settings_dist: Path) -> None:
    deploy = (settings_dist / "deploy.sh").read_text()
    assert "npx wrangler secret put API_KEY" in deploy
    # Interactive (it prompts for the value): named for the operator, never run by the script.
    assert all(
        line.lstrip().startswith("#") for line in deploy.splitlines() if "secret put" in line
    )


def test_entry_sets_env_values_before_importing_the_app(settings_dist: Path) -> None:
    entry = (settings_dist / "src" / "entry.py").read_text(encoding="utf-8")
    assert entry.index("CURRENCY") < entry.index("from cf_apps.settings_app import")
    assert "API_KEY" not in entry


# -- the Worker on real Pyodide ----------------------------------------------------------------


def test_handler_reads_vars_and_secret_from_os_environ_on_pyodide(
    sdk_dir: Path, settings_dist: Path
) -> None:
    """The vars as the generated wrangler.toml declares them and a secret binding as
    ``wrangler secret put`` would add it: both plain strings on ``env``
    (https://developers.cloudflare.com/workers/configuration/secrets/)."""
    from cf_apps.settings_app import ENV

    vars_ = {**load(settings_dist)["vars"], "API_KEY": "s3cret-\"value\"\n"}
    worker = PyodideWorker(sdk_dir, settings_dist, vars=vars_)
    try:
        reply = worker.call("fetch", method="GET", url="https://s.example.workers.dev/settings")
        assert reply["status"] == 200, worker.logs()
        body = json.loads(base64.b64decode(reply["body_b64"]))
        assert body["env"] == ENV
        assert body["api_key"] == "s3cret-\"value\"\n"
        # env= values are in os.environ at import too (entry.py); secrets only from a request.
        assert body["currency_at_import"] == "EUR"
    finally:
        worker.close()


def test_a_secret_not_put_is_secret_not_set_on_pyodide(sdk_dir: Path, settings_dist: Path) -> None:
    worker = PyodideWorker(sdk_dir, settings_dist, vars=load(settings_dist)["vars"])
    try:
        reply = worker.call("fetch", method="GET", url="https://s.example.workers.dev/settings")
        assert reply["status"] == 500
        assert "API_KEY" in worker.logs()
    finally:
        worker.close()


def test_every_unicode_scalar_value_round_trips_through_the_toml_writer() -> None:
    """One string of every code point but the surrogates (which no TOML string holds)."""
    everything = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    cfg = tomllib.loads(wrangler.to_toml({"vars": {"ALL": everything}}))
    assert cfg["vars"]["ALL"] == everything


def _narrowing(app: pf.App) -> list[Any]:
    return [f for f in adapter.findings(app) if "app.secret" in f.message]


def test_a_function_given_fewer_secrets_is_told_the_worker_gives_it_every_one() -> None:
    """Secrets are the Worker's, on one ``env`` every handler of the app gets
    (https://developers.cloudflare.com/workers/configuration/secrets/): a decorator's
    ``secrets=`` is enforced by ``app.secret`` alone, which one app-level note says."""
    app = pf.App("narrow", secrets=["API_KEY", "DB_PASSWORD"])
    app.queue("jobs", name="jobs", secrets=["API_KEY"])(handle)
    app.queue("audit", name="audit", secrets=[])(handle)
    app.queue("mail", name="mail")(handle)
    [note] = _narrowing(app)
    assert (note.function, note.level) == (None, "info")
    assert "jobs" in note.message and "audit" in note.message and "mail" not in note.message
    assert "every" in note.message


def test_no_narrowing_no_note() -> None:
    app = pf.App("wide", secrets=["API_KEY"])
    app.queue("jobs")(handle)
    app.queue("mail", name="mail", secrets=["API_KEY"])(handle)
    assert not _narrowing(app)
    assert not _narrowing(pf.App("none", env={"CURRENCY": "EUR"}))
