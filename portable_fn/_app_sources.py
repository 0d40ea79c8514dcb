# SPDX-License-Identifier: Apache-2.0
"""The app's own code a package carries, found the way the app imports it locally.

Every packaging target writes an entry module that does ``from <module> import <attribute>``
from the package's root, which each provider puts on the import path (the Azure Functions host:
the app root, https://learn.microsoft.com/azure/azure-functions/functions-reference-python#folder-structure;
functions-framework: ``main.py``'s folder, https://cloud.google.com/functions/docs/writing#directory-structure-python;
a Python Worker: ``src/``, https://developers.cloudflare.com/workers/languages/python/examples/#modules-in-your-worker).
So the package must hold what the app imports, at the same import path as locally:

- ``APP`` is a file (``path/app.py``) or a top-level module: the modules (``*.py``) and packages
  (folders with ``__init__.py``) beside it, as ``python path/app.py`` finds them, and any module
  the loaded app imported from below that folder (a namespace package has no ``__init__.py`` to
  recognise it by).
- ``APP`` is a module inside a regular package (``shop.app``, ``shop.api.app``): the outermost
  regular package holding it, so ``from . import models`` and ``from shop.common import x`` both
  resolve. Namespace folders above it get an empty ``__init__.py`` (explicit, as locally found).
- An installed module (under ``site-packages``): only the module, never its neighbours.

The target decides the rest (``copy_app_source`` parameters):

- ``python_only``: only ``*.py`` files (Cloudflare: wrangler uploads a Python Worker's
  ``**/*.py`` only). Otherwise (Azure, GCP: their deploys upload the folder) data files come too:
  for a file app every file and folder beside it, for a package every file in it, so data the app
  reads with ``Path(__file__).parent / "x.json"`` reaches the package.
- ``reserved``: top-level names the target's own files take (``function_app`` on Azure, ``main``
  on GCP, ``entry`` on Cloudflare). An app module of such a name is refused; a module, package or
  folder beside it with such a name is left out with a warning.
- ``excluder``: the target's own ignore rules (GCP honours ``.gcloudignore``), given paths
  relative to the folder the package's root is copied from.

Never copied, on any target: virtualenvs (a folder holding ``pyvenv.cfg``, whatever its name),
hidden files and folders, the project's documentation at the copied root or beside its modules
(``README``, ``CHANGELOG``, ``CONTRIBUTING``, ``CHANGES``, ``HISTORY``, as ``.md``, ``.rst``,
``.txt`` or bare; a data folder's are kept), tests (``tests``, ``test``, ``test_*.py``,
``conftest.py``), caches and bytecode, build output (``dist``, ``build``, ``*.egg-info``),
``node_modules``, ``python_modules`` (where pywrangler vendors dependencies), Azure's
``local.settings.json`` (local secrets; ``.env`` and ``.dev.vars`` are hidden files) and the output
folder itself (the CLI writes ``dist/<provider>`` inside the project). Packaging only: nothing
here runs at import time.
"""

from __future__ import annotations

import importlib
import re
import shutil
import sys
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from portable_fn._finding import Finding
from portable_fn._local.loader import split_ref
from portable_fn.errors import ConfigurationError

if TYPE_CHECKING:
    from portable_fn.app import App

__all__ = ["AppSource", "Exclude", "app_origin", "app_root", "copy_app_source"]

# (path relative to the copied root, in POSIX form; whether it is a folder) -> leave it out.
Exclude = Callable[[str, bool], bool]

