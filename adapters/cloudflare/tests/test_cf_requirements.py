# SPDX-License-Identifier: Apache-2.0
"""The app's third-party packages reach a Python Worker only through pywrangler, which bundles
a ``pyproject.toml``'s ``dependencies`` on ``pywrangler deploy``
(https://developers.cloudflare.com/workers/languages/python/packages/). ``package`` wrote no
such file and said nothing, so a Worker deployed with ``npx wrangler deploy`` lacked them."""

from __future__ import annotations

import sys
from pathlib import Path

from portable_fn.testing import load_app
from portable_fn_cloudflare.target import package

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

APP = (
    "import portable_fn as pf\napp = pf.App('deps')\n\n"
    "@app.http('/x')\ndef x(req):\n    return 'ok'\n"
)


def _package(tmp_path: Path, requirements: str | None) -> tuple[Path, list[str]]:
    project = tmp_path / "project"
    project.mkdir()
    (project / "cfdeps_app.py").write_text(APP)
    if requirements is not None:
        (project / "requirements.txt").write_text(requirements)
    app = load_app(str(project / "cfdeps_app.py"))
    out = tmp_path / "out"
    try:
        notes = package(app, str(project / "cfdeps_app.py"), out)
    finally:
        sys.modules.pop("cfdeps_app", None)
    return out, [str(n) for n in notes]


def test_requirements_become_pywranglers_dependencies_with_a_warning(tmp_path: Path) -> None:
    out, notes = _package(
        tmp_path, "httpx>=0.27  # client\n\nportable-fn\nportable_fn_cloudflare\npydantic==2.*\n"
    )
    text = (out / "pyproject.toml").read_text()
    project = tomllib.loads(text)["project"]
    assert project["dependencies"] == ["httpx>=0.27", "pydantic==2.*"]  # vendored: dropped
    assert project["name"] == "deps-worker"
    (warning,) = [n for n in notes if "requirements.txt" in n]
    assert "httpx>=0.27" in warning and "pywrangler deploy" in warning


def test_no_requirements_no_pyproject(tmp_path: Path) -> None:
    out, notes = _package(tmp_path, None)
    assert not (out / "pyproject.toml").exists()
    assert not [n for n in notes if "requirements.txt" in n]
