# SPDX-License-Identifier: Apache-2.0
"""``App``: the registry of one application's functions (its decorators: ``_decorators``).

Registries belong to the instance (two apps in one process never interfere). Decorators return
the user's function unchanged, so it stays callable in a unit test, and validate at decoration
time: a duplicate name, a bad route, a bad schedule or a handler that cannot take the event
raises ``ConfigurationError`` on import, not in production.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from portable_fn._decorators import Decorators
from portable_fn._handler_signature import signature
from portable_fn._pipeline import build_call
from portable_fn._routing import Router, compile_route, match_route
from portable_fn._settings import apply, read_secret, validate
from portable_fn._value import Value
from portable_fn.cors import CORS
from portable_fn.errors import ConfigurationError, FunctionNotFoundError
from portable_fn.triggers import (
    NO_LIMITS,
    Http,
    Limits,
    Trigger,
)

if TYPE_CHECKING:
    from portable_fn._middleware import Middleware
    from portable_fn.adapter import Publisher
    from portable_fn.idempotency import Store as IdempotencyStore

__all__ = ["App", "Function"]

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=Callable[[Any, Any, Any], Any])
MiddlewareKind = Literal["all", "http", "queue", "topic", "storage", "schedule", "event", "stream"]
_APP_NAME = re.compile(r"[a-z][a-z0-9-]{0,39}")
# Lambda allows 64 characters, Azure 128, Cloud Functions 63 ([a-zA-Z][a-zA-Z0-9_-]*): the
# portable subset is a Python identifier of at most 63 characters.
_FUNCTION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,62}")


class Function(Value):
    """One registered function: its name, trigger and handler, and how to call the handler."""

    name: str
    handler: Callable[..., Any]
    trigger: Trigger
    is_async: bool  # whether ``call`` returns an awaitable: an async handler or middleware
    takes_context: bool
    call: Callable[[Any, Any], Any]  # composed by _pipeline.build_call: what dispatch runs
    options: Mapping[str, Any] = MappingProxyType({})
    cors: CORS | None = None  # an HTTP trigger's, here so dispatch reads it without a type test
    limits: Limits = NO_LIMITS  # its own over the app's; None members: the provider's default
    secrets: tuple[str, ...] = ()  # the app's secrets it is given (``secrets=``, else all)

    def match_path(self, path: str) -> Mapping[str, str] | None:
        """Path parameters when this HTTP function's route matches ``path``."""
        if not isinstance(self.trigger, Http):
            return None
        return match_route(compile_route(self.trigger.path), path.rstrip("/") or "/")




