# SPDX-License-Identifier: Apache-2.0
"""Headers and query parameters: immutable, multi-valued maps (header names fold case,
RFC 9110 section 5.1; query names do not, RFC 3986 section 3.4)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, TypeAlias

__all__ = ["Headers", "MultiMap", "QueryParams", "RawPairs"]

RawPairs: TypeAlias = "Mapping[str, str] | Iterable[tuple[str, str]] | MultiMap"
if TYPE_CHECKING:
    from typing import TypeVar

    # For the type checker only: a TypeVar bound by name compiles its ForwardRef, the first
    # compile() of the process, which cost 1.2 ms of every cold start.
    _M = TypeVar("_M", bound="MultiMap")


class MultiMap:
    """An immutable multi-map. The index is built on first lookup: most requests never read
    most of their headers, and adapters sit on the hot path of every invocation."""

    __slots__ = ("_index", "_raw")
    _fold = False

    def __init__(self, raw: RawPairs | None = None) -> None:
        self._raw: RawPairs = () if raw is None else raw
        self._index: dict[str, list[str]] | None = None

    @classmethod
    def from_multi(cls: type[_M], raw: Mapping[str, Iterable[str]]) -> _M:
        """From a name -> list-of-values map (ALB multi-value and API Gateway v1 shapes)."""
        return cls([(name, value) for name, values in raw.items() for value in values])

    def _build(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        raw = self._raw
        pairs = raw.items() if isinstance(raw, Mapping | MultiMap) else raw
        fold = self._fold
        for name, value in pairs:
            key = name.lower() if fold else name
            if key in index:
                index[key].append(value)
            else:
                index[key] = [value]
        self._index = index
        return index

    def _key(self, name: str) -> str:
        return name.lower() if self._fold else name

    def __getitem__(self, name: str) -> str:
        index = self._index if self._index is not None else self._build()
        return index[self._key(name)][0]

    def get(self, name: str, default: str | None = None) -> str | None:
        index = self._index if self._index is not None else self._build()
        values = index.get(self._key(name))
        return values[0] if values else default

    def getall(self, name: str) -> list[str]:
        """Every value of ``name``, in arrival order (empty when absent)."""
        index = self._index if self._index is not None else self._build()
        return list(index.get(self._key(name), ()))

    def __contains__(self, name: object) -> bool:
        index = self._index if self._index is not None else self._build()
        return isinstance(name, str) and self._key(name) in index

    def __iter__(self) -> Iterator[str]:
        index = self._index if self._index is not None else self._build()
        return iter(index)

    def __len__(self) -> int:
        index = self._index if self._index is not None else self._build()
        return len(index)

    def keys(self) -> list[str]:
        return list(self)

    def items(self) -> list[tuple[str, str]]:
        """Every (name, value) pair, repeated names included."""
        index = self._index if self._index is not None else self._build()
        return [(name, value) for name, values in index.items() for value in values]

    def to_dict(self) -> dict[str, str]:
        """Name -> first value."""
        index = self._index if self._index is not None else self._build()
        return {name: values[0] for name, values in index.items()}

    def to_multi(self) -> dict[str, list[str]]:
        """Name -> every value."""
        index = self._index if self._index is not None else self._build()
        return {name: list(values) for name, values in index.items()}

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MultiMap):
            return type(other) is type(self) and self.to_multi() == other.to_multi()
        if isinstance(other, Mapping):
            return self.to_dict() == {self._key(k): v for k, v in other.items()}
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.items()!r})"


class Headers(MultiMap):
    """Case-insensitive, multi-valued, immutable HTTP headers; names are reported lower-cased."""

    __slots__ = ()
    _fold = True

    def merged(self, extra: RawPairs) -> Headers:
        """A copy with ``extra`` appended."""
        pairs = extra.items() if isinstance(extra, Mapping | MultiMap) else extra
        return Headers([*self.items(), *pairs])


class QueryParams(MultiMap):
    """Case-sensitive, multi-valued, immutable query parameters."""

    __slots__ = ()

    @classmethod
    def from_string(cls, query: str) -> QueryParams:
        """Parse ``a=1&b=2&a=3`` (no leading ``?``); blank values are kept."""
        if not query:
            return cls()
        from urllib.parse import parse_qsl  # on first use: most functions never read a query

        return cls(parse_qsl(query, keep_blank_values=True))

