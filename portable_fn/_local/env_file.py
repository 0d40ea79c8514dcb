# SPDX-License-Identifier: Apache-2.0
"""``dev --env-file`` / ``invoke --env-file``: local values for an app's secrets and settings.

What ``wrangler dev`` reads from ``.dev.vars`` and ``sam local --env-vars`` from a JSON file:
values a developer keeps out of the shell's history and out of the code. The format is the
common subset of dotenv readers (python-dotenv, Docker Compose's ``env_file``): one
``NAME=VALUE`` a line, optionally after ``export``; blank lines and ``#`` lines skipped; a value
in double quotes takes ``\\n``, ``\\t``, ``\\"`` and ``\\\\`` escapes, one in single quotes is
taken as written, an unquoted one ends before a `` #`` comment and is stripped. No variable
expansion and no value over several lines: a line that is none of these is an error naming it.
The shell's own variables win, as they do over ``App(env=...)``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from portable_fn.errors import ConfigurationError

__all__ = ["load", "parse"]

_LINE = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def parse(text: str, source: str = "env file") -> dict[str, str]:
    """The ``NAME -> value`` pairs of a dotenv text; ``ConfigurationError`` naming the line."""
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.fullmatch(line)
        value = None if match is None else _value(match.group(2))
        if match is None or value is None:
            raise ConfigurationError(
                f"{source}, line {number}: not NAME=VALUE (a quoted value must close on its "
                "line; no variable expansion)"
            )
        values[match.group(1)] = value
    return values


def _value(raw: str) -> str | None:
    """The value after ``=``; None when a quote does not close or text follows it."""
    raw = raw.strip()
    if raw[:1] == "'":
        end = raw.find("'", 1)
        return None if end < 0 or not _rest_is_comment(raw[end + 1:]) else raw[1:end]
    if raw[:1] == '"':
        out: list[str] = []
        at = 1
        while at < len(raw):
            char = raw[at]
            if char == "\\" and at + 1 < len(raw):
                out.append(_ESCAPES.get(raw[at + 1], "\\" + raw[at + 1]))
                at += 2
                continue
            if char == '"':
                return "".join(out) if _rest_is_comment(raw[at + 1:]) else None
            out.append(char)
            at += 1
        return None
    comment = re.search(r"\s#", raw)
    return (raw if comment is None else raw[: comment.start()]).strip()


def _rest_is_comment(rest: str) -> bool:
    rest = rest.strip()
    return not rest or rest.startswith("#")


def load(path: str) -> list[str]:
    """Put the file's values in ``os.environ`` where the shell has none; the names it set."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigurationError(f"--env-file {path}: no such file") from None
    except UnicodeDecodeError:
        raise ConfigurationError(f"--env-file {path}: not UTF-8 text") from None
    set_here = []
    for name, value in parse(text, f"--env-file {path}").items():
        if name not in os.environ:
            try:
                os.environ[name] = value
            except ValueError:  # a NUL: no environment variable holds one
                raise ConfigurationError(f"--env-file {path}: {name}'s value holds NUL") from None
            set_here.append(name)
    return set_here
