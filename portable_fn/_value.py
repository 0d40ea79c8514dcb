# SPDX-License-Identifier: Apache-2.0
"""Immutable value classes with dataclass semantics, without importing ``dataclasses``.

Every deployed function imports the core on its cold start. ``import dataclasses`` pulls in
``inspect`` (about 7 ms here), and each ``@dataclass`` class compiles generated source with
``exec`` at import (about 0.6 ms a class, ~20 classes): together more than the whole import of
``chalice.app``. ``Value`` gives the same contract (keyword-only ``__init__``, frozen,
``__slots__``, ``__eq__``, ``__repr__``, ``__post_init__``, ``replace``) for a few microseconds
of class creation. Type checkers see it as a dataclass through PEP 681 ``dataclass_transform``.

A subclass declares fields as annotations, defaults as class attributes (immutable ones only:
defaults are shared). ``ClassVar`` annotations are class constants, not fields. Hot-path classes
may define their own ``__init__`` (setting fields with ``object.__setattr__``) for speed.

A *view* (``class SqsMessage(CloudEvent, view=True)``) is a variant of its base built straight
from a native record by an adapter: it may declare private ``__slots__`` of its own and serve
fields as class constants or properties (read on first use instead of on every message). It
compares, hashes, prints, pickles and ``replace``s as its base, so nothing downstream can tell.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from typing_extensions import Self, dataclass_transform
else:

    def dataclass_transform(**_: Any) -> Any:
        return lambda target: target


_MISSING: Any = object()


@dataclass_transform(kw_only_default=True, frozen_default=True)
class ValueMeta(type):
    """Builds ``__slots__`` and the field table from a class body's annotations."""

    def __new__(
        mcs,
        name: str,
        bases: tuple[type, ...],
        namespace: dict[str, Any],
        view: bool = False,
        **kwargs: Any,
    ) -> ValueMeta:
        annotations = namespace.get("__annotations__", {})
        private = tuple(namespace.get("__slots__", ()))  # a view's own storage, not fields
        own = [
            field
            for field, annotation in annotations.items()
            if "ClassVar" not in str(annotation) and field not in private
        ]
        defaults = {field: namespace.pop(field) for field in own if field in namespace}
        namespace["__slots__"] = (*own, *private)
        cls = super().__new__(mcs, name, bases, namespace, **kwargs)
        # What instances are as values: the class itself, or for a view the value it stands for.
        cls._value_type = bases[0]._value_type if view else cls  # type: ignore[attr-defined]
        inherited: tuple[str, ...] = ()
        inherited_defaults: dict[str, Any] = {}
        for base in reversed(cls.__mro__[1:]):
            inherited += tuple(f for f in getattr(base, "_fields", ()) if f not in inherited)
            inherited_defaults.update(getattr(base, "_defaults", {}))
        cls._fields = inherited + tuple(f for f in own if f not in inherited)  # type: ignore[attr-defined]
        cls._defaults = {**inherited_defaults, **defaults}  # type: ignore[attr-defined]
        return cls


class Value(metaclass=ValueMeta):
    """Base of the core's immutable values."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]]
    _defaults: ClassVar[dict[str, Any]]
    _value_type: ClassVar[type[Value]]

    def __init__(self, **values: Any) -> None:
        setter = object.__setattr__
        defaults = self._defaults
        for name in self._fields:
            value = values.pop(name, _MISSING)
            if value is _MISSING:
                value = defaults.get(name, _MISSING)
                if value is _MISSING:
                    raise TypeError(f"{type(self).__name__}() missing argument {name!r}")
            setter(self, name, value)
        if values:
            raise TypeError(f"{type(self).__name__}() got unexpected arguments {sorted(values)}")
        self.__post_init__()

    def __post_init__(self) -> None:
        """Validate or normalise after the fields are set (``object.__setattr__`` to change)."""

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; use .replace({name}=...)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _astuple(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Value) or other._value_type is not self._value_type:
            return NotImplemented
        return self._astuple() == other._astuple()

    def __hash__(self) -> int:
        return hash((self._value_type, self._astuple()))

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{self._value_type.__name__}({inner})"

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed, validated again (a view's copy is its base)."""
        values = {name: getattr(self, name) for name in self._fields}
        values.update(changes)
        built: Self = self._value_type(**values)  # type: ignore[assignment]
        return built

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickling (multiprocessing, caches) goes through the keyword constructor; read-only
        # mapping fields travel as dicts (mappingproxy cannot be pickled) and are re-wrapped.
        values = {n: getattr(self, n) for n in self._fields}
        for name, value in values.items():
            if type(value) is MappingProxyType:
                values[name] = dict(value)
        return (_rebuild, (self._value_type, values))


def _rebuild(cls: type[Value], values: dict[str, Any]) -> Value:
    return cls(**values)


def setters(cls: type, *names: str) -> tuple[Callable[[Any, Any], None], ...]:
    """The slot setters of ``cls``'s own slots ``names`` (default: every field), looked up once.

    A value's frozen ``__setattr__`` forbids assignment, and ``object.__setattr__`` by name is
    slower: hot-path constructors (one value per message) and adapters' views set slots through
    these. ``names`` must be slots ``cls`` itself defines (a view's fields live on its base).
    """
    fields: tuple[str, ...] = names or cls._fields  # type: ignore[attr-defined]
    return tuple(cls.__dict__[name].__set__ for name in fields)

