# SPDX-License-Identifier: Apache-2.0
"""How a handler is called: ``h(event)`` or ``h(event, ctx)``, sync or async, read from its code
object at decoration time (``App.register``); what it cannot be called as is refused then.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from portable_fn._pipeline import wrapped
from portable_fn.errors import ConfigurationError

__all__ = ["signature"]

_CO_VARARGS = 0x04
_CO_GENERATOR = 0x20
_CO_COROUTINE = 0x80
_CO_ASYNC_GENERATOR = 0x200


def signature(handler: Callable[..., Any], name: str) -> tuple[bool, bool]:
    """(is_async, takes_context) for a handler callable as ``h(event)`` or ``h(event, ctx)``.

    Reads the code object rather than ``inspect.signature``: decoration runs at import, on the
    cold-start path, and ``inspect`` costs milliseconds to import.
    """
    target: Any = getattr(handler, "__func__", handler)
    code = getattr(target, "__code__", None)
    if code is None:
        return _signature_slow(handler, name)
    bound = 1 if hasattr(handler, "__self__") else 0
    positional = code.co_argcount - bound
    required = positional - len(target.__defaults__ or ())
    kwonly_defaults = target.__kwdefaults__ or {}
    kwonly = code.co_varnames[code.co_argcount : code.co_argcount + code.co_kwonlyargcount]
    missing_kwonly = [k for k in kwonly if k not in kwonly_defaults]
    varargs = bool(code.co_flags & _CO_VARARGS)
    if missing_kwonly:
        raise ConfigurationError(
            f"handler has required keyword-only parameters {missing_kwonly}; it is called "
            "as handler(event) or handler(event, ctx)",
            function=name,
        )
    if required > 2:
        raise ConfigurationError(
            f"handler requires {required} arguments; it is called as handler(event) "
            "or handler(event, ctx)",
            function=name,
        )
    if positional < 1 and not varargs:
        raise ConfigurationError("handler must accept the event (or request)", function=name)
    if code.co_flags & (_CO_GENERATOR | _CO_ASYNC_GENERATOR):
        _refuse_generator(name, bool(code.co_flags & _CO_ASYNC_GENERATOR))
    takes_context = positional >= 2 or (varargs and _wrapped_takes_context(target))
    return bool(code.co_flags & _CO_COROUTINE), takes_context


def _wrapped_takes_context(wrapper: Any) -> bool:
    """Whether a ``(*args, **kwargs)`` handler passes a context on: a decorator's
    ``functools.wraps`` wrapper (``__wrapped__``) passes what it gets to the handler it wraps,
    which may take the event alone; any other such handler takes both."""
    for inner in wrapped(wrapper):
        code = getattr(getattr(inner, "__func__", inner), "__code__", None)
        if code is not None and not code.co_flags & _CO_VARARGS:
            # Its positional parameters only: the wrapper is what is called, and may supply
            # the handler's keyword-only arguments itself (a client, a session).
            return bool(code.co_argcount - (1 if hasattr(inner, "__self__") else 0) >= 2)
    return True


def _refuse_generator(name: str, is_async: bool) -> None:
    """A generator function's body does not run when it is called: an event handler would be
    acknowledged without running and an HTTP handler would answer no response."""
    kind = "an async generator function (async def with yield)" if is_async else (
        "a generator function (def with yield)"
    )
    raise ConfigurationError(
        f"handler is {kind}: calling it runs none of its body. A handler returns its result "
        "(or awaits its work, as an async def without yield)",
        function=name,
    )


def _signature_slow(handler: Callable[..., Any], name: str) -> tuple[bool, bool]:
    import inspect  # only for callables without a code object (partials, callable instances)

    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(
            f"cannot read the handler's signature: {exc}", function=name
        ) from None
    for count, takes_context in ((2, True), (1, False)):
        try:
            signature.bind(*range(count))
        except TypeError:
            continue
        call = getattr(handler, "__call__", None)  # noqa: B004
        for test, asynchronous in (
            (inspect.isasyncgenfunction, True), (inspect.isgeneratorfunction, False)
        ):
            if test(handler) or test(call):
                _refuse_generator(name, asynchronous)
        is_async = inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(call)
        return is_async, takes_context
    raise ConfigurationError(
        "handler cannot be called as handler(event) or handler(event, ctx)", function=name
    )
