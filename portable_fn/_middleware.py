# SPDX-License-Identifier: Apache-2.0
"""App-wide middleware (``@app.middleware``): code around every handler of the kinds it names.

A middleware is ``mw(value, ctx, call_next)``: ``value`` is the ``Request`` or ``CloudEvent``
the function was given, ``call_next(value, ctx)`` runs the rest (the next middleware, then the
function's own pipeline: idempotency, validation, the handler). For an HTTP function
``call_next`` returns a ``Response`` whatever the handler returned, so a middleware may read or
change its status and headers; what the middleware returns is the function's result. An
exception raised by the handler comes out of ``call_next``. Registration order is outermost
first, as Chalice's ``@app.middleware`` and Starlette's middleware stack run.

A ``def`` middleware wraps ``def`` handlers; an ``async def`` one wraps both (``await
call_next(...)``), a ``def`` handler then running on the event loop. A ``def`` middleware cannot
wait for an ``async def`` handler, so that pairing is refused when the second of them is
registered. Composed once per function (``App.register``, ``App.middleware``), so a function
no middleware names costs nothing per invocation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from portable_fn._value import Value
from portable_fn.errors import ConfigurationError
from portable_fn.http import to_response

if TYPE_CHECKING:
    from portable_fn._pipeline import Call

__all__ = ["KINDS", "Middleware", "compose"]

KINDS = frozenset(("http", "queue", "topic", "storage", "schedule", "event", "stream"))
_CO_COROUTINE, _CO_VARARGS = 0x80, 0x04


class Middleware(Value):
    """One ``@app.middleware``: its function, the trigger kinds it wraps, whether it awaits."""

    fn: Callable[..., Any]
    kinds: frozenset[str]
    is_async: bool


def middleware(fn: Any, kinds: Iterable[str]) -> Middleware:
    """``fn`` as a middleware of ``kinds`` ("all", or trigger kinds), checked now: at import,
    not at the first request."""
    wanted = frozenset(kinds)
    unknown = sorted(wanted - KINDS - {"all"})
    if unknown or not wanted:
        raise ConfigurationError(
            f"middleware kinds must be 'all' or trigger kinds {sorted(KINDS)}, got "
            f"{unknown or 'none'}"
        )
    code = getattr(getattr(fn, "__func__", fn), "__code__", None)
    if not callable(fn) or isinstance(fn, str):
        raise ConfigurationError(f"middleware {fn!r} is not callable")
    if code is not None:
        positional = code.co_argcount - (1 if hasattr(fn, "__self__") else 0)
        if positional < 3 and not code.co_flags & _CO_VARARGS:
            raise ConfigurationError(
                f"middleware {_name(fn)} takes {positional} positional parameters; it is "
                "called as mw(value, ctx, call_next)"
            )
    is_async = code is not None and bool(code.co_flags & _CO_COROUTINE)
    return Middleware(fn=fn, kinds=KINDS if "all" in wanted else wanted, is_async=is_async)


def _name(fn: Any) -> str:
    return str(getattr(fn, "__qualname__", None) or repr(fn))


def _awaitable(value: Any) -> bool:
    return hasattr(type(value), "__await__")


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
    for mw in reversed([m for m in middlewares if kind in m.kinds]):
        if is_async and not mw.is_async:
            raise ConfigurationError(
                f"middleware {_name(mw.fn)} is a def and cannot wait for this async def "
                "handler: make the middleware async def (it then wraps def handlers too), or "
                "name kinds that leave this function out",
                function=function,
            )
        call = _wrapped(mw.fn, call, http, mw.is_async)
    return call


def _wrapped(fn: Callable[..., Any], inner: Call, http: bool, awaits: bool) -> Call:
    if awaits:

        async def call_next_async(value: Any, ctx: Any) -> Any:
            result = inner(value, ctx)
            while _awaitable(result):
                result = await result
            return to_response(result) if http else result

        return lambda value, ctx: fn(value, ctx, call_next_async)
    if not http:
        return lambda value, ctx: fn(value, ctx, inner)

    def call_next(value: Any, ctx: Any) -> Any:
        result = inner(value, ctx)
        return result if _awaitable(result) else to_response(result)

    return lambda value, ctx: fn(value, ctx, call_next)