_SKIP_NAMES = frozenset((
    "__pycache__", "tests", "test", "dist", "build", "node_modules", "python_modules",
    "site-packages", "__pypackages__", "htmlcov", "conftest.py",
    # Azure Functions Core Tools' local settings, which hold local secrets and which Core Tools
    # itself never publishes (https://learn.microsoft.com/azure/azure-functions/functions-develop-local#local-settings-file).
    "local.settings.json",
))
_SKIP_SUFFIXES = (".pyc", ".pyo", ".egg-info", ".dist-info")
_INSTALLED = ("site-packages", "dist-packages")
# The project's own documentation at the copied root or in a folder of its code (one holding a
# module: README.md, CHANGELOG.rst, ...): never read at run time, and a README alone is
# kilobytes of every deployment package. A file of that name in a data folder (no module in it)
# may be the app's data: kept.
_PROJECT_DOCS = frozenset(("README", "CHANGELOG", "CONTRIBUTING", "CHANGES", "HISTORY"))


# An env file's assignment (``portable-fn dev --env-file``'s format, a leading ``export``
# allowed): the name and whether a value follows.
_ASSIGNMENT = re.compile(
    r"^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*(\S?)", re.MULTILINE
)
_ENV_FILE_BYTES = 64 * 1024


def _small_file(path: Path) -> bytes | None:
    """The content of a file that may hold values (not a source file, at most
    ``_ENV_FILE_BYTES``), read once for every check of what it holds; None otherwise."""
    if path.suffix == ".py":  # source files are code, not values
        return None
    try:
        if path.stat().st_size > _ENV_FILE_BYTES:
            return None
        return path.read_bytes()
    except OSError:
        return None


def _sets_secret(content: bytes, secrets: frozenset[str]) -> bool:
    """Whether ``content`` is an env file's giving a value to one of the app's declared secrets
    (a ``local.env`` for ``--env-file``): left out, as a secret's value is never in an artifact
    (docs/core-api.md)."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return any(name in secrets and value for name, value in _ASSIGNMENT.findall(text))


# What holds a credential by its content, whatever the file's name: a PEM private key, a
# Google service-account key, an AWS credentials file. Terraform state holds every secret of
# what it manages. None is read at run time by code that should have it in its package: a
# deployed package is readable by whoever may read the function (lambda:GetFunction, the GCP
# source bucket), so such files are left out with a warning.
_CREDENTIAL_MARKS = (b"PRIVATE KEY-----", b'"private_key"', b"aws_secret_access_key")
_STATE_SUFFIXES = (".tfstate", ".tfstate.backup")


def _holds_credentials(path: Path, content: bytes | None) -> bool:
    if path.name.endswith(_STATE_SUFFIXES):
        return True
    return content is not None and any(mark in content for mark in _CREDENTIAL_MARKS)


# Why a file or folder is left out with a warning, in the order the warnings are written.
_SECRET_VALUE = (
    "it gives a value to a declared secret, which never goes into an artifact (set it in the "
    "provider's secret store)"
)
_CREDENTIALS = (
    "it holds a private key or credentials, which a deployed package shows to whoever may read "
    "the function (give the function an identity, or use the provider's secret store)"
)
_LINK_OUT = "it links out of the app's folder (copy what it points at in, if the app needs it)"
_PACKAGE = "it holds a package portable-fn wrote (package into dist/, which is never copied)"
_WARNED = (_SECRET_VALUE, _CREDENTIALS, _LINK_OUT, _PACKAGE)


# The files by which a folder is a deployable package of one of the targets (what each writes):
# one left beside the app by an earlier `package --out NAME` went into the next target's upload
# whole, app.zip and all. Never the app's code.
_PACKAGE_MARKS = (
    ("template.yaml", "app.zip"), ("function_app.py", "host.json"), ("main.py", "deploy.sh"),
    ("wrangler.toml", "src/entry.py"),
)


def _is_package(folder: Path) -> bool:
    return any(all((folder / mark).is_file() for mark in marks) for marks in _PACKAGE_MARKS)


def _is_project_doc(name: str) -> bool:
    stem, _, suffix = name.partition(".")
    return stem.upper() in _PROJECT_DOCS and suffix.lower() in ("", "md", "rst", "txt")


@dataclass(frozen=True, slots=True, kw_only=True)
class AppSource:
    """What was copied: the entry imports ``attribute`` from ``module``; ``folder`` is the app
    module's own folder (where its ``requirements.txt`` lies); ``findings`` what was left out."""

    module: str
    attribute: str
    folder: Path
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True, slots=True)
class _Rules:
    provider: str
    reserved: frozenset[str]
    python_only: bool
    root: Path
    out: Path | None
    exclude: Exclude | None
    secrets: frozenset[str] = frozenset()  # the app's declared secrets (App(secrets=))
    # What was left out with a warning, and why (one of ``_WARNED``), in the order met.
    warned: list[tuple[Path, str]] = field(default_factory=list)

    def _warn(self, path: Path, why: str) -> bool:
        self.warned.append((path, why))
        return True

    def skip(self, path: Path) -> bool:
        name = path.name
        if name.startswith(".") or name in _SKIP_NAMES or name.endswith(_SKIP_SUFFIXES):
            return True
        if name.startswith("test_") and name.endswith(".py"):
            return True
        if path.is_symlink() and not path.resolve().is_relative_to(self.root.resolve()):
            # A link out of the project (to ~/.aws, a shared folder): what it points at is not
            # the app's, and copying follows it.
            return self._warn(path, _LINK_OUT)
        is_dir = path.is_dir()
        if not is_dir:
            content = _small_file(path)
            if _holds_credentials(path, content):
                return self._warn(path, _CREDENTIALS)
            if self.secrets and content is not None and _sets_secret(content, self.secrets):
                return self._warn(path, _SECRET_VALUE)
        if not is_dir and _is_project_doc(name) and (
            path.parent == self.root or any(path.parent.glob("*.py"))
        ):
            return True
        if is_dir and ((path / "pyvenv.cfg").is_file() or path.resolve() == self.out):
            return True
        if is_dir and _is_package(path):
            return self._warn(path, _PACKAGE)
        if self.exclude is None:
            return False
        try:
            relative = path.relative_to(self.root).as_posix()
        except ValueError:
            return False
        return self.exclude(relative, is_dir)

    def carried(self, path: Path) -> bool:
        """Whether a file is of a kind the target ships (folders are walked, not judged)."""
        return not self.python_only or path.is_dir() or path.suffix == ".py"


