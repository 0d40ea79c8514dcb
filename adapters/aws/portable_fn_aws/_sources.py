# SPDX-License-Identifier: Apache-2.0
"""What goes into app.zip besides the app's own code (``portable_fn.adapter.copy_app_source``):
installed packages' sources, and the app's requirements resolved for the Lambda platform
(tooling only).

Python deployment packages: https://docs.aws.amazon.com/lambda/latest/dg/python-package.html
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from portable_fn.adapter import app_requirements, requirement_options
from portable_fn.errors import ConfigurationError

PROVIDED_BY_RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath")
_PLATFORMS = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}


def _source_files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).parts
        if (
            path.is_file()
            and not any(p in ("__pycache__", "tests", "dist") or p.startswith(".") for p in rel)
            and path.suffix not in (".pyc", ".pyo")
        ):
            yield path


def package_files(
    package: str, *, exclude: tuple[str, ...] = (), only: tuple[str, ...] | None = None
) -> dict[str, bytes]:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ConfigurationError(f"{package} is not installed")
    folder = Path(spec.origin).parent
    out: dict[str, bytes] = {}
    for path in _source_files(folder):
        rel = path.relative_to(folder)
        if rel.parts[0] in exclude:
            continue
        if only is not None and not (len(rel.parts) == 1 and rel.stem in only):
            continue
        if path.suffix == ".py":  # sources only: py.typed markers serve type checkers
            out[f"{package}/{rel.as_posix()}"] = path.read_bytes()
    return out


def _installer(target: str, platform: str, version: str, requirements: str) -> list[str]:
    """pip where this environment has it; else uv (a uv-made venv has no pip), with the same
    meaning: wheels for the Lambda platform and Python only."""
    import shutil

    if importlib.util.find_spec("pip") is not None:
        return [
            sys.executable, "-m", "pip", "install", "--quiet", "--target", target,
            "--platform", platform, "--implementation", "cp", "--python-version", version,
            "--only-binary=:all:", "-r", requirements,
        ]
    uv = shutil.which("uv")
    if uv is None:
        raise ConfigurationError(
            "resolving the app's requirements for Lambda needs pip or uv in this environment"
        )
    return [
        uv, "pip", "install", "--quiet", "--target", target, "--python", sys.executable,
        "--python-platform", f"{platform.replace('manylinux2014_', '')}-manylinux2014",
        "--python-version", version, "--only-binary", ":all:", "-r", requirements,
    ]


def _for_lambda(lines: list[str], version: str, architecture: str) -> list[str]:
    """The requirement lines whose environment marker holds in Lambda, without their markers.

    pip's ``--python-version`` and ``--platform`` choose wheels but not markers: pip evaluates
    ``; python_version >= "3.12"`` against the interpreter packaging the app, so packaging on
    3.11 for python3.12 left such a requirement out (an ImportError in Lambda) and shipped one
    marked ``< "3.12"``. The app's own lines are decided here for the runtime; a dependency's
    markers are still pip's to read (uv, used when pip is absent, reads them for the target).
    """
    import importlib

    requirements: Any = None
    # pip's own copy of packaging where packaging is not installed: pip is here whenever pip
    # does the installing.
    for module in ("packaging.requirements", "pip._vendor.packaging.requirements"):
        try:
            requirements = importlib.import_module(module)
            break
        except ImportError:
            continue
    if requirements is None:
        return lines
    environment = {
        "python_version": version,
        "python_full_version": f"{version}.0",
        "implementation_name": "cpython",
        "implementation_version": f"{version}.0",
        "platform_python_implementation": "CPython",
        "os_name": "posix",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "aarch64" if architecture == "arm64" else "x86_64",
    }
    kept: list[str] = []
    for line in lines:
        specifier, options = requirement_options(line)
        try:
            requirement = requirements.Requirement(specifier)
        except requirements.InvalidRequirement:  # a path, a URL, an option line: pip's to read
            kept.append(line)
            continue
        if requirement.marker is None:
            kept.append(line)
        elif requirement.marker.evaluate(environment):
            requirement.marker = None
            kept.append(f"{requirement}{options}")
    return kept


def resolved_dependencies(requirements: Path, runtime: str, architecture: str) -> dict[str, bytes]:
    """pip-install the app's requirements as Lambda would see them: manylinux wheels only,
    markers read for the runtime's Python (``_for_lambda``); the file is read as pip reads one
    (``app_requirements``), and what the runtime provides (boto3...) is left out."""
    version = runtime.removeprefix("python")
    # Nested -r files are the app's own lines (app_requirements reads them beside the file
    # naming them): what the runtime provides is left out of them and their markers read too.
    wanted = _for_lambda(
        app_requirements(requirements, skip=PROVIDED_BY_RUNTIME), version, architecture
    )
    if not wanted:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        listed = Path(tmp) / "requirements.txt"
        folder = requirements.parent
        listed.write_text("".join(f"{line}\n" for line in wanted), encoding="utf-8")
        target = Path(tmp) / "site"
        command = _installer(str(target), _PLATFORMS[architecture], version, str(listed))
        # Relative paths in the app's requirements are the app folder's, as pip reads them.
        # pip's own output goes to the terminal; its failure is a usage error, not a traceback.
        if subprocess.run(command, check=False, cwd=folder).returncode != 0:
            installer = "pip" if command[1:3] == ["-m", "pip"] else "uv"
            raise ConfigurationError(
                f"{installer} could not install the app's requirements.txt for {runtime} on "
                f"{architecture} (its output is above): Lambda needs them as manylinux wheels, "
                "no editable installs or local source builds"
            )
        root = target
        return {
            p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*"))
            if p.is_file()
            and p.relative_to(root).parts[0].split("-")[0].lower() not in PROVIDED_BY_RUNTIME
            and "__pycache__" not in p.parts
        }
