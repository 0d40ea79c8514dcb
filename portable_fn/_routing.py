# SPDX-License-Identifier: Apache-2.0
"""HTTP route patterns: ``/orders/{order_id}`` and greedy ``/files/{path+}``.

The brace syntax is the one API Gateway, Azure Functions and Cloud Run users already write.
Static routes resolve with one dict lookup; patterned ones with one compiled regex each.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Generic, TypeVar

from portable_fn._value import Value
from portable_fn.errors import ConfigurationError, MethodNotAllowed, NotFound

T = TypeVar("T")
_SEGMENT_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(\+?)\}")
_LITERAL = re.compile(r"[A-Za-z0-9._~!$&'()*,;=:@%-]*")
_NO_PARAMS: Mapping[str, str] = MappingProxyType({})
# A parameter in Azure Functions' route syntax: catch-all {*rest}, a constraint {id:int}, an
# optional {id?} (https://learn.microsoft.com/azure/azure-functions/functions-bindings-http-webhook-trigger#customize-the-http-endpoint).
_AZURE_PARAM = re.compile(r"\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(?::[^{}?]*)?(\??)\}")


def _spelling(segment: str) -> str:
    """For a segment in Azure's route syntax, the portable spelling to use instead."""
    match = _AZURE_PARAM.fullmatch(segment)
    if match is None:
        return ""
    name = match.group(2)
    portable = f"{{{name}+}}" if match.group(1) else f"{{{name}}}"
    note = " (a portable route has no optional parameter)" if match.group(3) else ""
    return f": write {portable}{note}"


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
            raise ConfigurationError(
                f"route {pattern!r} has a malformed segment {segment!r}" + _spelling(segment)
            )
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
        # A greedy route ({path+}) comes after every other patterned one, whatever the order
        # they were added in: API Gateway prefers a full match to a greedy one, Werkzeug tries
        # its path converter last, ASP.NET (the Azure host) its catch-all.
        if route.pattern.endswith("+}"):
            self._dynamic.append((route, table))
        else:
            at = next(
                (i for i, (r, _) in enumerate(self._dynamic) if r.pattern.endswith("+}")),
                len(self._dynamic),
            )
            self._dynamic.insert(at, (route, table))
        return table

    def _matching(self, path: str) -> Iterator[tuple[dict[str, T], Mapping[str, str]]]:
        """Every route table ``path`` matches, with its parameters: the static route first,
        then the patterned ones in registration order."""
        table = self._static.get(path)
        if table is not None:
            yield table, _NO_PARAMS
        for route, candidate in self._dynamic:
            found = route.regex.fullmatch(path) if route.regex else None
            if found:
                yield candidate, found.groupdict()

    def table(self, path: str) -> Mapping[str, T] | None:
        """Method -> target for ``path``, None when no route matches (off the hot path: a CORS
        preflight asks which methods a path has). Every route matching ``path`` adds its
        methods, the first to match keeping a method, as ``match`` picks."""
        if len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/") or "/"
        merged: dict[str, T] | None = None
        for table, _ in self._matching(path):
            if merged is None:
                merged = dict(table)
            else:
                for method, target in table.items():
                    merged.setdefault(method, target)
        return None if merged is None else MappingProxyType(merged)

    def match(self, method: str, path: str) -> tuple[T, Mapping[str, str]]:
        """The target and path parameters; ``NotFound`` or ``MethodNotAllowed`` (with Allow).

        The first route matching ``path`` that takes ``method`` wins: one that matches the path
        but not the method does not hide a later one (``GET /users/me`` and
        ``PUT /users/{id}``), as in Werkzeug and Starlette, and as API Gateway routes. A 405's
        ``Allow`` names the methods of every route matching the path."""
        if len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/") or "/"
        table = self._static.get(path)
        if table is not None:  # the common case, one dict lookup
            target = table.get(method)
            if target is not None:
                return target, _NO_PARAMS
        else:
            for route, candidate in self._dynamic:  # the first patterned match, inline
                found = route.regex.fullmatch(path) if route.regex else None
                if found:
                    target = candidate.get(method)
                    if target is not None:
                        return target, found.groupdict()
                    break
        # No route found takes the method as sent: the slow path, from the start.
        allowed: dict[str, None] | None = None
        for candidate, params in self._matching(path):
            target = candidate.get(method)
            if target is None and method == "HEAD":
                target = candidate.get("GET")
            if target is not None:
                return target, params
            allowed = dict.fromkeys((*(allowed or ()), *candidate))
        if allowed is None:
            raise NotFound(f"no route for {path}")
        raise MethodNotAllowed(f"{method} is not allowed on {path}", allowed=allowed)
