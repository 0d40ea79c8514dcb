# SPDX-License-Identifier: Apache-2.0
"""What ``portable-fn package`` checks of the app's imports: a third-party module the app's code
imports and its package will not carry is a ``ModuleNotFoundError`` at every cold start.
Tooling only (the CLI's ``package``), never in a deployed function."""

from __future__ import annotations

import ast
import re
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

from portable_fn._requirements import app_requirements, project_name, requirement_options

if TYPE_CHECKING:
    from pathlib import Path

    from portable_fn._finding import Finding

__all__ = ["unlisted_imports"]


def unlisted_imports(
    loaded: Collection[str],
    requirements: Path,
    *,
    provided: Collection[str] = (),
    own: Path | None = None,
) -> list[Finding]:
    """A warning for each third-party module the app ``loaded`` (the names ``sys.modules``
    gained while it was imported) that no package of the target carries: no distribution
    providing it (``_owners``) is listed in ``requirements``
    (as ``app_requirements`` reads it, nested ``-r`` files included), ``provided`` by the target
    (its pins, what its platform's runtime has), or required by one of those, as pip installs
    them. Deployed, such an import is a ``ModuleNotFoundError`` at every cold start.

    Only what the app's own code (files below ``own``) names in an ``import`` counts: a module
    a package imports only if it is there (requests' simplejson) is that package's choice. Left
    out: the standard library (``sys.stdlib_module_names``), portable-fn and its adapters
    (vendored), the app's own modules, and modules no distribution provides. A requirement line
    that names no project (a path, a URL without ``#egg=``) may provide anything: then nothing
    is reported. A module that only comes with another unlisted one (pydantic's pydantic_core)
    is named through it."""
    from portable_fn._finding import Finding

    wanted = _requirement_names(app_requirements(requirements))
    if wanted is None:
        return []
    shipped = _with_requirements({**wanted, **{project_name(name): set() for name in provided}})
    owners = _owners()
    missing: dict[tuple[str, ...], list[str]] = {}
    for name in sorted(_imported_by_app(loaded, own) if own is not None else loaded):
        dists = tuple(sorted(_providers(name, owners, own)))
        projects = {project_name(d) for d in dists}
        if dists and not projects & shipped and not any(
            p.startswith("portable-fn") for p in projects
        ):
            missing.setdefault(dists, []).append(name)
    # What each unlisted distribution brings with it, worked out once: one that another brings
    # (pydantic_core with pydantic) is named through that one.
    brings = {
        dists: _with_requirements({project_name(d): set() for d in dists}) for dists in missing
    }
    roots = [
        dists for dists in missing
        if not any(project_name(d) in brings[other] for other in missing if other != dists
                   for d in dists)
    ]
    return [
        Finding(
            None, "warning",
            f"the app imports {', '.join(_outermost(missing[dists]))} (distribution "
            f"{' or '.join(dists)}), which the package does not carry: ModuleNotFoundError at "
            f"every cold start; list it in {requirements}",
        )
        for dists in roots or missing  # each required by another: a cycle, all of them
    ]


def _imported_by_app(loaded: Collection[str], own: Path) -> set[str]:
    """The modules the app's own modules among ``loaded`` (files below ``own``) name in an
    absolute ``import``, with the top-level module of each, that are in ``sys.modules``."""
    import sys
    from pathlib import Path

    named: set[str] = set()
    for name in loaded:
        file = getattr(sys.modules.get(name), "__file__", None)
        if not file or not file.endswith(".py") or not _own(Path(file).resolve(), own):
            continue
        try:
            tree = ast.parse(Path(file).read_bytes())
        except (OSError, SyntaxError, ValueError):
            continue
        nodes: list[ast.AST] = [tree]
        while nodes:
            node = nodes.pop()
            if isinstance(node, ast.If) and _type_checking(node.test):
                nodes.extend(node.orelse)  # what runs: only the else branch
                continue
            if isinstance(node, ast.Import):
                named.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                named.add(node.module)
                named.update(f"{node.module}.{alias.name}" for alias in node.names)
            nodes.extend(ast.iter_child_nodes(node))
    wanted = {".".join(n.split(".")[:depth]) for n in named for depth in
              range(1, n.count(".") + 2)}
    # Loaded by now, not necessarily by this app: another app packaged earlier in the same
    # process may have imported it first. A top-level module not loaded is one the app
    # imports inside a function (a handler's lazy ``import yaml``): it fails there, at the
    # first request, as surely as at import; not its submodules (finding them imports their
    # package, which packaging must not run).
    return {n for n in wanted if n in sys.modules or "." not in n}


