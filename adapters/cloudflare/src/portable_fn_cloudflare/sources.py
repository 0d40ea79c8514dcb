# SPDX-License-Identifier: Apache-2.0
"""The app's own code a Worker carries: its module, the modules beside it, its package.

A Python Worker imports the modules uploaded beside its entry, with ``src/`` as the import root
("Python workers can be split across multiple files", ``import module`` from ``src/main.py``:
https://developers.cloudflare.com/workers/languages/python/examples/#modules-in-your-worker).
The packager copies what the app can import the way it imports it locally:

- ``APP`` is a file (``path/app.py``) or a top-level module: the Python modules (``*.py``) and
  packages (folders with ``__init__.py``) beside it, as ``python path/app.py`` finds them, and any
  module the loaded app imported from below that folder (a namespace package has no
  ``__init__.py`` to recognise it by). Other files beside it (README, requirements.txt, .env) are
  not modules and stay out.
- ``APP`` is a module inside a regular package (``shop.app``, ``shop.api.app``): every module of
  the outermost regular package holding it, so ``from . import models`` and
  ``from shop.common import x`` both resolve.

Only ``*.py`` files are copied. wrangler uploads, from the folder of a ``.py`` ``main``, the files
its module rules match, and for a Python Worker adds ``{type = "PythonModule", globs =
["**/*.py"]}`` (wrangler ``applyPythonConfig``; ``find_additional_modules``,
https://github.com/cloudflare/workers-sdk/releases/tag/wrangler%403.11.0): a package's data files
would never reach the Worker's filesystem, and its default rules would upload stray ``.txt``,
``.html``, ``.js`` or ``.bin`` files as modules.

Never copied: virtualenvs (a folder holding ``pyvenv.cfg``, whatever its name), hidden files and
folders, tests, caches and bytecode, build output (``dist``, ``build``, ``*.egg-info``),
``node_modules``, ``python_modules`` (where pywrangler vendors dependencies), and the output
folder itself (the CLI writes ``dist/cloudflare`` inside the project). A Worker's upload is
size-limited (https://developers.cloudflare.com/workers/platform/limits/#worker-size). A folder
inside ``site-packages`` is never copied whole: only the app's module.
"""

from __future__ import annotations

import importlib
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from portable_fn.adapter import Finding
from portable_fn.errors import ConfigurationError

# Top-level names of src/ the Worker itself needs: its ``main`` (``entry``), the vendored
# packages, and the modules the runtime provides (the SDK, Pyodide's FFI).
RESERVED = frozenset(("entry", "portable_fn", "portable_fn_cloudflare", "workers", "js", "pyodide"))
_SKIP_NAMES = frozenset((
    "__pycache__", "tests", "test", "dist", "build", "node_modules", "python_modules",
    "site-packages", "__pypackages__", "htmlcov", "conftest.py",
))
_SKIP_SUFFIXES = (".pyc", ".pyo", ".egg-info", ".dist-info")
_INSTALLED = ("site-packages", "dist-packages")

Skip = Callable[[Path], bool]


def copy_app(module: str, src: Path, out_dir: Path) -> tuple[str, list[Finding]]:
    """Copy the app's code for ``module`` (a dotted name or a ``.py`` path) into ``src``;
    its import name there, and what was left out that the user should know about."""
    skip = _skipper(out_dir)
    if module.endswith(".py") or "/" in module or "\\" in module:
        path = Path(module).resolve()
        if not path.is_file():
            raise ConfigurationError(f"app file {module!r} does not exist")
        _refuse_reserved(path.stem)
        return path.stem, _copy_folder(path, src, skip, top_level=True)
    mod = sys.modules.get(module) or importlib.import_module(module)
    file = getattr(mod, "__file__", None)
    if not file:
        raise ConfigurationError(f"app module {module!r} has no source file to package")
    origin = Path(file).resolve()
    parts = module.split(".")
    _refuse_reserved(parts[0])
    notes: list[Finding] = []
    package = _outermost_package(parts, origin)
    if package is not None:
        depth, folder = package
        _copy_tree(folder, src.joinpath(*parts[:depth]), skip)
    else:  # a top-level module, or one inside namespace packages: its folder's modules
        depth = len(parts) - 1
        notes = _copy_folder(origin, src.joinpath(*parts[:depth]), skip, top_level=depth == 0)
    # Namespace folders on the path get an empty __init__ (explicit packages, as locally found).
    for n in range(1, depth + 1):
        init = src.joinpath(*parts[:n], "__init__.py")
        if not init.exists():
            init.touch()
    return module, notes


