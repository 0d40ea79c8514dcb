# SPDX-License-Identifier: Apache-2.0
"""JSON in and out, the same as ``json.loads``/``json.dumps`` with less work per call.

``json.loads(text)`` walks ``JSONDecoder.decode`` then ``raw_decode`` and matches the whitespace
regex on both ends: for the short bodies queues and HTTP APIs carry, that is about a third of the
time. Here the C scanner (``scan_once``) is called directly and the slow path, leading whitespace
or an error, is handed to ``json.loads`` so values and ``JSONDecodeError`` messages are its own.
RFC 8259 section 2: whitespace is space, tab, line feed and carriage return.

Out: ``JSONEncoder.encode`` builds a new C encoder object on every call (about 1 µs, as long as
encoding a small response takes); ``encoder()`` builds it once. It skips the circular-reference
check (a shared markers table would be unsafe across threads): a value that contains itself
raises ``RecursionError`` instead of ``ValueError``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json import encoder as _encoder
from typing import Any

__all__ = ["MAX_DEPTH", "encoder", "escape", "loads", "too_deep"]

_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_WHITESPACE = " \t\n\r"


def _not_json(literal: str) -> Any:
    raise ValueError(f"{literal} is not a JSON number (RFC 8259 section 6)")


def _finite(literal: str) -> float:
    value = float(literal)
    if value - value != 0.0:  # inf - inf is nan: 1e999 overflowed
        raise ValueError(f"{literal} is outside the range of a float")
    return value


# What a client sends: NaN and the infinities are not JSON, and a number too large for a float
# would become one. Read as json does, they reach a handler that echoes or publishes them, and
# the encoder (which refuses them, RFC 8259) turns the client's mistake into a 500.
_scan_strict: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder(  # type: ignore[attr-defined]
    parse_constant=_not_json, parse_float=_finite
).scan_once


def loads(text: str, *, strict: bool = False) -> Any:
    """Parse ``text`` as one JSON value; ``json.JSONDecodeError`` (a ``ValueError``) if not.
    ``strict`` also refuses ``NaN``, the infinities and numbers past a float (``ValueError``)."""
    try:
        value, end = (_scan_strict if strict else _scan)(text, 0)
    except StopIteration:
        # leading whitespace, a BOM, empty or no value: its own error
        if strict:
            return json.loads(text, parse_constant=_not_json, parse_float=_finite)
        return json.loads(text)
    if end != len(text) and text[end:].strip(_WHITESPACE):
        return json.loads(text)  # raises "Extra data" at the right position
    return value


# Deeper JSON is refused before it is parsed: CPython's decoder raises RecursionError near the
# interpreter's recursion limit, and under Pyodide (Cloudflare Workers) a few thousand levels
# overflow the JavaScript stack, a fatal error that ends every request in the isolate.
MAX_DEPTH = 1000
_tokens: Any = None  # the scanner for ``too_deep``, compiled on first need (never at import)


def too_deep(text: str | bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether JSON ``text`` nests arrays and objects more than ``limit`` levels deep.

    Two C-speed counts settle almost every body: only one with more opening brackets than
    ``limit`` is walked token by token (strings skipped whole, their brackets do not nest).
    """
    global _tokens
    if isinstance(text, bytes | bytearray):
        if text.count(b"[") + text.count(b"{") <= limit:
            return False
        text = bytes(text).decode("utf-8", "replace")
    elif text.count("[") + text.count("{") <= limit:
        return False
    if _tokens is None:
        import re

        _tokens = re.compile(r'"(?:[^"\\]|\\.)*"|[\[{]|[\]}]', re.DOTALL)
    depth = 0
    for match in _tokens.finditer(text):
        token = match.group()
        if token == "[" or token == "{":
            depth += 1
            if depth > limit:
                return True
        elif token == "]" or token == "}":
            depth -= 1
    return False


def _unserialisable(value: object) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def escape(*, ascii_only: bool = False) -> Callable[[str], str]:
    """A string as a JSON string literal, quotes included (``encoder``'s own escaping)."""
    return _encoder.encode_basestring_ascii if ascii_only else _encoder.encode_basestring


def encoder(
    default: Callable[[Any], Any] = _unserialisable,
    *,
    ascii_only: bool = False,
    allow_nan: bool = False,
) -> Callable[[Any], str]:
    """A compact ``dumps`` (separators ``,`` and ``:``); ``default`` converts what JSON lacks.

    NaN and the infinities raise ``ValueError`` unless ``allow_nan``: RFC 8259 has no such
    numbers, and ``json``'s default of writing ``NaN`` sends a body no other JSON reader parses.
    """
    escape = _encoder.encode_basestring_ascii if ascii_only else _encoder.encode_basestring
    make = getattr(_encoder, "c_make_encoder", None)
    if make is None:  # an interpreter without the C accelerator: the library's own path
        return json.JSONEncoder(
            separators=(",", ":"), ensure_ascii=ascii_only, default=default, allow_nan=allow_nan
        ).encode
    encode = make(None, default, escape, None, ":", ",", False, False, allow_nan)

    def dumps(value: Any) -> str:
        if type(value) is str:  # the C encoder takes containers and scalars, not a bare str
            return escape(value)
        return "".join(encode(value, 0))

    return dumps
