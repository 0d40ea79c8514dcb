# SPDX-License-Identifier: Apache-2.0
"""``LastConverted``: one conversion per key object in a row, by identity, not equality."""

from __future__ import annotations

from portable_fn._memo import LastConverted
from portable_fn.http import Headers


def test_converts_again_only_for_another_key_object() -> None:
    calls: list[Headers] = []

    def convert(headers: Headers) -> dict[str, list[str]]:
        calls.append(headers)
        return headers.to_multi()

    memo = LastConverted(convert)
    shared = Headers({"content-type": "application/json"})
    equal = Headers({"content-type": "application/json"})
    first = memo(shared, shared)
    assert memo(shared, shared) is first and calls == [shared]
    assert memo(equal, equal) == first and calls == [shared, equal]  # equal, not the same
    assert memo(shared, shared) == {"content-type": ["application/json"]}
    assert calls == [shared, equal, shared]
