# SPDX-License-Identifier: Apache-2.0
"""The test matrix: core and each provider adapter on Python 3.10-3.13, plus lint, typecheck,
examples and benchmarks.

``nox`` runs every default session; ``nox -s aws`` one provider on every Python; ``nox -s bench``
the side-by-side benchmarks (not part of the default run: they measure, they do not test).
"""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
ADAPTERS = ["aws", "azure", "gcp", "cloudflare"]

nox.options.default_venv_backend = "uv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "typecheck", "core", *ADAPTERS, "examples"]

# pyenv keeps each CPython under its own prefix and only the global one on PATH; uv looks for
# interpreters on PATH and must not try to download one (no internet beyond package registries).
_pyenv = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
_found = sorted(glob.glob(f"{_pyenv}/versions/3.1[0-9].*/bin"))
if _found:
    os.environ["PATH"] = os.pathsep.join([*_found, os.environ.get("PATH", "")])
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")
# One wheel cache for every virtualenv: twenty venvs install from it, not from the registry.
# The cache sits on the checkout's filesystem so uv hardlinks each file into the venvs: twenty
# copies of the test dependencies took 5.8 GB and filled a CI disk; linked, they share one.
os.environ.setdefault("UV_CACHE_DIR", str(ROOT / ".nox" / "uv-cache"))
os.environ.setdefault("UV_LINK_MODE", "hardlink")


def _pytest(session: nox.Session, *paths: str) -> None:
    # Exit code 5 is pytest's "no tests collected": a session that finds nothing has failed.
    session.run("pytest", "-q", "-p", "no:cacheprovider", *paths, *session.posargs)


def _editable(providers: list[str], extra: str = "") -> list[str]:
    return [arg for p in providers for arg in ("-e", f"adapters/{p}{extra}")]


# Debian packages some tests drive for real (redis-server for the Redis idempotency store,
# shellcheck for the generated deploy.sh); installed here so the one test command works on a
# fresh machine of this kind (root, apt reaching Debian's registry).
_APT = {"core": ["redis-server"], "gcp": ["shellcheck"], "cloudflare": ["shellcheck"]}


def _apt(session: nox.Session, packages: list[str]) -> None:
    missing = [p for p in packages if shutil.which(p) is None]  # each names its binary
    if not missing or shutil.which("apt-get") is None:
        return
    prefix = [] if os.geteuid() == 0 else ["sudo"]
    session.run(*prefix, "apt-get", "update", "-qq", external=True, silent=True)
    session.run(*prefix, "apt-get", "install", "-y", "-qq", *missing, external=True, silent=True,
                env={"DEBIAN_FRONTEND": "noninteractive"})


def _npm(session: nox.Session, folder: str) -> None:
    if (ROOT / folder / "package-lock.json").exists():
        session.run("npm", "ci", "--no-audit", "--no-fund", "--prefix", folder, external=True,
                    silent=True)


@nox.session(python=PYTHONS)
def core(session: nox.Session) -> None:
    """The core SDK, the local runtime, the CLI, and the contract suite through the core."""
    _apt(session, _APT["core"])
    session.install("-e", ".[test,local]")
    _pytest(session, "tests")


def _adapter_session(provider: str) -> None:
    def run(session: nox.Session) -> None:
        folder = f"adapters/{provider}"
        _apt(session, _APT.get(provider, []))
        _npm(session, folder)
        session.install("-e", ".[test,local]", "-e", f"{folder}[test]")
        _pytest(session, f"{folder}/tests", "tests/contract")

    # Before decorating: nox reads the description (`nox -l`) when the session is registered.
    run.__doc__ = f"The {provider} adapter: its tests and the contract suite through it."
    nox.session(name=provider, python=["3.10", "3.11", "3.12", "3.13"])(run)


for _provider in ADAPTERS:
    _adapter_session(_provider)


@nox.session(python="3.11")
def examples(session: nox.Session) -> None:
    """Every example app imports, inspects cleanly, and packages for every provider."""
    session.install("-e", ".[test,local]", *_editable(ADAPTERS))
    for app in sorted(glob.glob("examples/*/app.py")):
        session.run("portable-fn", "inspect", app)
        for provider in ADAPTERS:
            out = session.create_tmp() + f"/{Path(app).parent.name}-{provider}"
            session.run("portable-fn", "package", app, "--provider", provider, "--out", out)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff over everything."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the core and on each adapter package."""
    session.install("mypy>=1.11", "typing-extensions>=4.7", "pydantic>=2", "redis>=5",
                    "-e", ".[local]",
                    *_editable(ADAPTERS))
    session.run("mypy", "--strict", "portable_fn")
    for provider in ADAPTERS:
        folder = Path(f"adapters/{provider}")
        package = next(folder.glob("**/portable_fn_*/__init__.py")).parent
        # Each adapter's own mypy settings (its SDKs' missing stubs) live in its pyproject.
        session.run("mypy", "--strict", "--config-file", str(folder / "pyproject.toml"),
                    str(package))


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Side-by-side benchmarks against the anchors; prints Markdown tables of ratios."""
    session.install("-e", ".[local]", *_editable(ADAPTERS, "[test]"),
                    "chalice", "aws-lambda-powertools", "functions-framework", "starlette",
                    "uvicorn", "mangum")
    session.run("python", "-m", "compileall", "-q", "portable_fn", "adapters", silent=True)
    for script in sorted(glob.glob("benchmarks/bench_*.py")):
        session.run("python", script)
