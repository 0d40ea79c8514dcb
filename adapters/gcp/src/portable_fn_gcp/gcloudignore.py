# SPDX-License-Identifier: Apache-2.0
""".gcloudignore, as gcloud reads it (``gcloud topic gcloudignore``,
https://cloud.google.com/sdk/gcloud/reference/topic/gcloudignore: "the same syntax as
.gitignore, with the addition of "#!include" directives"). The semantics follow gcloud's own
parser (googlecloudsdk/command_lib/util/gcloudignore.py), not git's: a pattern's parts match the
path's last parts (``a/b`` matches ``x/a/b``), a leading ``/`` anchors it at the root, ``**``
spans folders, ``!`` re-includes, a trailing ``/`` matches folders only, and a match on a
folder holds for everything in it. ``#!include:FILE`` reads FILE from the same folder (its own
includes are not followed, as gcloud does not).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from portable_fn.errors import ConfigurationError

if TYPE_CHECKING:
    from portable_fn._app_sources import Exclude

__all__ = ["gcloudignore"]

_INCLUDE = "!include:"
_ODD_BACKSLASHES = re.compile(r"(?<!\\)\\(\\\\)*$")


_Match = Literal["include", "ignore", None]


@dataclass(frozen=True, slots=True)
class _Pattern:
    parts: tuple[str, ...]
    negated: bool
    folder_only: bool


def gcloudignore(root: Path) -> Exclude | None:
    """What ``root/.gcloudignore`` leaves out of the upload (None without the file)."""
    path = root / ".gcloudignore"
    if not path.is_file():
        return None
    patterns = _patterns(path, follow_includes=True)

    def excluded(relative: str, is_dir: bool) -> bool:
        return _ignored(patterns, relative, is_dir)

    return excluded


def _patterns(path: Path, *, follow_includes: bool) -> list[_Pattern]:
    patterns: list[_Pattern] = []
    for line in path.read_text("utf-8").splitlines():
        if line.startswith("#"):
            directive = line[1:].lstrip()
            if directive.startswith(_INCLUDE) and follow_includes:
                name = directive[len(_INCLUDE):]
                included = path.parent / name
                if "/" in name or not included.is_file():  # gcloud refuses to deploy then
                    raise ConfigurationError(
                        f"{path}: cannot include {name!r} (a file in the same folder)")
                patterns += _patterns(included, follow_includes=False)
            continue
        negated = line.startswith("!")
        line = line[1:] if negated else line
        folder_only = line.endswith("/")
        line = re.sub(r"(?<!\\) +$", "", line[:-1] if folder_only else line)
        if not line or _ODD_BACKSLASHES.search(line):
            continue  # blank, or a dangling escape: gcloud skips the line
        line = re.sub(r"\\([^\\])", r"\1", line).replace("\\\\", "\\")
        patterns.append(_Pattern(tuple(line.split("/")), negated, folder_only))
    return patterns


def _matches(parts: tuple[str, ...], path: str | None) -> bool:
    """Right to left: the last part matches the path's last part, the rest the rest."""
    if not parts:
        return True
    if path is None:  # above the root: only a pattern that is used up matches
        return False
    *rest, last = parts
    head, _, tail = path.rpartition("/")
    remaining = head if tail else None
    if last == "**":  # any number of trailing folders; anchored at the root
        anchored = tuple(rest) if rest and rest[0] == "" else ("", *rest)
        return any(_matches(anchored, prefix) for prefix in _prefixes(path))
    return fnmatch.fnmatchcase(tail, last) and _matches(tuple(rest), remaining)


def _prefixes(path: str) -> list[str]:
    """``a/b/c`` -> ``["", "a", "a/b", "a/b/c"]``."""
    parts = path.split("/") if path else []
    return ["", *("/".join(parts[: n + 1]) for n in range(len(parts)))]


def _ignored(patterns: list[_Pattern], path: str, is_dir: bool) -> bool:
    """gcloud's ``FileChooser.IsIncluded``, negated: pattern by pattern, a folder's match holds
    for everything below it, and nothing below an ignored folder comes back."""
    prefixes = _prefixes(path)
    state: dict[str, _Match] = dict.fromkeys(prefixes)
    for pattern in patterns:
        parent: _Match = None
        for prefix in prefixes:
            match: _Match = parent
            folder = prefix != path or is_dir
            if match is None and (folder or not pattern.folder_only) and _matches(
                pattern.parts, prefix
            ):
                match = "include" if pattern.negated else "ignore"
            if match is not None:
                state[prefix] = match
            parent = "ignore" if state[prefix] == "ignore" else match
    return state[path] == "ignore"