def copy_app_source(
    app: App,
    app_ref: str,
    dest: Path,
    *,
    provider: str,
    reserved: Collection[str],
    python_only: bool = False,
    out_dir: Path | None = None,
    excluder: Callable[[Path], Exclude | None] | None = None,
) -> AppSource:
    """Copy the code of the app ``app_ref`` names into ``dest`` (the package's import root).

    ``out_dir`` is left out if it lies inside the app's folder; ``excluder``, given the folder
    copied to ``dest``, returns the target's extra exclusions."""
    attribute = split_ref(app_ref)[1]
    names = frozenset(reserved)
    out = Path(out_dir).resolve() if out_dir is not None else None
    origin, module = app_origin(app_ref)
    parts = module.split(".")
    _refuse_reserved(parts[0], names, provider)
    root = app_root(origin, module)
    exclude = excluder(root) if excluder is not None else None
    rules = _Rules(provider, names, python_only, root, out, exclude, frozenset(app.secrets))
    notes: list[Finding] = []
    package = _outermost_package(parts, origin)
    if package is not None:
        depth, folder = package
        _copy_tree(folder, dest.joinpath(*parts[:depth]), rules)
    else:  # a top-level module, or one inside namespace packages: its folder's modules
        depth = len(parts) - 1
        notes = _copy_folder(origin, dest.joinpath(*parts[:depth]), rules, top_level=depth == 0)
    for n in range(1, depth + 1):
        init = dest.joinpath(*parts[:n], "__init__.py")
        if not init.exists():
            init.touch()
    notes.extend(
        Finding(None, "warning", f"{path.relative_to(root).as_posix()} is not packaged: {why}")
        for why in _WARNED  # grouped by reason, each path once, in the order met
        for path in dict.fromkeys(path for path, given in rules.warned if given is why)
    )
    return AppSource(
        module=module,
        attribute=attribute or _attribute_of(app, module, origin),
        folder=origin.parent,
        findings=tuple(notes),
    )


