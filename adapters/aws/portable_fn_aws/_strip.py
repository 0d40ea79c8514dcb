# SPDX-License-Identifier: Apache-2.0
"""The framework's own sources as ``app.zip`` ships them: without docstrings and comments, every
line where it was.

They are a third of what the core and this adapter weigh compressed, and nothing reads them in
Lambda (the code does not use ``__doc__``; ``python -OO`` drops docstrings too). A docstring
becomes an empty string literal over the same lines and a comment becomes nothing, so every
statement keeps its line and column: a traceback from Lambda points at the line a developer
finds in the repository. The licence line (``# SPDX-License-Identifier``) stays. Packaging
tooling only; never shipped. The app's own files and its dependencies are shipped as they are.
"""

from __future__ import annotations

import ast
import io
import tokenize

_KEEP = "# SPDX-License-Identifier"
_SCOPES = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
# (first line, column, last line, end column, replacement), lines from 1 as ast counts them.
_Span = tuple[int, int, int, int, str]


def stripped(source: bytes) -> bytes:
    """``source`` without docstrings and comments, line for line; as it was if it does not
    parse here (a newer syntax than this interpreter's: better shipped whole than broken)."""
    try:
        text = source.decode("utf-8")
        spans = _docstrings(ast.parse(text)) + _comments(text)
    except (SyntaxError, UnicodeDecodeError, tokenize.TokenError, ValueError):
        return source
    lines = text.splitlines(keepends=True)
    # From the end, so the positions still to apply are untouched by those applied.
    for first, column, last, end, replacement in sorted(spans, reverse=True):
        head, tail = lines[first - 1][:column], lines[last - 1][end:]
        if not replacement:  # a comment: the spaces before it go too
            head = head.rstrip(" \t")
        lines[first - 1 : last] = (head + replacement + tail).splitlines(keepends=True)
    return "".join(lines).encode("utf-8")


def _docstrings(tree: ast.Module) -> list[_Span]:
    spans: list[_Span] = []
    for node in ast.walk(tree):
        if not isinstance(node, _SCOPES) or not node.body:
            continue
        first = node.body[0]
        if not (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
        ):
            continue
        value = first.value
        last, end = value.end_lineno, value.end_col_offset
        assert last is not None and end is not None  # parsed from source: always set
        breaks = last - value.lineno
        # Still a string statement, so a module's ``from __future__`` import stays legal.
        empty = '"""' + "\n" * breaks + '"""' if breaks else '""'
        spans.append((value.lineno, value.col_offset, last, end, empty))
    return spans


def _comments(text: str) -> list[_Span]:
    return [
        (token.start[0], token.start[1], token.end[0], token.end[1], "")
        for token in tokenize.generate_tokens(io.StringIO(text).readline)
        if token.type == tokenize.COMMENT and not token.string.startswith(_KEEP)
    ]
