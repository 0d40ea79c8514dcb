# SPDX-License-Identifier: Apache-2.0
"""``LastConverted``: remember the conversion of the last value seen, by identity.

Adapters turn a ``Response``'s headers into the provider's shape on every invocation, and
handlers mostly return the core's one shared JSON header map: converting it once and handing
the same result back while the same (immutable) map comes in saves that work on the hot path.
The cache is one tuple, replaced whole, so concurrent callers never see half an update, and it
holds its key, so an identity cannot be reused while cached. Callers must not mutate results.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ["LastConverted"]

A = TypeVar("A")
V = TypeVar("V")
_NOTHING: Any = object()


class LastConverted(Generic[A, V]):
    """``memo(key, arg)`` is ``convert(arg)``, computed again only when ``key`` is not the
    object seen last (``key`` decides everything ``convert`` reads from ``arg``)."""

    __slots__ = ("_convert", "_last")

    def __init__(self, convert: Callable[[A], V]) -> None:
        self._convert = convert
        self._last: tuple[object, Any] = (_NOTHING, None)

    def __call__(self, key: object, arg: A) -> V:
        last = self._last
        if last[0] is key:
            value: V = last[1]
            return value
        value = self._convert(arg)
        self._last = (key, value)
        return value
