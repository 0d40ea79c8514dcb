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


def _installer(target: str, platform: str, version: str, wanted: list[str]) -> list[str]:
    """pip where this environment has it; else uv (a uv-made venv has no pip), with the same
    meaning: wheels for the Lambda platform and Python only."""
    import shutil

    if importlib.util.find_spec("pip") is not None:
        return [
            sys.executable, "-m", "pip", "install", "--quiet", "--target", target,
            "--platform", platform, "--implementation", "cp", "--python-version", version,
            "--only-binary=:all:", *wanted,
        ]
    uv = shutil.which("uv")
    if uv is None:
        raise ConfigurationError(
            "resolving the app's requirements for Lambda needs pip or uv in this environment"
        )
    return [
        uv, "pip", "install", "--quiet", "--target", target, "--python", sys.executable,
        "--python-platform", f"{platform.replace('manylinux2014_', '')}-manylinux2014",
        "--python-version", version, "--only-binary", ":all:", *wanted,
    ]


def _without_comment(line: str) -> str:
    """A requirements line without its comment: ``#`` at the start or after whitespace, as pip
    reads a requirements file (``requests==2.32  # http``), while as an argument pip would
    refuse the whole line. https://pip.pypa.io/en/stable/reference/requirements-file-format/
    """
    cut = next((i for i, c in enumerate(line) if c == "#" and (i == 0 or line[i - 1].isspace())),
               len(line))
    return line[:cut].strip()


def resolved_dependencies(requirements: Path, runtime: str, architecture: str) -> dict[str, bytes]:
    """pip-install the app's requirements as Lambda would see them: manylinux wheels only."""
    lines = (_without_comment(line) for line in requirements.read_text().splitlines())
    wanted = [
        line for line in lines if line and not line.lower().startswith(PROVIDED_BY_RUNTIME)
    ]
    if not wanted:
        return {}
    version = runtime.removeprefix("python")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(_installer(tmp, _PLATFORMS[architecture], version, wanted), check=True)
        root = Path(tmp)
        return {
            p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*"))
            if p.is_file()
            and p.relative_to(root).parts[0].split("-")[0].lower() not in PROVIDED_BY_RUNTIME
            and "__pycache__" not in p.parts
        }
