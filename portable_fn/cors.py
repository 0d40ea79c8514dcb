# SPDX-License-Identifier: Apache-2.0
"""Cross-origin resource sharing for HTTP routes, answered by the core on every provider.

The protocol is the Fetch standard's (https://fetch.spec.whatwg.org/#http-cors-protocol):

- a *preflight* is an ``OPTIONS`` request carrying ``Origin`` and
  ``Access-Control-Request-Method``; it is answered 204 with ``Access-Control-Allow-Origin``,
  ``-Allow-Methods``, ``-Allow-Headers``, and when configured ``-Allow-Credentials`` and
  ``-Max-Age`` (section 3.2.3);
- an *actual* response carries ``Access-Control-Allow-Origin``, ``-Allow-Credentials`` and
  ``-Expose-Headers`` (section 3.2.3);
- an origin not allowed gets no ``Access-Control-*`` header at all: the browser then refuses
  to share the response, which is the whole of the enforcement;
- a wildcard answer is the same for every request and needs no ``Vary``; an echoed origin
  makes the response depend on ``Origin``, so every response of that route says
  ``Vary: Origin``, with or without an ``Origin`` (section 3.2.5, "CORS protocol and HTTP caches").

Routes without CORS pay nothing for it: the dispatcher looks here only for a route that has
CORS, or for an OPTIONS request no route takes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from portable_fn._multimap import Headers
from portable_fn._value import Value
from portable_fn.errors import ConfigurationError
from portable_fn.http import Request, Response

__all__ = ["CORS"]

# A serialized origin: scheme "://" host [":" port], no path (not even "/"), as a browser sends
# it in ``Origin`` (RFC 6454 section 6.1). Compared exactly, so written lower-case. Patterns, not
# compiled ones: compiling both costs ~0.2 ms, which every cold start would pay, CORS or not
# (``re`` compiles and caches them when the first ``CORS`` is built).
# No "*" in it: a pattern (``https://*.example.com``) compared exactly would match no Origin.
_ORIGIN = r"[a-z][a-z0-9+.-]*://[^/?#@\s*]+"
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"  # a header name (RFC 9110 section 5.6.2)
# Request headers always allowed besides the CORS-safelisted ones, as Chalice's and
# Powertools' CORSConfig add them to whatever the user lists (their "required headers"): a JSON
# body needs ``Content-Type``, a bearer token ``Authorization``, a request signed with SigV4 (IAM
# auth, the AWS default) ``X-Amz-Date`` and ``X-Amz-Security-Token``, an API key ``X-Api-Key``.
_REQUIRED_HEADERS = (
    "Authorization", "Content-Type", "X-Amz-Date", "X-Api-Key", "X-Amz-Security-Token"
)
_Pairs = tuple[tuple[str, str], ...]
_ANY = ("*",)
_ANY_ORIGIN: _Pairs = (("access-control-allow-origin", "*"),)
_VARY = ("vary", "Origin")
_CREDENTIALS: _Pairs = (("access-control-allow-credentials", "true"),)


class _Route(Protocol):
    @property
    def cors(self) -> CORS | None: ...


def _names(field: str, value: Iterable[str] | str) -> tuple[str, ...]:
    names = (value,) if isinstance(value, str) else tuple(value)
    for name in names:
        if not isinstance(name, str) or not re.fullmatch(_TOKEN, name):
            raise ConfigurationError(f"CORS {field}: {name!r} is not a header name")
    return names


class CORS(Value):
    """Which other origins may call a route from a browser, and with what.

    ``allow_origins`` is ``("*",)`` (any origin) or the serialized origins allowed
    (``"https://app.example.com"``, ``"http://localhost:3000"``); ``allow_headers`` are request
    headers allowed besides ``_REQUIRED_HEADERS`` and the CORS-safelisted ones;
    ``expose_headers`` are response headers the page may read; ``max_age`` is how many seconds
    a browser may cache a preflight's answer; ``allow_credentials`` lets cookies and HTTP
    authentication through (never with ``"*"``: the Fetch standard forbids that pair).
    """

    allow_origins: tuple[str, ...] = ("*",)
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        origins = self.allow_origins
        origins = (origins,) if isinstance(origins, str) else tuple(origins)
        origins = tuple(o.lower() if isinstance(o, str) else o for o in origins)
        wildcard = origins == _ANY
        if not wildcard:
            for origin in origins:
                if not isinstance(origin, str) or not re.fullmatch(_ORIGIN, origin):
                    raise ConfigurationError(
                        f"CORS allow_origins: {origin!r} must be '*' alone or a serialized "
                        "origin, scheme://host[:port] without a path or trailing '/' (what a "
                        "browser sends in Origin; list each origin, patterns are not matched)"
                    )
            if not origins:
                raise ConfigurationError("CORS allow_origins is empty: give '*' or origins")
        set_(self, "allow_origins", origins)
        set_(self, "allow_headers", _names("allow_headers", self.allow_headers))
        set_(self, "expose_headers", _names("expose_headers", self.expose_headers))
        if type(self.allow_credentials) is not bool:
            raise ConfigurationError("CORS allow_credentials must be True or False")
        max_age = self.max_age
        if max_age is not None and (type(max_age) is not int or max_age < 0):
            raise ConfigurationError(f"CORS max_age must be seconds >= 0, got {max_age!r}")
        if self.allow_credentials and (
            wildcard or "*" in self.allow_headers or "*" in self.expose_headers
        ):
            # With credentials '*' is not a wildcard (Fetch section 3.2.3): the browser refuses.
            raise ConfigurationError(
                "CORS allow_credentials=True needs explicit origins and header names, not '*'"
            )

    def _origin(self, origin: str | None) -> _Pairs:
        """``Access-Control-Allow-Origin`` (and ``Vary``) for a request from ``origin``."""
        origins = self.allow_origins
        if origins == _ANY:
            return _ANY_ORIGIN
        if origin is not None and origin in origins:
            return (("access-control-allow-origin", origin), _VARY)
        return (_VARY,)

    def _actual(self) -> _Pairs:
        """What an allowed origin's actual response carries besides the origin."""
        pairs: _Pairs = _CREDENTIALS if self.allow_credentials else ()
        if self.expose_headers:
            pairs += (("access-control-expose-headers", ", ".join(self.expose_headers)),)
        return pairs

    def _preflight(self, methods: Iterable[str]) -> _Pairs:
        """What an allowed origin's preflight answer carries besides the origin."""
        allowed = dict.fromkeys((*_REQUIRED_HEADERS, *self.allow_headers))
        pairs: _Pairs = _CREDENTIALS if self.allow_credentials else ()
        pairs += (
            ("access-control-allow-methods", ", ".join(methods)),
            ("access-control-allow-headers", ", ".join(allowed)),
        )
        if self.max_age is not None:
            pairs += (("access-control-max-age", str(self.max_age)),)
        return pairs