def _type_checking(test: ast.expr) -> bool:
    """``if TYPE_CHECKING:`` / ``if typing.TYPE_CHECKING:``: imports a type checker reads and
    Python never runs."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _outermost(names: list[str]) -> list[str]:
    """``names`` without those inside another of them (``a.b`` when ``a`` is there)."""
    return [n for n in names if not any(n.startswith(f"{m}.") for m in names)]


def _owners() -> dict[str, list[str]]:
    """Top-level module -> the installed distributions that provide it, as Python 3.11's
    ``importlib.metadata.packages_distributions`` reads them: a distribution's ``top_level.txt``,
    else the top-level names of the files it installed (``RECORD``). Python 3.10's reads
    ``top_level.txt`` only, which wheels built by hatchling or flit (pydantic's) do not have."""
    from importlib.metadata import distributions
    from inspect import getmodulename

    owners: dict[str, list[str]] = {}
    for dist in distributions():
        names = (dist.read_text("top_level.txt") or "").split()
        if not names:
            for file in dist.files or ():
                parts = file.parts
                top = parts[0] if len(parts) > 1 else getmodulename(parts[0]) if parts else None
                if top and "." not in top and top not in names:
                    names.append(top)
        for name in names:
            owners.setdefault(name, []).append(dist.metadata["Name"])
    return owners


def _providers(name: str, owners: Mapping[str, list[str]], own: Path | None) -> list[str]:
    """The distributions that installed module ``name``: none for the standard library's, the
    app's own, one no distribution lists, or a submodule whose top-level module speaks for it.
    A top-level name several distributions share (the ``google`` namespace) is narrowed to
    those whose files (``RECORD``) hold the module's file, for each regular module below it."""
    import sys
    from pathlib import Path

    top = name.partition(".")[0]
    module = sys.modules.get(name)
    candidates = list(dict.fromkeys(owners.get(top, [])))
    if top in sys.stdlib_module_names or not candidates:
        return []
    if module is None:  # imported inside a function, not loaded (_imported_by_app)
        if name != top or own is None or _own_module(top, own):
            return []
        # One distribution provides it, or none can be told (a namespace several share).
        return candidates if len(candidates) == 1 else []
    file = getattr(module, "__file__", None)
    where = Path(file).resolve() if file else None
    if where is not None and own is not None and _own(where, own):
        return []  # the app's own code, which the package carries
    if len(candidates) == 1:
        return candidates if name == top else []
    if where is None:
        return []  # a namespace package: the regular modules below it decide
    parts = name.split(".")
    below = parts if where.stem == "__init__" else parts[:-1]
    return _holding("/".join([*below, where.name]), candidates)


def _own_module(top: str, folder: Path) -> bool:
    """Whether top-level module ``top`` is the app's own, a file or folder in ``folder``."""
    return (folder / f"{top}.py").is_file() or (folder / top).is_dir()


def _own(file: Path, folder: Path) -> bool:
    """Whether ``file`` is the app's code below ``folder``, not a package installed there (a
    virtualenv inside the project)."""
    if not file.is_relative_to(folder):
        return False
    return not {"site-packages", "dist-packages"} & set(file.relative_to(folder).parts)


def _holding(relative: str, candidates: list[str]) -> list[str]:
    """Those of the ``candidates`` distributions whose files include ``relative``."""
    from importlib.metadata import PackageNotFoundError, distribution

    found = []
    for candidate in candidates:
        try:
            files = distribution(candidate).files or []
        except PackageNotFoundError:
            continue
        if any(f.as_posix() == relative for f in files):
            found.append(candidate)
    return found


# A PEP 508 requirement's project name and its extras (``name[extra,...]``).
_NAMED = r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?"


def _extras(text: str | None) -> set[str]:
    return {project_name(e.strip()) for e in (text or "").split(",") if e.strip()}


def _requirement_names(lines: list[str]) -> dict[str, set[str]] | None:
    """The projects ``lines`` (``app_requirements``) name, each with the extras asked for;
    ``None`` when a line installs something it does not name (a path, an archive, a URL
    without ``#egg=``: https://pip.pypa.io/en/stable/topics/vcs-support/, a nested file left
    unread)."""
    names: dict[str, set[str]] = {}
    for line in lines:
        specifier = requirement_options(line)[0].strip()
        egg = re.search(r"#egg=([A-Za-z0-9._-]+)", line)
        named = re.match(_NAMED, specifier)
        if egg is not None:
            names.setdefault(project_name(egg[1]), set())
        elif specifier.startswith("-"):
            # An editable install, or a nested file app_requirements left as a line (a URL, an
            # environment variable): what they install cannot be told from here.
            if re.match(r"(-e|--editable|-r|--requirement)\b", specifier):
                return None
            # any other option (-c constraints, --index-url) installs nothing itself
        elif named is None or re.match(r"[A-Za-z0-9._-]*([/\\]|:)", specifier):
            return None  # a path or URL
        elif specifier.endswith((".whl", ".tar.gz", ".zip", ".tar.bz2")):
            return None  # an archive in the current folder, which pip reads as a path
        else:
            names.setdefault(project_name(named[1]), set()).update(_extras(named[2]))
    return names


def _with_requirements(wanted: Mapping[str, set[str]]) -> set[str]:
    """The projects ``wanted`` names (project -> extras) and every installed distribution they
    require, as pip installs them: transitively, extras read. Other environment markers count
    as true: a project installed on some platform is not reported missing."""
    from importlib.metadata import PackageNotFoundError, requires

    seen: set[tuple[str, frozenset[str]]] = set()
    pending = [(name, frozenset(extras)) for name, extras in wanted.items()]
    while pending:
        item = pending.pop()
        if item in seen:
            continue
        seen.add(item)
        try:
            declared = requires(item[0]) or []
        except PackageNotFoundError:
            continue
        for line in declared:
            extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", line.partition(";")[2])
            named = re.match(_NAMED, line)
            if named is not None and (extra is None or project_name(extra[1]) in item[1]):
                pending.append((project_name(named[1]), frozenset(_extras(named[2]))))
    return {name for name, _ in seen}
