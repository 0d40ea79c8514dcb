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


def _package(
    tmp_path: Path, requirements: str | None, files: dict[str, str] | None = None
) -> tuple[Path, list[str]]:
    project = tmp_path / "project"
    project.mkdir()
    for name, text in (files or {}).items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
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


def test_pip_options_stay_out_of_pyproject_dependencies(tmp_path: Path) -> None:
    """A ``requirements.txt`` may hold pip's option lines (``--extra-index-url``, ``-r``, ``-e``),
    bare URLs, paths and per-requirement ``--hash`` options (pip's requirements file format,
    https://pip.pypa.io/en/stable/reference/requirements-file-format/); a ``pyproject.toml``
    ``dependencies`` entry must be a PEP 508 dependency specifier
    (https://packaging.python.org/en/latest/specifications/dependency-specifiers/), so one such
    line made the whole file unreadable to pywrangler."""
    from packaging.requirements import Requirement

    out, notes = _package(tmp_path, (
        "--extra-index-url https://example.com/simple\n"
        "-r https://example.com/more.txt\n"
        "-e git+https://example.com/y.git\n"
        "https://example.com/pkgs/local-1.0-py3-none-any.whl\n"
        "./vendored/lib\n"
        'requests[socks]==2.32.3 ; python_version >= "3.9"\n'
        "attrs==24.2.0 \\\n"
        "    --hash=sha256:81921eb96de3191c8258c199618104dd27ac608d9366f5e35d011eae1867ede2\n"
        "pkg @ https://example.com/pkg-1.0.tar.gz\n"
    ))
    dependencies = tomllib.loads((out / "pyproject.toml").read_text())["project"]["dependencies"]
    assert dependencies == [
        'requests[socks]==2.32.3 ; python_version >= "3.9"',
        "attrs==24.2.0",
        "pkg @ https://example.com/pkg-1.0.tar.gz",
    ]
    for line in dependencies:
        Requirement(line)  # raises InvalidRequirement for anything but PEP 508
    (left_out,) = [n for n in notes if "not a PEP 508" in n]
    for line in ("--extra-index-url", "-r https://example.com/more.txt", "-e git+", "local-1.0",
                 "./vendored/lib"):
        assert line in left_out


def test_a_nested_requirements_file_becomes_dependencies(tmp_path: Path) -> None:
    """``-r reqs/base.txt`` (pip's requirements file format,
    https://pip.pypa.io/en/stable/reference/requirements-file-format/) is the app's own
    requirements: its lines are dependencies. The line was left out with a warning, and the
    Worker deployed without the packages it names."""
    out, notes = _package(
        tmp_path, "-r reqs/base.txt\nattrs==24.2.0\n", {"reqs/base.txt": "six==1.16.0\n"}
    )
    dependencies = tomllib.loads((out / "pyproject.toml").read_text())["project"]["dependencies"]
    assert dependencies == ["six==1.16.0", "attrs==24.2.0"]
    assert not [n for n in notes if "not a PEP 508" in n]
