# SPDX-License-Identifier: Apache-2.0
"""Values (``portable_fn._value``): views stand for their base everywhere a value is used."""

from __future__ import annotations

import pickle
from types import MappingProxyType

import pytest

from portable_fn._value import Value, setters


class Point(Value):
    x: int
    y: int = 0
    tags: MappingProxyType[str, str] = MappingProxyType({})


class LazyPoint(Point, view=True):
    """x read from a native record on first use; y a class constant."""

    __slots__ = ("_raw",)
    _raw: dict[str, str]
    y = 0

    @property  # type: ignore[misc]
    def x(self) -> int:
        return int(self._raw["x"])


def lazy(raw: dict[str, str]) -> LazyPoint:
    point = object.__new__(LazyPoint)
    (set_raw,) = setters(LazyPoint, "_raw")
    (set_tags,) = setters(Point, "tags")
    set_raw(point, raw)
    set_tags(point, MappingProxyType({"a": "b"}))
    return point


def test_a_view_is_its_base_as_a_value() -> None:
    view, base = lazy({"x": "3"}), Point(x=3, tags=MappingProxyType({"a": "b"}))
    assert view == base and base == view
    assert repr(view) == repr(base) == "Point(x=3, y=0, tags=mappingproxy({'a': 'b'}))"
    assert type(view.replace(y=1)) is Point and view.replace(y=1) == Point(x=3, y=1, tags=base.tags)
    assert pickle.loads(pickle.dumps(view)) == base
    assert LazyPoint._fields == Point._fields  # private slots are not fields


def test_a_view_is_immutable_and_differs_when_its_fields_do() -> None:
    view = lazy({"x": "3"})
    assert view != Point(x=4, tags=MappingProxyType({"a": "b"}))
    with pytest.raises(AttributeError):
        view.y = 2  # type: ignore[misc,operator]


def test_values_with_mapping_fields_pickle() -> None:
    point = Point(x=1, tags=MappingProxyType({"k": "v"}))
    assert pickle.loads(pickle.dumps(point)) == point
