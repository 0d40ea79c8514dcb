# SPDX-License-Identifier: Apache-2.0
"""App-wide middleware (``@app.middleware``): code around every handler of the kinds it names.

A middleware is ``mw(value, ctx, call_next)``: ``value`` is the ``Request`` or ``CloudEvent``
the function was given, ``call_next(value, ctx)`` runs the rest (the next middleware, then the
function's own pipeline: idempotency, validation, the handler). For an HTTP function
``call_next`` returns a ``Response`` whatever the handler returned, so a middleware may read or
change its status and headers; what the middleware returns is the function's result (for HTTP
it must return one: None, a forgotten ``return``, is an error, not a 204). An exception raised
by the handler comes out of ``call_next``. Registration order is outermost first, as Chalice's
``@app.middleware`` and Starlette's middleware stack run.

A ``def`` middleware wraps only what it can wait for: ``def`` handlers with no ``async def``
middleware inside it; the other pairings are refused when the second of them is registered. An
``async def`` middleware wraps everything; a ``def`` handler under it runs in a worker thread
(``asyncio.to_thread``, inline under Pyodide, which has no threads), as the async runtimes run
a ``def`` handler, so it neither blocks the event loop nor finds one running. Composed once per
function (``App.register``, ``App.middleware``): a function no middleware names costs nothing
per invocation.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from portable_fn._dispatch import OFFLOAD, _awaitable, _settled
from portable_fn._handler_signature import (
    _CO_ASYNC_GENERATOR,
    _CO_COROUTINE,
    _CO_GENERATOR,
    _CO_VARARGS,
)
from portable_fn._value import Value
from portable_fn.errors import ConfigurationError
from portable_fn.http import to_response

if TYPE_CHECKING:
    from portable_fn._pipeline import Call

__all__ = ["KINDS", "Middleware", "awaiting", "compose", "middleware"]

KINDS = frozenset(("http", "queue", "topic", "storage", "schedule", "event", "stream"))
_THREADS = sys.platform != "emscripten"  # Pyodide (Cloudflare Workers) runs no threads


class Middleware(Value):
    """One ``@app.middleware``: its function, the trigger kinds it wraps, whether it awaits."""

    fn: Callable[..., Any]
    kinds: frozenset[str]
    is_async: bool


def middleware(fn: Any, kinds: Iterable[Any]) -> Middleware:
    """``fn`` as a middleware of ``kinds`` ("all", or trigger kinds), checked now: at import,
    not at the first request."""
    kinds = tuple(kinds)
    if not all(isinstance(kind, str) for kind in kinds):
        raise ConfigurationError(
            f"middleware kinds are strings, given apart: @app.middleware('http', 'queue'), "
            f"not {kinds!r}"
        )
    wanted = frozenset(kinds)
    unknown = sorted(wanted - KINDS - {"all"})
    if unknown or not wanted:
        raise ConfigurationError(
            f"middleware kinds must be 'all' or trigger kinds {sorted(KINDS)}, got "
            f"{unknown or 'none'}"
        )
    if not callable(fn):
        raise ConfigurationError(f"middleware {fn!r} is not callable")
    is_async = _is_async(fn)
    return Middleware(fn=fn, kinds=KINDS if "all" in wanted else wanted, is_async=is_async)


def _is_async(fn: Any) -> bool:
    """Whether ``fn(value, ctx, call_next)`` is a coroutine function, refusing what cannot be
    called so (too few or too many parameters, a generator). Reads the code object, as
    ``_handler_signature`` does; ``inspect`` only for partials and callable instances."""
    target = getattr(fn, "__func__", fn)
    code = getattr(target, "__code__", None)
    if code is None:
        return _is_async_slow(fn)
    positional = code.co_argcount - (1 if hasattr(fn, "__self__") else 0)
    required = positional - len(target.__defaults__ or ())
    if (positional < 3 and not code.co_flags & _CO_VARARGS) or required > 3:
        raise ConfigurationError(
            f"middleware {_name(fn)} takes {positional} positional parameters; it is called "
            "as mw(value, ctx, call_next)"
        )
    if code.co_flags & (_CO_GENERATOR | _CO_ASYNC_GENERATOR):
        raise ConfigurationError(
            f"middleware {_name(fn)} is a generator function: calling it runs none of its "
            "body. Return call_next(value, ctx)'s result (await it in an async def)"
        )
    return bool(code.co_flags & _CO_COROUTINE)


def _is_async_slow(fn: Any) -> bool:
    import inspect  # partials and callable instances only: never on a plain function

    try:
        inspect.signature(fn).bind(1, 2, 3)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(
            f"middleware {_name(fn)} cannot be called as mw(value, ctx, call_next): {exc}"
        ) from None
    call = getattr(fn, "__call__", None)  # noqa: B004
    if any(inspect.isasyncgenfunction(f) or inspect.isgeneratorfunction(f) for f in (fn, call)):
        raise ConfigurationError(f"middleware {_name(fn)} is a generator function")
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(call)


def _name(fn: Any) -> str:
    return str(getattr(fn, "__qualname__", None) or repr(fn))


def awaiting(middlewares: Sequence[Middleware], kind: str, is_async: bool) -> bool:
    """Whether a function of ``kind`` composed with ``middlewares`` returns an awaitable (its
    ``Function.is_async``: dispatch awaits its call)."""
    return is_async or any(m.is_async and kind in m.kinds for m in middlewares)


def compose(
    call: Call,
    middlewares: Sequence[Middleware],
    *,
    kind: str,
    is_async: bool,
    function: str,
) -> Call:
    """``call`` inside every middleware of ``middlewares`` that names ``kind``, the first
    registered outermost."""
    http = kind == "http"
    inner_awaits = is_async
    for mw in reversed([m for m in middlewares if kind in m.kinds]):
        if inner_awaits and not mw.is_async:
            inside = "async def handler" if is_async else "async def middleware inside it"
            raise ConfigurationError(
                f"middleware {_name(mw.fn)} is a def and cannot wait for the {inside}: make "
                "it async def (it then wraps def handlers too), or name kinds that leave this "
                "function out",
                function=function,
            )
        call = _wrapped(mw, call, http, inner_awaits)
        inner_awaits = inner_awaits or mw.is_async
    return call


def _wrapped(mw: Middleware, inner: Call, http: bool, inner_awaits: bool) -> Call:
    fn, name = mw.fn, _name(mw.fn)
    if mw.is_async:
        # A def handler runs in a thread, as the async runtimes run one.
        threaded = not inner_awaits and _THREADS

        async def call_next_async(value: Any, ctx: Any) -> Any:
            result = await _in_thread(inner, value, ctx) if threaded else inner(value, ctx)
            if _awaitable(result):
                result = await _settled(result)
            return to_response(result) if http else result

        if not http:
            return lambda value, ctx: fn(value, ctx, call_next_async)

        async def outer_async(value: Any, ctx: Any) -> Any:
            return _answer(await fn(value, ctx, call_next_async), name)

        return outer_async

    def call_next(value: Any, ctx: Any) -> Any:
        result = inner(value, ctx)
        if _awaitable(result):  # a handler that hides its coroutine (a plain decorator)
            _close(result)
            raise TypeError(
                f"the handler returned an awaitable, which middleware {name} (a def) cannot "
                "wait for: make the middleware async def"
            )
        return to_response(result) if http else result

    if not http:
        return lambda value, ctx: fn(value, ctx, call_next)
    return lambda value, ctx: _answer(fn(value, ctx, call_next), name)


async def _in_thread(inner: Call, value: Any, ctx: Any) -> Any:
    """``inner(value, ctx)`` in the async runtime's own pool (``OFFLOAD``: dev counts its
    handlers there), else in asyncio's default executor, with this context's variables."""
    offload = OFFLOAD.get()
    if offload is not None:
        import contextvars

        context = contextvars.copy_context()
        return await offload(lambda: context.run(inner, value, ctx))
    import asyncio  # only where an async middleware wraps a def handler

    return await asyncio.to_thread(inner, value, ctx)


def _answer(result: Any, name: str) -> Any:
    """An HTTP middleware's result: None is a forgotten ``return``, not a 204."""
    if result is None:
        raise TypeError(
            f"middleware {name} returned None: return the Response call_next(...) gave (or "
            "one of its own)"
        )
    return result


def _close(awaitable: Any) -> None:
    close = getattr(awaitable, "close", None)  # a coroutine never awaited warns unless closed
    if callable(close):
        close()
