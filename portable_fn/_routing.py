# SPDX-License-Identifier: Apache-2.0
"""HTTP route patterns: ``/orders/{order_id}`` and greedy ``/files/{path+}``.

The brace syntax is the one API Gateway, Azure Functions and Cloud Run users already write.
Static routes resolve with one dict lookup; patterned ones with one compiled regex each.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Generic, TypeVar

from portable_fn._value import Value
from portable_fn.errors import ConfigurationError, MethodNotAllowed, NotFound

T = TypeVar("T")
_SEGMENT_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(\+?)\}")
_LITERAL = re.compile(r"[A-Za-z0-9._~!$&'()*,;=:@%-]*")
_NO_PARAMS: Mapping[str, str] = MappingProxyType({})


class CompiledRoute(Value):
    pattern: str
    regex: re.Pattern[str] | None  # None: a static path
    params: tuple[str, ...]


@lru_cache(maxsize=512)
def compile_route(pattern: str) -> CompiledRoute:
    """Validate and compile a route pattern; ``ConfigurationError`` says what is wrong."""
    if not isinstance(pattern, str) or not pattern.startswith("/"):
        raise ConfigurationError(f"route {pattern!r} must start with '/'")
    if "//" in pattern or (len(pattern) > 1 and pattern.endswith("/")):
        raise ConfigurationError(f"route {pattern!r} has an empty segment or a trailing '/'")
    segments = pattern[1:].split("/") if pattern != "/" else []
    parts: list[str] = []
    params: list[str] = []
    for index, segment in enumerate(segments):
        match = _SEGMENT_PARAM.fullmatch(segment)
        if match:
            name, greedy = match.group(1), match.group(2)
            if name in params:
                raise ConfigurationError(f"route {pattern!r} repeats parameter {name!r}")
            if greedy and index != len(segments) - 1:
                raise ConfigurationError(f"route {pattern!r}: {{{name}+}} must be last")
            params.append(name)
            parts.append(f"(?P<{name}>.+)" if greedy else f"(?P<{name}>[^/]+)")
        elif "{" in segment or "}" in segment or not _LITERAL.fullmatch(segment):
            raise ConfigurationError(f"route {pattern!r} has a malformed segment {segment!r}")
        else:
            parts.append(re.escape(segment))
    if not params:
        return CompiledRoute(pattern=pattern, regex=None, params=())
    return CompiledRoute(
        pattern=pattern, regex=re.compile("/" + "/".join(parts)), params=tuple(params)
    )


def match_route(route: CompiledRoute, path: str) -> Mapping[str, str] | None:
    """Path parameters when ``path`` matches ``route``, else None."""
    if route.regex is None:
        return _NO_PARAMS if path == route.pattern else None
    found = route.regex.fullmatch(path)
    return found.groupdict() if found else None


class Router(Generic[T]):
    """Method + path -> target. Built once per app; lookups never allocate for static routes."""

    __slots__ = ("_dynamic", "_static")

    def __init__(self) -> None:
        self._static: dict[str, dict[str, T]] = {}
        self._dynamic: list[tuple[CompiledRoute, dict[str, T]]] = []

    def add(self, pattern: str, methods: Iterable[str], target: T) -> None:
        route = compile_route(pattern)
        table = self._table(route)
        for method in methods:
            if method in table:
                raise ConfigurationError(f"route {method} {pattern} is already taken")
            table[method] = target

    def _table(self, route: CompiledRoute) -> dict[str, T]:
        if route.regex is None:
            return self._static.setdefault(route.pattern, {})
        for existing, known in self._dynamic:
            if existing.pattern == route.pattern:
                return known
        table: dict[str, T] = {}
        self._dynamic.append((route, table))
        return table

    def table(self, path: str) -> Mapping[str, T] | None:
        """Method -> target of the route ``path`` matches, None when none does (off the hot path:
        a CORS preflight asks which methods a path has)."""
        if len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/") or "/"
        table = self._static.get(path)
        if table is None:
            for route, candidate in self._dynamic:
                if route.regex is not None and route.regex.fullmatch(path):
                    return MappingProxyType(candidate)
            return None
        return MappingProxyType(table)

    def match(self, method: str, path: str) -> tuple[T, Mapping[str, str]]:
        """The target and path parameters; ``NotFound`` or ``MethodNotAllowed`` (with Allow)."""
        if len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/") or "/"
        table = self._static.get(path)
        params: Mapping[str, str] = _NO_PARAMS
        if table is None:
            for route, candidate in self._dynamic:
                found = route.regex.fullmatch(path) if route.regex else None
                if found:
                    table, params = candidate, found.groupdict()
                    break
        if table is None:
            raise NotFound(f"no route for {path}")
        target = table.get(method)
        if target is None and method == "HEAD":
            target = table.get("GET")
        if target is None:
            raise MethodNotAllowed(f"{method} is not allowed on {path}", allowed=table)
        return target, params