def resolve(value: object, default: CORS | None) -> CORS | None:
    """A route's CORS from ``@app.http(cors=...)``: None takes the app's, True the app's or
    ``CORS()``, False none (decided once, at decoration)."""
    if value is None:
        return default
    if value is True:
        return default if default is not None else CORS()
    if value is False:
        return None
    if isinstance(value, CORS):
        return value
    raise ConfigurationError(f"cors= takes True, False or pf.CORS(...), got {value!r}")


def respond(cors: CORS, request: Request, response: Response) -> Response:
    """``response`` with the actual-response headers for ``request``'s origin. A handler that set
    ``Access-Control-Allow-Origin`` itself has decided: its response is left as it is."""
    headers = response.headers
    if "access-control-allow-origin" in headers:
        return response
    pairs = cors._origin(request.headers.get("origin"))
    if pairs[0][0] == "access-control-allow-origin":
        pairs = (*pairs, *cors._actual())
    return _with(response, pairs)


def preflight(routes: Mapping[str, _Route] | None, request: Request) -> Response | None:
    """The 204 answering a preflight for a path (``routes``: method -> route), or None when
    ``request`` is no preflight or no route of the path has CORS (then routing answers)."""
    if routes is None:
        return None
    headers = request.headers
    origin = headers.get("origin")
    wanted = headers.get("access-control-request-method")
    if origin is None or wanted is None:
        return None
    methods = sorted(m for m, route in routes.items() if route.cors is not None)
    if not methods:
        return None
    # The settings of the route the browser asks about; any CORS route's if it asks for a
    # method the path lacks (the browser then refuses on Access-Control-Allow-Methods).
    target = routes.get(wanted.strip()) or (routes.get("GET") if wanted == "HEAD" else None)
    cors = target.cors if target is not None else None
    if cors is None:
        cors = next(c for c in (routes[m].cors for m in methods) if c is not None)
    pairs = cors._origin(origin)
    if pairs[0][0] == "access-control-allow-origin":
        pairs = (*pairs, *cors._preflight(methods))
    return Response(status=204, headers=Headers(pairs))


def _with(response: Response, pairs: _Pairs) -> Response:
    """``response`` with ``pairs`` added; a ``Vary`` joins the one the handler set."""
    headers = response.headers
    if "vary" in headers and any(name == "vary" for name, _ in pairs):
        vary = ", ".join(headers.getall("vary"))
        kept = [(n, v) for n, v in headers.items() if n != "vary"]
        pairs = tuple(p for p in pairs if p[0] != "vary")
        if "origin" not in {v.strip().lower() for v in vary.split(",")} and vary != "*":
            vary += ", Origin"
        merged = Headers([*kept, ("vary", vary), *pairs])
    else:
        merged = headers.merged(pairs)
    return Response(status=response.status, headers=merged, body=response.body)


def preflight_owners(functions: Iterable[Any]) -> dict[str, str]:
    """Path -> the function whose deployment also takes the path's OPTIONS requests, for the
    providers that route by method (API Gateway routes, Azure trigger ``methods``): the first
    function of each path with CORS, one per path, none where a route of the app's own takes
    OPTIONS. ``functions``: an app's ``functions.values()`` (packaging time, not per request)."""
    from portable_fn.triggers import Http  # triggers imports this module

    owners: dict[str, str] = {}
    taken: set[str] = set()
    for fn in functions:
        trigger = fn.trigger
        if not isinstance(trigger, Http):
            continue
        if "OPTIONS" in trigger.methods:
            taken.add(trigger.path)
        elif trigger.cors is not None:
            owners.setdefault(trigger.path, fn.name)
    return {path: name for path, name in owners.items() if path not in taken}