def app_origin(app_ref: str) -> tuple[Path, str]:
    """The file of the app module ``app_ref`` names and the module's import name (a file's
    stem), as the CLI loaded it."""
    target = split_ref(app_ref)[0]
    if target.endswith(".py") or "/" in target or "\\" in target or Path(target).is_file():
        origin = Path(target).resolve()
        if not origin.is_file():
            raise ConfigurationError(f"app file {target!r} does not exist")
        return origin, origin.stem
    loaded = sys.modules.get(target) or importlib.import_module(target)
    file = getattr(loaded, "__file__", None)
    if not file:
        raise ConfigurationError(f"app module {target!r} has no source file to package")
    return Path(file).resolve(), target


def app_root(origin: Path, module: str) -> Path:
    """The folder whose contents land at the package's root: the ``sys.path`` entry the app
    module ``module`` (file ``origin``) imports from."""
    depth = len(module.split("."))
    return origin.parents[depth - (0 if origin.name == "__init__.py" else 1)]


def _refuse_reserved(top: str, reserved: frozenset[str], provider: str) -> None:
    if top in reserved:
        raise ConfigurationError(
            f"the app module cannot be called {top!r} on {provider}: the package's own "
            f"{top} takes that name; rename the app's file or package"
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


def _copy_folder(main: Path, dest: Path, rules: _Rules, *, top_level: bool) -> list[Finding]:
    """The app's module ``main`` and what lies beside it, into ``dest`` (the package's root when
    ``top_level``, where the target's own names are taken)."""
    folder = main.parent
    dest.mkdir(parents=True, exist_ok=True)
    if any(part in _INSTALLED for part in folder.parts):  # an installed app: not its neighbours
        shutil.copy2(main, dest / main.name)
        return []
    notes: list[Finding] = []
    for entry in sorted(folder.iterdir()):
        is_module = entry.is_file() and entry.suffix == ".py"
        is_package = entry.is_dir() and (entry / "__init__.py").is_file()
        wanted = is_module or is_package or not rules.python_only
        if not wanted or (entry != main and rules.skip(entry)):
            continue
        name = entry.stem if is_module else entry.name
        if top_level and entry != main and (is_module or entry.is_dir()) and name in rules.reserved:
            notes.append(Finding(
                None, "warning",
                f"{entry.name} beside the app is not packaged: {name} is the {rules.provider} "
                "package's own (rename it if the app imports it)"))
        elif entry.is_dir():
            _copy_tree(entry, dest / entry.name, rules)
        else:
            shutil.copy2(entry, dest / entry.name)
    _copy_imported(folder, dest, rules, reserved=rules.reserved if top_level else frozenset())
    return notes


def _copy_imported(folder: Path, dest: Path, rules: _Rules, *, reserved: frozenset[str]) -> None:
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
        if any(rules.skip(walked := walked / part) for part in relative.parts):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(folder / relative, target)


def _copy_tree(source: Path, target: Path, rules: _Rules) -> None:
    def ignore(folder: str, names: list[str]) -> list[str]:
        paths = [Path(folder) / n for n in names]
        return [p.name for p in paths if rules.skip(p) or not rules.carried(p)]

    shutil.copytree(source, target, ignore=ignore, dirs_exist_ok=True)


def _attribute_of(app: App, module: str, origin: Path) -> str:
    """The name the app is bound to in its module (loaded already: the CLI loaded the app)."""
    for loaded in list(sys.modules.values()):
        file = getattr(loaded, "__file__", None)
        if getattr(loaded, "__name__", None) != module and not (
            file and Path(file).resolve() == origin
        ):
            continue
        for name, value in vars(loaded).items():
            if value is app:
                return name
    raise ConfigurationError(
        f"cannot find the App in {module}: name it as APP {module}:ATTRIBUTE")
