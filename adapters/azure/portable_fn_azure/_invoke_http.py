# SPDX-License-Identifier: Apache-2.0
"""An HTTP function's runner: ``HttpRequest`` -> portable dispatch -> ``HttpResponse``.

Loaded on the first invocation of an HTTP function (``_register_http`` registers the entries).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from portable_fn.adapter import dispatch_http, dispatch_http_async
from portable_fn.errors import PortableFnError
from portable_fn.http import Request, Response
from portable_fn.log import Logger

from portable_fn_azure import _deferred
from portable_fn_azure import http as http_codec
from portable_fn_azure._invoke import context_for, http_timeout_of

if TYPE_CHECKING:
    import azure.functions as func
    from portable_fn.app import App

__all__ = ["http_runner", "http_runner_async"]


def http_runner(
    app: App, name: str, function: str | None
) -> Callable[[func.HttpRequest, Any], func.HttpResponse]:
    """The runner of HTTP function ``name``; ``function`` None lets the core route the request
    (the catch-all answers 404/405 that way)."""
    timeout = http_timeout_of(app)

    def run(req: func.HttpRequest, context: Any) -> func.HttpResponse:
        try:
            request = http_codec.to_request(req)
            ctx = context_for(name, req, context, deadline=time.time() + timeout)
            refused = _refused(app, request, function)
            if refused is not None:
                return refused
            return http_codec.to_native(dispatch_http(app, request, ctx, function))
        except Exception as exc:
            return _failed(name, exc)

    return run


def _refused(app: App, request: Request, function: str | None) -> func.HttpResponse | None:
    """The answer to a request no handler may run on, else None: one for an ``auth="function"``
    route reaching the catch-all (``function`` None), one whose body the host dropped."""
    if function is None and _asks_for_a_key(app, request):
        return _error(401, "this route takes a function key, on its own function's URL")
    if _body_dropped(request):
        return _error(411, _LENGTH_REQUIRED)
    return None


def _asks_for_a_key(app: App, request: Request) -> bool:
    """Whether the catch-all (anonymous, no key checked) would run a function declared
    ``auth="function"``: the host sends it what it did not route to that function itself (a
    route it refused or moved, such as ``/`` or ``admin/...``), so running it there would skip
    the key. 404, 405 and CORS preflights, which run no handler, are answered as usual."""
    try:
        fn, _ = app.match(request.method, request.path)
    except PortableFnError:
        return False
    return getattr(fn.trigger, "auth", "anonymous") != "anonymous"


def _body_dropped(request: Request) -> bool:
    """Whether the host dropped the request's body: it copies one into the RpcHttp only when
    ``Content-Length`` is above zero (azure-functions-host ``GrpcMessageConversionExtensions.
    ToRpcHttp``), so a ``Transfer-Encoding: chunked`` body never reaches the worker
    (azure-functions-host#4926, #7930). Running the handler on ``b""`` would answer as if the
    client had sent nothing; 411 (RFC 9110 section 15.5.12) has it resend with a length. A GET,
    HEAD or OPTIONS is let through: content there has no defined meaning (RFC 9110 section
    9.3), and a proxy that marks an empty one chunked must not turn it into an error."""
    return (not request.body and request.method not in _NO_CONTENT_METHODS
            and "transfer-encoding" in request.headers)


_NO_CONTENT_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))


_LENGTH_REQUIRED = ("a chunked request body does not reach Azure Functions: "
                    "send it with a Content-Length")


def http_runner_async(
    app: App, name: str
) -> Callable[[func.HttpRequest, Any], Awaitable[func.HttpResponse]]:
    timeout = http_timeout_of(app)

    async def run(req: func.HttpRequest, context: Any) -> func.HttpResponse:
        try:
            request = http_codec.to_request(req)
            ctx = context_for(name, req, context, deadline=time.time() + timeout)
            refused = _refused(app, request, name)
            if refused is not None:
                return refused
            # Its publishes wait for it to return, then run off the loop (_deferred).
            pending, token = _deferred.defer()
            try:
                response = await dispatch_http_async(app, request, ctx, name)
            finally:
                _deferred.later(token)
            try:
                await _deferred.flush(pending)
            except Exception as exc:
                ctx.logger.exception("publishing after the handler failed", exc=exc)
                return _error(500, "could not publish the request's events")
            return http_codec.to_native(response)
        except Exception as exc:
            return _failed(name, exc)

    return run


def _error(status: int, message: str) -> func.HttpResponse:
    return http_codec.to_native(
        Response.json({"error": {"status": status, "message": message}}, status=status)
    )


def _failed(name: str, exc: Exception) -> func.HttpResponse:
    """What the caller sees when the adapter itself fails: a JSON error, never a traceback
    (the host would answer a bare 500 to an exception). An unreadable request is a 400."""
    if isinstance(exc, PortableFnError):
        return _error(400, str(exc))
    Logger({"function": name}).exception("HTTP adapter failure", exc=exc)
    return _error(500, "internal error")
