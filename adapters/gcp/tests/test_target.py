# SPDX-License-Identifier: Apache-2.0
"""``package``: the source directory ``gcloud functions deploy --source`` uploads."""

from __future__ import annotations

from pathlib import Path

from portable_fn._local.loader import load_app

from portable_fn_gcp.adapter import adapter

REPO = Path(__file__).resolve().parents[3]


def test_the_apps_own_requirements_are_kept(tmp_path: Path) -> None:
    # Cloud Build installs requirements.txt only: the app's own dependencies must be in it.
    source = tmp_path / "src"
    source.mkdir()
    (source / "gcp_reqs_app.py").write_text(
        "import portable_fn as pf\napp = pf.App('reqs')\n"
        "@app.queue('jobs')\ndef job(event):\n    pass\n"
    )
    (source / "requirements.txt").write_text(
        "# the app's own\nhttpx>=0.27  # client\nportable-fn[gcp]\n\nfunctions-framework\n"
    )
    ref = str(source / "gcp_reqs_app.py")
    out = tmp_path / "dist"
    adapter.package(load_app(ref), ref, out)
    lines = (out / "requirements.txt").read_text().splitlines()
    assert lines[0].startswith("functions-framework==")
    assert lines[1].startswith("google-cloud-pubsub==")
    assert lines[2:] == ["httpx>=0.27"]


def test_nested_requirement_files_reach_cloud_build(tmp_path: Path) -> None:
    """pip reads ``-r reqs/base.txt`` beside the file naming it
    (https://pip.pypa.io/en/stable/reference/requirements-file-format/): from the package root,
    where Cloud Build runs pip, it named nothing for an app in a package folder (a failed
    build). The nested lines take its place; a constraints file is copied to the root."""
    source = tmp_path / "src" / "gcp_nested_pkg"
    (source / "reqs").mkdir(parents=True)
    (source / "__init__.py").write_text("")
    (source / "app.py").write_text(
        "import portable_fn as pf\napp = pf.App('nested')\n"
        "@app.queue('jobs')\ndef job(event):\n    pass\n"
    )
    (source / "requirements.txt").write_text("-r reqs/base.txt\n-c reqs/pins.txt\n")
    (source / "reqs" / "base.txt").write_text("six==1.16.0\n")
    (source / "reqs" / "pins.txt").write_text("six<2\n")
    import sys

    sys.path.insert(0, str(tmp_path / "src"))
    try:
        out = tmp_path / "dist"
        adapter.package(load_app("gcp_nested_pkg.app:app"), "gcp_nested_pkg.app:app", out)
    finally:
        sys.path.remove(str(tmp_path / "src"))
        for name in [m for m in sys.modules if m.startswith("gcp_nested_pkg")]:
            del sys.modules[name]
    lines = (out / "requirements.txt").read_text().splitlines()
    assert lines[2:] == ["six==1.16.0", "-c constraints-0.txt"]
    assert (out / "constraints-0.txt").read_text() == "six<2\n"


def test_a_function_named_like_a_name_of_main_py_is_refused(tmp_path: Path) -> None:
    # main.py binds the app and its helpers at module level, beside one name per function.
    import pytest
    from portable_fn.errors import ConfigurationError

    source = tmp_path / "gcp_clash_app.py"
    source.write_text(
        "import portable_fn as pf\nshop = pf.App('clash')\n"
        "@shop.http('/x', methods=['GET'])\ndef app(req):\n    return 'x'\n"
    )
    with pytest.raises(ConfigurationError, match=r"app: .*main\.py"):
        adapter.package(load_app(str(source)), str(source), tmp_path / "dist")


def test_a_virtualenv_beside_the_app_is_not_uploaded(tmp_path: Path) -> None:
    # `python -m venv venv` beside the app is common; Cloud Build installs requirements.txt
    # itself, and a local virtualenv would be megabytes of the wrong platform's wheels.
    source = tmp_path / "src"
    (source / "venv" / "lib").mkdir(parents=True)
    (source / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (source / "venv" / "lib" / "site.py").write_text("")
    (source / "helpers.py").write_text("X = 1\n")
    (source / "gcp_venv_app.py").write_text(
        "import portable_fn as pf\napp = pf.App('venv')\n"
        "@app.queue('jobs')\ndef job(event):\n    pass\n"
    )
    ref = str(source / "gcp_venv_app.py")
    out = tmp_path / "dist"
    adapter.package(load_app(ref), ref, out)
    assert (out / "helpers.py").is_file() and (out / "gcp_venv_app.py").is_file()
    assert not (out / "venv").exists()


def _shop(source: Path, *modules: str) -> str:
    source.mkdir(exist_ok=True)
    for module in modules:
        (source / f"{module}.py").write_text("X = 1\n")
    (source / "gcp_fresh_app.py").write_text(
        "import portable_fn as pf\napp = pf.App('fresh')\n"
        "@app.queue('jobs')\ndef job(event):\n    pass\n"
    )
    return str(source / "gcp_fresh_app.py")


def test_packaging_again_leaves_no_stale_module_of_the_earlier_package(tmp_path: Path) -> None:
    # gcloud uploads the whole --source folder: a module the app no longer has must not ship.
    out = tmp_path / "dist"
    ref = _shop(tmp_path / "src", "helpers")
    adapter.package(load_app(ref), ref, out)
    assert (out / "helpers.py").is_file()
    (tmp_path / "src" / "helpers.py").unlink()
    adapter.package(load_app(ref), ref, out)
    assert not (out / "helpers.py").exists()
    assert (out / "main.py").is_file()


def test_a_folder_holding_anything_else_is_refused_and_left_alone(tmp_path: Path) -> None:
    # --out pointed at the app's own source, or at another provider's package: never mixed in.
    import pytest
    from portable_fn.errors import ConfigurationError

    ref = _shop(tmp_path / "src")
    out = tmp_path / "aws"
    out.mkdir()
    (out / "template.yaml").write_text("Resources: {}\n")
    with pytest.raises(ConfigurationError, match="holds no earlier GCP package"):
        adapter.package(load_app(ref), ref, out)
    assert [p.name for p in out.iterdir()] == ["template.yaml"]


def test_main_freezes_the_framework_and_collects_the_apps_garbage(tmp_path: Path) -> None:
    """Cold start: main.py imports the framework with the collector paused and freezes it with
    what functions-framework loaded (``gc.freeze``), so no collection scans those objects again,
    in the process or the workers gunicorn forks from it. The app itself imports as usual: a
    cycle it drops while importing is still collected. Runs the packaged main.py in a fresh
    interpreter after functions_framework, as the framework's loader imports it."""
    import shutil
    import subprocess
    import sys

    source = shutil.copy(REPO / "tests" / "fixtures" / "gc_probe_app.py", tmp_path)
    out = tmp_path / "dist"
    adapter.package(load_app(str(source)), str(source), out)
    probe = "import functions_framework, main, gc_probe_app; gc_probe_app.report()"
    for before, enabled in (("", "True"), ("import gc; gc.disable(); ", "False")):
        result = subprocess.run(
            [sys.executable, "-c", before + probe], cwd=out, capture_output=True, text=True,
            check=True,
        )
        # The app imports as it would anywhere, and the collector ends as it was found.
        assert result.stdout.split() == [enabled, enabled, "True", "True"], result.stderr
