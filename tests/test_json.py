# SPDX-License-Identifier: Apache-2.0
"""``portable_fn._json.loads`` must agree with ``json.loads`` on values and on errors."""

from __future__ import annotations

import json
import math

import pytest

from portable_fn._json import loads

VALID = [
    '{"sku":"book","n":2}',
    '[1, 2.5, "x", null, true, false]',
    '"text"',
    "42",
    "-0.5e3",
    "null",
    '  {"leading": "whitespace"}',
    '{"trailing": "whitespace"} \r\n\t',
    '{"nested": {"a": [{"b": {}}]}, "unicode": "\\u00e9\\ud83d\\ude00 é"}',
    "\n[]\n",
]

INVALID = [
    "",
    "   ",
    "{not json",
    '{"a": 1} x',
    '{"a": 1}{"b": 2}',
    "\ufeff{}",
    '{"a": "unterminated}',
    '{"a": "\x01 control character"}',
    "[1,]",
    "'single'",
]


@pytest.mark.parametrize("text", VALID)
def test_values_match_json_loads(text: str) -> None:
    assert loads(text) == json.loads(text)


def test_nan_and_infinity_as_json_loads_reads_them() -> None:
    assert math.isnan(loads("NaN")) and loads("[Infinity]") == [math.inf]


def test_strict_refuses_nan_infinity_and_overflow_and_reads_the_rest() -> None:
    for text in ("NaN", "[Infinity]", '{"a": -Infinity}', "1e999", " [NaN]"):
        with pytest.raises(ValueError):
            loads(text, strict=True)
    for text in VALID:
        assert loads(text, strict=True) == json.loads(text)


@pytest.mark.parametrize("text", INVALID)
def test_errors_are_json_loads_errors(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as got:
        loads(text)
    assert (got.value.msg, got.value.pos) == (expected.value.msg, expected.value.pos)


def test_too_deep_counts_nesting_not_brackets_in_strings() -> None:
    from portable_fn._json import MAX_DEPTH, too_deep

    assert not too_deep("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    assert too_deep("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert too_deep(b'{"a":' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1))
    assert not too_deep('"' + "[" * 5000 + '"')  # one string: no nesting at all
    assert not too_deep('["\\"[' * 600 + '"]' * 600)  # an escaped quote does not end a string
    assert not too_deep("[]" * 5000)  # many brackets, depth 1


def test_deep_json_is_a_clean_error_at_the_recursion_limit() -> None:
    """Past the depth check's limit the C decoder's RecursionError is what callers must catch;
    below it, parsing works."""
    from portable_fn._json import loads

    nested = loads("[" * 500 + "]" * 500)
    for _ in range(499):
        (nested,) = nested
    assert nested == []
    with pytest.raises(RecursionError):
        loads("[" * 100_000 + "]" * 100_000)


def test_the_encoder_refuses_nan_unless_allowed() -> None:
    """RFC 8259 has no NaN or infinities: a response or event body must not carry them (no
    other JSON reader would parse it); a log line writes them rather than fail."""
    from portable_fn._json import encoder

    strict, lenient = encoder(), encoder(allow_nan=True)
    for value in (math.nan, [math.inf], {"x": -math.inf}):
        with pytest.raises(ValueError):
            strict(value)
    assert lenient({"x": math.nan}) == '{"x":NaN}'