def _refuse_reserved(top: str) -> None:
    if top in RESERVED:
        raise ConfigurationError(
            f"the app module cannot be called {top!r} on cloudflare: src/{top} is the Worker's "
            "own (entry.py is its main module); rename the app's file or package"
        )


def _outermost_package(parts: list[str], origin: Path) -> tuple[int, Path] | None:
    """``(depth, folder)`` of the outermost regular package on the module's dotted path."""
    last = len(parts) if origin.name == "__init__.py" else len(parts) - 1
    for depth in range(1, last + 1):
        parent = sys.modules.get(".".join(parts[:depth]))  # imported with the app module
        init = getattr(parent, "__file__", None)
        if init and Path(init).name == "__init__.py":
            return depth, Path(init).resolve().parent
    return None


def _skipper(out_dir: Path) -> Skip:
    out = Path(out_dir).resolve()

    def skip(path: Path) -> bool:
        name = path.name
        if name.startswith(".") or name in _SKIP_NAMES or name.endswith(_SKIP_SUFFIXES):
            return True
        if name.startswith("test_") and name.endswith(".py"):
            return True
        return path.is_dir() and ((path / "pyvenv.cfg").is_file() or path.resolve() == out)

    return skip


def _copy_folder(main: Path, dest: Path, skip: Skip, *, top_level: bool) -> list[Finding]:
    """The app's module ``main`` and the modules and packages beside it, into ``dest`` (``src``
    itself when ``top_level``, where the Worker's own names are taken)."""
    folder = main.parent
    dest.mkdir(parents=True, exist_ok=True)
    if any(part in _INSTALLED for part in folder.parts):  # an installed app: not its neighbours
        shutil.copy2(main, dest / main.name)
        return []
    notes: list[Finding] = []
    for entry in sorted(folder.iterdir()):
        is_module = entry.is_file() and entry.suffix == ".py"
        is_package = entry.is_dir() and (entry / "__init__.py").is_file()
        if not (is_module or is_package) or (entry != main and skip(entry)):
            continue
        name = entry.stem if is_module else entry.name
        if top_level and entry != main and name in RESERVED:
            notes.append(
                Finding(
                    None,
                    "warning",
                    f"{entry.name} beside the app is not packaged: src/{entry.name} is the "
                    "Worker's own (rename it if the app imports it)",
                )
            )
        elif is_module:
            shutil.copy2(entry, dest / entry.name)
        else:
            _copy_tree(entry, dest / entry.name, skip)
    _copy_imported(folder, dest, skip, reserved=RESERVED if top_level else frozenset())
    return notes


def _copy_imported(folder: Path, dest: Path, skip: Skip, *, reserved: frozenset[str]) -> None:
    """Modules the loaded app imported from below ``folder`` that are not copied yet: those of
    namespace packages (folders without ``__init__.py``)."""
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if not file or not file.endswith(".py"):
            continue
        try:
            relative = Path(file).resolve().relative_to(folder)
        except ValueError:
            continue
        target = dest / relative
        if target.exists() or len(relative.parts) < 2 or relative.parts[0] in reserved:
            continue
        walked = folder
        if any(skip(walked := walked / part) for part in relative.parts):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(folder / relative, target)


def _copy_tree(source: Path, target: Path, skip: Skip) -> None:
    """A package's modules: its ``*.py`` files, in its sub-packages too (nothing else would
    reach the Worker: see the module docstring)."""

    def ignore(folder: str, names: list[str]) -> list[str]:
        paths = [Path(folder) / n for n in names]
        return [p.name for p in paths if skip(p) or (p.suffix != ".py" and not p.is_dir())]

    shutil.copytree(source, target, ignore=ignore, dirs_exist_ok=True)
