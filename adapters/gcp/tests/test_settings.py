# SPDX-License-Identifier: Apache-2.0
"""``App(env=, secrets=)`` on GCP: deploy.sh gives every function the app's settings in its
``--set-env-vars`` (values byte for byte, whatever they hold) and its secrets as Secret Manager
references (``--set-secrets NAME=${SECRET_PREFIX}NAME:latest``), and a redeploy keeps nothing
the app no longer declares. Each test runs the generated deploy.sh with a stand-in gcloud."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import portable_fn as pf
import pytest
from test_deploy import _flag, gcloud_dict, raw_calls, run_fake_gcloud, run_with_fake_gcloud

from portable_fn_gcp import settings
from portable_fn_gcp.deploy import render
from portable_fn_gcp.plan import build

# What an operator may well write: gcloud's own list separator, '=', quotes, shell syntax, lines.
NASTY = {
    "CURRENCY": "EUR",
    "DSN": "postgres://u:p@h/db?opts=a,b&x=1",
    "GREETING": "Hello, \"world\" -- it's $HOME `id` $(id) ${PATH}",
    "MULTILINE": "line one\nline two\r\n\ttabbed\n",
    "CARETS": "^|^ starts like gcloud's escape; | ; ~ @ # % + : ! \\ \\n",
    "EMPTY": "",
    "SPACES": "  padded  ",
    "UNICODE": "café € 😀",
    "EQUALS": "==a=b==",
}


def _app(env: dict[str, str], secrets: tuple[str, ...] = ()) -> pf.App:
    app = pf.App("shop", env=env, secrets=secrets)

    @app.http("/orders")
    def orders(req: pf.Request) -> str:
        return "ok"

    @app.topic("order-events")
    def notify(event: pf.CloudEvent) -> None: ...

    @app.storage("photos", on=["created"])
    def photos(event: pf.CloudEvent) -> None: ...

    return app


def _deploys(tmp_path: Path) -> dict[str, list[str]]:
    return {c[2]: c for c in raw_calls(tmp_path) if c[:2] == ["functions", "deploy"]}


def test_every_function_gets_the_app_env_byte_for_byte(tmp_path: Path) -> None:
    """Each value reaches gcloud's parse of ``--set-env-vars`` as written, next to the adapter's
    own variables: a comma used to split a value in two (gcloud's default separator)."""
    run_with_fake_gcloud(render(build(_app(NASTY))), tmp_path)
    deploys = _deploys(tmp_path)
    assert set(deploys) == {"shop-orders", "shop-notify", "shop-photos"}
    own = {"GOOGLE_CLOUD_PROJECT": "fake-proj"}
    for service, call in deploys.items():
        bucket = {"BUCKET_PHOTOS": "photos"} if service == "shop-photos" else {}
        assert gcloud_dict(_flag(call, "--set-env-vars") or "") == {**own, **NASTY, **bucket}


def test_the_delimiter_is_in_no_value() -> None:
    """With every usual separator taken by some value, a longer one that still splits right."""
    taken = {f"V{i}": f"x{c}y{c}" for i, c in enumerate(settings.SEPARATORS)}
    items = [f"{k}={v}" for k, v in taken.items()]
    delim = settings.delimiter(items)
    assert len(delim) > 1
    assert all(delim not in item for item in items)
    assert "^" not in delim
    joined = f"^{delim}^" + delim.join(items)
    assert gcloud_dict(joined) == taken


def test_an_env_value_that_ends_like_the_delimiter_starts_still_splits(tmp_path: Path) -> None:
    # "~" + "~|" would be read as "~~|": the delimiter is checked against the joined list.
    env = {f"V{i}": c for i, c in enumerate(settings.SEPARATORS)}
    env["TAIL"] = "ends" + "".join(settings.SEPARATORS)
    run_with_fake_gcloud(render(build(_app(env))), tmp_path)
    for call in _deploys(tmp_path).values():
        assert {k: v for k, v in gcloud_dict(_flag(call, "--set-env-vars") or "").items()
                if k in env} == env


def test_an_operator_value_with_a_comma_reaches_the_function(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The known bug: ``BUCKET_PHOTOS=a,b`` (or any value with a comma) broke the list."""
    monkeypatch.setenv("BUCKET_PHOTOS", "odd,name")
    run_with_fake_gcloud(render(build(_app({"CURRENCY": "EUR"}))), tmp_path)
    photos = _deploys(tmp_path)["shop-photos"]
    assert gcloud_dict(_flag(photos, "--set-env-vars") or "")["BUCKET_PHOTOS"] == "odd,name"


def test_an_operator_value_holding_the_delimiter_stops_deploy(tmp_path: Path) -> None:
    script = render(build(_app({"CURRENCY": "EUR"})))
    delim = settings.delimiter(["CURRENCY=EUR"])
    result = run_fake_gcloud(script, tmp_path, BUCKET_PHOTOS=f"a{delim}b")
    assert result.returncode != 0
    assert "BUCKET_PHOTOS" in result.stderr
    assert not [c for c in raw_calls(tmp_path) if c[:3] == ["functions", "deploy", "shop-photos"]]


def test_secrets_are_secret_manager_references(tmp_path: Path) -> None:
    """``--set-secrets NAME=SECRET:VERSION``, the secret ``<app>-NAME`` by default: no value is
    written anywhere; each function gets every secret."""
    script = render(build(_app({"CURRENCY": "EUR"}, ("STRIPE_KEY", "DB_URL"))))
    assert 'SECRET_PREFIX="${SECRET_PREFIX:-shop-}"' in script
    run_with_fake_gcloud(script, tmp_path)
    for call in _deploys(tmp_path).values():
        assert gcloud_dict(_flag(call, "--set-secrets") or "") == {
            "STRIPE_KEY": "shop-STRIPE_KEY:latest", "DB_URL": "shop-DB_URL:latest"}
        assert "--clear-secrets" not in call
        assert "STRIPE_KEY" not in gcloud_dict(_flag(call, "--set-env-vars") or "")
    # Checked before anything is deployed, so a missing one stops deploy.sh early.
    checked = [c[2] for c in raw_calls(tmp_path) if c[:2] == ["secrets", "describe"]]
    assert checked == ["shop-STRIPE_KEY", "shop-DB_URL"]


def test_the_secret_prefix_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_PREFIX", "prod_shop-")
    run_with_fake_gcloud(render(build(_app({}, ("STRIPE_KEY",)))), tmp_path)
    for call in _deploys(tmp_path).values():
        assert _flag(call, "--set-secrets") == "STRIPE_KEY=prod_shop-STRIPE_KEY:latest"


@pytest.mark.parametrize("prefix", ["prod.shop-", "a/b-", "x" * 250])
def test_a_prefix_secret_manager_would_refuse_stops_deploy(tmp_path: Path, prefix: str) -> None:
    """Secret IDs are at most 255 of ``[A-Za-z0-9_-]`` (CreateSecretRequest.secret_id)."""
    script = render(build(_app({}, ("STRIPE_KEY",))))
    result = run_fake_gcloud(script, tmp_path, SECRET_PREFIX=prefix)
    assert result.returncode != 0
    assert "SECRET_PREFIX" in result.stderr
    assert not [c for c in raw_calls(tmp_path) if c[:2] == ["functions", "deploy"]]


def test_a_missing_secret_stops_deploy_with_how_to_create_it(tmp_path: Path) -> None:
    script = render(build(_app({}, ("STRIPE_KEY",))))
    result = run_fake_gcloud(script, tmp_path, FAKE_MISSING_SECRETS="shop-STRIPE_KEY")
    assert result.returncode != 0
    assert "gcloud secrets create shop-STRIPE_KEY" in result.stderr
    assert not [c for c in raw_calls(tmp_path) if c[:2] == ["functions", "deploy"]]


def test_an_app_without_secrets_clears_any_an_earlier_deploy_set(tmp_path: Path) -> None:
    """``gcloud functions deploy`` keeps a function's secrets when no secrets flag is given:
    a secret removed from the app would stay. ``--set-env-vars`` already replaces them all."""
    run_with_fake_gcloud(render(build(_app({}))), tmp_path)
    for call in _deploys(tmp_path).values():
        assert "--clear-secrets" in call
        assert "--set-secrets" not in call
        assert "--set-env-vars" in call


def test_secrets_are_reported_with_what_to_do(tmp_path: Path) -> None:
    found = [f for f in build(_app({}, ("STRIPE_KEY",))).findings
             if "Secret Manager" in f.message]
    assert [(f.function, f.level) for f in found] == [(None, "info")]
    assert "shop-STRIPE_KEY" in found[0].message
    assert "roles/secretmanager.secretAccessor" in found[0].message
    assert not [f for f in build(_app({})).findings if "Secret Manager" in f.message]


def test_shellcheck_passes_with_settings_and_secrets(tmp_path: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.fail("shellcheck is required: apt-get install -y shellcheck")
    for name, app in {"with": _app(NASTY, ("STRIPE_KEY",)), "without": _app({})}.items():
        path = tmp_path / f"{name}.sh"
        path.write_text(render(build(app)))
        result = subprocess.run([shellcheck, "--severity=style", str(path)],
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("where", ["env", "secrets"])
def test_a_name_deploy_sh_gives_a_storage_function_is_refused(tmp_path: Path, where: str) -> None:
    """deploy.sh passes a storage function its bucket's real name as ``BUCKET_<NAME>``; the
    app's own BUCKET_PHOTOS would be a second item of that name in its ``--set-env-vars``.
    ``inspect`` reports it for that function, ``package`` refuses before writing anything."""
    from portable_fn.errors import ConfigurationError

    from portable_fn_gcp.adapter import GCPAdapter

    app = (_app({"BUCKET_PHOTOS": "mine"}) if where == "env"
           else _app({}, secrets=("BUCKET_PHOTOS",)))
    unsupported = [f for f in GCPAdapter().findings(app) if f.level == "unsupported"]
    assert [f.function for f in unsupported] == ["photos"]
    assert "BUCKET_PHOTOS" in unsupported[0].message
    assert str(unsupported[0]).count("photos:") == 1, str(unsupported[0])
    with pytest.raises(ConfigurationError, match="photos: BUCKET_PHOTOS"):
        build(app)
    out = tmp_path / "gcp"
    with pytest.raises(ConfigurationError, match="BUCKET_PHOTOS"):
        GCPAdapter().package(app, "settings_clash_app:app", out)
    assert not out.exists()
    # A name only another function's bucket would have is no clash.
    assert not [f for f in GCPAdapter().findings(_app({"BUCKET_OTHER": "x"}))
                if f.level == "unsupported"]


def _narrowed(secrets: tuple[str, ...], **own: list[str]) -> pf.App:
    """``_app``'s three functions; ``own`` gives some of them their own ``secrets=`` (by
    function name), the others keep every secret of the app's."""
    app = pf.App("shop", env={"CURRENCY": "EUR"}, secrets=secrets)

    @app.http("/orders", secrets=own.get("orders"))
    def orders(req: pf.Request) -> str:
        return "ok"

    @app.topic("order-events", secrets=own.get("notify"))
    def notify(event: pf.CloudEvent) -> None: ...

    @app.storage("photos", on=["created"], secrets=own.get("photos"))
    def photos(event: pf.CloudEvent) -> None: ...

    return app


def test_each_function_is_deployed_with_its_own_secrets_only(tmp_path: Path) -> None:
    """Least privilege: ``--set-secrets`` names the function's ``secrets=`` (every secret of
    the app's when it gives none); a function given none deploys with ``--clear-secrets``, so
    a secret an earlier deploy gave it goes. The app's secrets are still checked first."""
    app = _narrowed(("STRIPE_KEY", "DB_URL"), notify=["STRIPE_KEY"], photos=[])
    run_with_fake_gcloud(render(build(app)), tmp_path)
    deploys = _deploys(tmp_path)
    secrets = {service: gcloud_dict(_flag(call, "--set-secrets") or "")
               for service, call in deploys.items()}
    assert secrets == {
        "shop-orders": {"STRIPE_KEY": "shop-STRIPE_KEY:latest", "DB_URL": "shop-DB_URL:latest"},
        "shop-notify": {"STRIPE_KEY": "shop-STRIPE_KEY:latest"},
        "shop-photos": {},
    }
    assert [s for s, call in deploys.items() if "--clear-secrets" in call] == ["shop-photos"]
    for call in deploys.values():
        assert gcloud_dict(_flag(call, "--set-env-vars") or "")["CURRENCY"] == "EUR"
        assert call.count("--set-secrets") + call.count("--clear-secrets") == 1
    checked = [c[2] for c in raw_calls(tmp_path) if c[:2] == ["secrets", "describe"]]
    assert checked == ["shop-STRIPE_KEY", "shop-DB_URL"]


def test_a_per_function_secret_follows_the_secret_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_PREFIX", "prod_shop-")
    app = _narrowed(("STRIPE_KEY", "DB_URL"), orders=["DB_URL"], notify=[], photos=[])
    run_with_fake_gcloud(render(build(app)), tmp_path)
    deploys = _deploys(tmp_path)
    assert _flag(deploys["shop-orders"], "--set-secrets") == "DB_URL=prod_shop-DB_URL:latest"
    assert "--clear-secrets" in deploys["shop-notify"]


def test_secrets_no_function_is_given_are_not_required(tmp_path: Path) -> None:
    """Every function narrowed to none: no deploy reads a secret, so none must exist (a
    missing one does not stop deploy.sh) and every function clears its secrets."""
    app = _narrowed(("STRIPE_KEY",), orders=[], notify=[], photos=[])
    result = run_fake_gcloud(render(build(app)), tmp_path,
                             FAKE_MISSING_SECRETS="shop-STRIPE_KEY", FAKE_BUCKET_LOCATION="US")
    assert result.returncode == 0, result.stderr
    deploys = _deploys(tmp_path)
    assert all("--clear-secrets" in call and "--set-secrets" not in call
               for call in deploys.values())
    assert not [f for f in build(app).findings if "Secret Manager" in f.message]


def test_shellcheck_passes_with_narrowed_secrets(tmp_path: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.fail("shellcheck is required: apt-get install -y shellcheck")
    apps = {
        "some": _narrowed(("STRIPE_KEY", "DB_URL"), notify=["STRIPE_KEY"], photos=[]),
        "none": _narrowed(("STRIPE_KEY",), orders=[], notify=[], photos=[]),
    }
    for name, app in apps.items():
        path = tmp_path / f"{name}.sh"
        path.write_text(render(build(app)))
        result = subprocess.run([shellcheck, "--severity=style", str(path)],
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