class App(Decorators):
    """One application: a named set of functions, each with one trigger.

    >>> app = App("shop")
    >>> @app.http("/orders/{order_id}")
    ... def get_order(req): return {"id": req.path_params["order_id"]}

    Every decorator also takes ``timeout`` (seconds an invocation may run) and ``memory``
    (MB) for its function, over the app's ``App(timeout=, memory=)``: see ``Limits``.

    ``env`` (name -> string) and ``secrets`` (names) are environment variables every function
    gets on every provider: ``env``'s values as written here, a secret's from the platform's
    secret store, read with ``app.secret(NAME)`` (see ``_settings``).
    """

    def __init__(
        self,
        name: str,
        *,
        cors: CORS | None = None,
        auth: Literal["function", "anonymous"] = "function",
        timeout: int | None = None,
        memory: int | None = None,
        env: Mapping[str, str] | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        if not isinstance(name, str) or not _APP_NAME.fullmatch(name) or "--" in name:
            raise ConfigurationError(
                f"app name {name!r} must be 1-40 lowercase letters, digits and single '-', "
                "starting with a letter (it prefixes resource names on every provider, where "
                "'--' separates it from the rest)"
            )
        if cors is not None and not isinstance(cors, CORS):
            raise ConfigurationError(f"App cors= takes a pf.CORS or None, got {cors!r}")
        if auth not in ("function", "anonymous"):
            raise ConfigurationError(f"auth must be 'function' or 'anonymous', got {auth!r}")
        self.name = name
        self.cors = cors  # every HTTP route's unless it says otherwise (``http(cors=...)``)
        self.auth = auth  # every HTTP route's unless it says otherwise (``http(auth=...)``)
        # Every function's unless it says otherwise (``queue(timeout=...)``): see ``Limits``.
        self.limits = Limits(timeout=timeout, memory=memory)
        self.env, self.secrets = validate(env, secrets)
        apply(self.env)  # as deployed, for module-level reads (``_settings.apply``)
        self._functions: dict[str, Function] = {}
        self._router: Router[Function] = Router()
        # ``@app.middleware``s, and each function's call as its pipeline built it, which they
        # wrap (a middleware registered later composes every function again from it).
        self._middleware: list[Middleware] = []
        self._plain_calls: dict[str, tuple[Callable[[Any, Any], Any], bool]] = {}
        self._publisher: Publisher | None = None
        self._idempotency_store: IdempotencyStore | None = None

    def __repr__(self) -> str:
        return f"App({self.name!r}, functions={list(self._functions)})"

    def secret(self, name: str) -> str:
        """The value of a secret this app declares (``App(secrets=[name])``), as the platform
        set it: ``ConfigurationError`` for an undeclared name, ``SecretNotSet`` when the
        environment has no value for it (a deploy that did not wire it, a shell without it)."""
        return read_secret(self, name)

    # -- registry ---------------------------------------------------------------------------

    @property
    def functions(self) -> Mapping[str, Function]:
        """Every function, in registration order (read-only)."""
        return MappingProxyType(self._functions)

    @property
    def middlewares(self) -> tuple[Middleware, ...]:
        """Every ``@app.middleware``, outermost first."""
        return tuple(self._middleware)

    def function(self, name: str) -> Function:
        try:
            return self._functions[name]
        except KeyError:
            raise FunctionNotFoundError(name) from None

    def match(self, method: str, path: str) -> tuple[Function, Mapping[str, str]]:
        """The HTTP function for a request; ``NotFound``/``MethodNotAllowed`` otherwise."""
        return self._router.match(method, path)

    def routes_at(self, path: str) -> Mapping[str, Function] | None:
        """Method -> HTTP function of the route ``path`` matches (None: no route does)."""
        return self._router.table(path)

    def register(
        self,
        handler: F,
        trigger: Trigger,
        *,
        name: str | None = None,
        options: Mapping[str, Any] | None = None,
        limits: Limits = NO_LIMITS,
        secrets: tuple[str, ...] | None = None,
    ) -> F:
        """Register ``handler`` for ``trigger``; what every decorator calls. ``options`` are
        per-function behaviours the call pipeline composes (``idempotent``, ...); ``limits``
        its own timeout and memory, over the app's; ``secrets`` the app's it may read (None:
        every one)."""
        if not callable(handler):
            raise ConfigurationError(f"{handler!r} is not callable")
        function_name = name or getattr(handler, "__name__", None)
        if not isinstance(function_name, str) or not _FUNCTION_NAME.fullmatch(function_name):
            # The handler's own name (a lambda's "<lambda>") is fixed by passing name=; a name
            # given is itself what to change.
            hint = " (pass name=...)" if name is None else ""
            raise ConfigurationError(
                f"function name {function_name!r} must be a letter then up to 62 letters, "
                f"digits or '_'{hint}"
            )
        if function_name in self._functions:
            raise ConfigurationError("a function of this name is already registered",
                                     function=function_name)
        is_async, takes_context = signature(handler, function_name)
        frozen_options = MappingProxyType({k: v for k, v in (options or {}).items() if v})
        call = build_call(
            handler,
            trigger,
            name=function_name,
            is_async=is_async,
            takes_context=takes_context,
            options=frozen_options,
        )
        plain, awaits = call, is_async
        if self._middleware:
            from portable_fn._middleware import awaiting, compose

            call = compose(call, self._middleware, kind=trigger.kind, is_async=is_async,
                           function=function_name)
            awaits = awaiting(self._middleware, trigger.kind, is_async)
        function = Function(
            name=function_name,
            handler=handler,
            trigger=trigger,
            is_async=awaits,
            takes_context=takes_context,
            call=call,
            options=frozen_options,
            cors=trigger.cors if isinstance(trigger, Http) else None,
            limits=limits.over(self.limits),
            secrets=self.secrets if secrets is None else secrets,
        )
        if isinstance(trigger, Http):
            try:
                self._router.add(trigger.path, trigger.methods, function)
            except ConfigurationError as exc:
                raise ConfigurationError(str(exc), function=function_name) from None
        self._functions[function_name] = function
        if self._middleware:
            self._plain_calls[function_name] = (plain, is_async)
        return handler

    @overload
    def middleware(self, fn: M, /) -> M: ...

    @overload
    def middleware(self, *kinds: MiddlewareKind) -> Callable[[M], M]: ...

    def middleware(self, *given: Any) -> Any:
        """``mw(value, ctx, call_next)`` around every function of the trigger kinds named
        (``@app.middleware("http")``; bare or ``"all"``: every function), registered or to be,
        the first registered outermost: see ``portable_fn._middleware``. Returns ``mw``."""
        from portable_fn._middleware import middleware

        if len(given) == 1 and callable(given[0]):
            return self._add_middleware(middleware(given[0], ("all",)))
        return lambda fn: self._add_middleware(middleware(fn, given or ("all",)))

    def _add_middleware(self, mw: Middleware) -> Any:
        from portable_fn._middleware import awaiting, compose

        stack = [*self._middleware, mw]
        composed: dict[str, Function] = {}
        for name, fn in self._functions.items():  # all checked before any is changed
            plain, is_async = self._plain_calls.get(name, (fn.call, fn.is_async))
            kind = fn.trigger.kind
            composed[name] = fn.replace(
                call=compose(plain, stack, kind=kind, is_async=is_async, function=name),
                is_async=awaiting(stack, kind, is_async),
            )
        for name, fn in self._functions.items():
            self._plain_calls.setdefault(name, (fn.call, fn.is_async))
        self._middleware = stack
        self._functions.update(composed)
        self._router = Router()  # its functions are the composed ones now
        for fn in self._functions.values():
            if isinstance(fn.trigger, Http):
                self._router.add(fn.trigger.path, fn.trigger.methods, fn)
        return mw.fn

    # -- publishing -------------------------------------------------------------------------

    @property
    def publisher(self) -> Publisher | None:
        return self._publisher

    def use_publisher(self, publisher: Publisher | None) -> None:
        """Install what ``pf.publish``/``pf.send``/``pf.emit`` go through for this app."""
        self._publisher = publisher

    @property
    def idempotency_store(self) -> IdempotencyStore | None:
        return self._idempotency_store

    def use_idempotency_store(self, store: IdempotencyStore | None) -> None:
        """Install where ``idempotent=`` functions keep their records (default: the
        ``PORTABLE_FN_IDEMPOTENCY`` URL, read on first use; see ``portable_fn.idempotency``)."""
        self._idempotency_store = store
