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


@pytest.mark.parametrize("text", INVALID)
def test_errors_are_json_loads_errors(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as got:
        loads(text)
    assert (got.value.msg, got.value.pos) == (expected.value.msg, expected.value.pos)
