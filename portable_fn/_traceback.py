# SPDX-License-Identifier: Apache-2.0
"""An exception as the text a log line carries: Python's traceback layout, without source.

``traceback.format_exception`` reads and formats source lines (tens of µs a frame set), which
a batch with a failing message would pay on every delivery; this writes ``File "...", line N,
in f`` lines, the chain in Python's own words, each exception of a group, notes, and a
recursion's repeated frames counted.
"""

from __future__ import annotations

import builtins
from typing import Any

__all__ = ["stack", "text"]


def text(value: object) -> str:
    """``str(value)``, which runs the value's own ``__str__`` (an exception's): one that fails
    must not take the log line (and the failure it reports) with it."""
    try:
        return str(value)
    except Exception:
        return f"<{type(value).__name__}: str() failed>"


# Python's own words between the exceptions of a chain, and its limits on printing a group.
_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"
_GROUP: Any = getattr(builtins, "BaseExceptionGroup", ())  # Python 3.11+
_GROUP_WIDTH, _GROUP_DEPTH = 15, 10
_REPEATS, _LONG = 3, 64
_HEAD = "Traceback (most recent call last):\n"
_GROUP_HEAD = "Exception Group Traceback (most recent call last):\n"


def _collapsed(lines: list[str]) -> list[str]:
    """Frames the same as the one before counted after three, as Python prints them."""
    kept: list[str] = []
    last, repeated = "", 0
    for line in [*lines, ""]:
        if line != last:
            if repeated > _REPEATS:
                count = repeated - _REPEATS
                kept.append(f"  [Previous line repeated {count} more time"
                            f"{'s' if count > 1 else ''}]\n")
            last, repeated = line, 0
        repeated += 1
        if repeated <= _REPEATS:
            kept.append(line)
    kept.pop()  # the "" that ended the last run
    return kept


def stack(error: BaseException, depth: int = 0, seen: set[int] | None = None) -> str:
    """The traceback as ``File "...", line N, in f`` lines, causes and the exceptions of a
    group included, without source text: ``traceback.format_exception`` reads and formats
    source lines (tens of µs a frame set), which a batch with a failing message would pay on
    every delivery.

    ``seen`` (the exceptions shown so far, shared with a group's members as Python's
    ``TracebackException`` shares its ``_seen``): a chain stops at one already shown. A
    member's context may be the group that holds it (``except* E as g: raise g.exceptions[0]``),
    which was otherwise shown again inside each member, ten levels deep.
    """
    parts: list[str] = []
    if seen is None:
        seen = set()
    shown = 0
    current: BaseException | None = error
    # The first is always shown (a group lists every member); the chain stops at one seen.
    while current is not None and shown < 8 and (shown == 0 or id(current) not in seen):
        seen.add(id(current))
        shown += 1
        group = isinstance(current, _GROUP)
        lines = [_GROUP_HEAD if group else _HEAD]
        tb = current.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            lines.append(f'  File "{code.co_filename}", line {tb.tb_lineno}, in {code.co_name}\n')
            tb = tb.tb_next
        if len(lines) > _LONG:  # a recursion's thousand frames: far past the entry size limits
            lines = _collapsed(lines)
        lines.append(f"{type(current).__name__}: {text(current)}\n")
        notes = getattr(current, "__notes__", None)  # add_note(), Python 3.11+
        if isinstance(notes, list):
            lines.extend(f"{text(note)}\n" for note in notes)
        if group:
            lines.append(_group_members(current.exceptions, depth, seen))  # type: ignore[attr-defined]
        parts.append("".join(lines))
        if current.__cause__ is not None:
            parts.append(_CAUSE)
            current = current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            parts.append(_CONTEXT)
            current = current.__context__
        else:
            current = None
    if current is not None:
        parts.pop()  # the chain goes on past what is shown: no words for it
    # Oldest first, as Python prints a chain.
    return "".join(reversed(parts))


def _group_members(exceptions: tuple[BaseException, ...], depth: int, seen: set[int]) -> str:
    """Each exception of a group, numbered and set off with ``|``, as Python prints them."""
    lines: list[str] = []
    for number, member in enumerate(exceptions[:_GROUP_WIDTH], 1):
        lines.append(f"+---------------- {number} ----------------\n")
        text = (
            stack(member, depth + 1, seen)
            if depth + 1 < _GROUP_DEPTH
            else f"... (max_group_depth is {_GROUP_DEPTH})\n"
        )
        lines.extend("| " + line for line in text.splitlines(keepends=True))
    if len(exceptions) > _GROUP_WIDTH:
        lines.append(f"+---------------- ... ----------------\n"
                     f"| and {len(exceptions) - _GROUP_WIDTH} more exceptions\n")
    lines.append("+------------------------------------\n")
    return "".join(lines)
