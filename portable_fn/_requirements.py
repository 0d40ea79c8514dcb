# SPDX-License-Identifier: Apache-2.0
"""An app's ``requirements.txt`` as the packaging targets install it, read as pip reads it
(https://pip.pypa.io/en/stable/reference/requirements-file-format/). Packaging time only:
re-exported by ``portable_fn.adapter``."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["app_requirements", "localized_constraints", "requirement_options"]


def app_requirements(path: Path, *, skip: Collection[str] = ()) -> list[str]:
    """The requirement lines of an app's ``requirements.txt`` (none without the file), for a
    target that installs them itself: no comments or blank lines, no portable-fn distribution
    (the targets vendor them), and none named in ``skip`` (what the target pins); names are
    compared as PEP 503 normalises them (``portable_fn`` is ``portable-fn``). Read as pip reads
    the file (https://pip.pypa.io/en/stable/reference/requirements-file-format/): a line ending
    in ``\\`` goes on with the next, and ``#`` starts a comment only at the start of a line or
    after whitespace, so a URL's ``#subdirectory=`` or ``#sha256=`` fragment is kept.

    A nested ``-r base.txt`` is replaced by that file's lines, read beside the file naming it
    as pip reads it: the generated file the target writes lies elsewhere (another folder, a
    ``pyproject.toml``), where the relative path named nothing. A ``-c`` constraints file
    installs nothing and stays a line, its path made absolute (``localized_constraints`` puts
    it in a package that is built remotely). A URL or an environment variable is pip's."""
    return _read(path, skip, frozenset())


def project_name(line: str) -> str:
    """The PEP 503 normalised project name a requirement line starts with."""
    name = re.match(r"[A-Za-z0-9._-]*", line)
    return re.sub(r"[._-]+", "-", name.group() if name else "").lower()


def _read(path: Path, skip: Collection[str], seen: frozenset[Path]) -> list[str]:
    """``app_requirements`` of ``path``, the files ``seen`` on the way to it left out."""
    import shlex  # packaging time only: adapters import this module on the cold-start path

    from portable_fn.errors import ConfigurationError

    if not path.is_file():
        return []
    skipped = {project_name(name) for name in skip}
    joined: list[str] = []
    pending = ""
    for raw in path.read_text("utf-8").splitlines():
        if raw.endswith("\\") and not raw.lstrip().startswith("#"):
            pending += raw[:-1]
            continue
        joined.append(pending + raw)
        pending = ""
    joined.append(pending)
    lines: list[str] = []
    for line in (re.sub(r"(^|\s+)#.*$", "", line).strip() for line in joined):
        name = project_name(line)
        if not line or name.startswith("portable-fn") or name in skipped:
            continue
        nested = re.fullmatch(_NESTED_OPTION, line)
        if nested is None or "://" in nested[2] or "$" in nested[2]:
            lines.append(line)
            continue
        named = (path.parent / nested[2]).resolve()
        if nested[1] in ("-c", "--constraint"):
            lines.append(f"-c {shlex.quote(str(named))}")
        elif not named.is_file():
            raise ConfigurationError(f"{path}: {line!r} names no file ({named})")
        elif named not in seen:  # a file naming itself again adds nothing
            lines += _read(named, skip, seen | {path.resolve(), named})
    return lines


# pip's options that name another requirements or constraints file (``-r base.txt``).
_NESTED_OPTION = r"(-r|-c|--requirement|--constraint)(?:=|\s*)(\S+)"


def requirement_options(line: str) -> tuple[str, str]:
    """A requirement line's specifier and pip's per-requirement options after it (`` --hash=...``,
    `` --config-settings ...``; https://pip.pypa.io/en/stable/reference/requirements-file-format/
    #per-requirement-options), "" when it has none."""

    found = re.search(r"\s+--[A-Za-z]", line)
    return (line, "") if found is None else (line[: found.start()], line[found.start() :])


def localized_constraints(lines: list[str], out_dir: Path) -> list[str]:
    """``lines`` (``app_requirements``) for a package whose requirements are installed where it
    is deployed (Cloud Build, Azure's remote build): each ``-c`` file, named by its local path,
    is copied into ``out_dir`` and named by its place there."""
    import shlex
    import shutil
    from pathlib import Path

    localized: list[str] = []
    for line in lines:
        source = Path(shlex.split(line[3:])[0]) if line.startswith("-c ") else None
        if source is None or not source.is_absolute() or not source.is_file():
            localized.append(line)  # a requirement, or a constraints URL pip fetches itself
            continue
        number = sum(1 for kept in localized if kept.startswith("-c "))
        name = f"constraints-{number}.txt"
        while (out_dir / name).exists():  # a file of the app's own by that name stays its own
            number += 1
            name = f"constraints-{number}.txt"
        shutil.copyfile(source, out_dir / name)
        localized.append(f"-c {name}")
    return localized
