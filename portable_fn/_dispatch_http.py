# SPDX-License-Identifier: Apache-2.0
"""HTTP dispatch: route and run a request; always a ``Response``, never a raise.

Routing errors and ``HTTPError`` become their status with a JSON body; any other exception is a
500 whose body says nothing of the code (the traceback goes to the log).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from portable_fn import _observe, cors
from portable_fn._dispatch import (
    _awaitable,
    _awaited,
    _bound,
    _enter,
    _log_error,
    _own_cancel,
    _settled,
    awaited_call,
    run_sync,
)
from portable_fn._invocation import Invocation, _cold, _current
from portable_fn.context import Context
from portable_fn.errors import HTTPError, MethodNotAllowed, NotFound
from portable_fn.http import Request, Response, to_response
from portable_fn.triggers import Http

if TYPE_CHECKING:
    from portable_fn.app import App, Function

__all__ = ["dispatch_http", "dispatch_http_async"]


def _error_response(error: HTTPError) -> Response:
    response = Response.json(error.body(), status=error.status)
    extra = error.headers()
    if extra:
        return Response(
            status=response.status, headers=response.headers.merged(extra), body=response.body
        )
    return response


def _internal_error(ctx: Context, exc: BaseException) -> Response:
    _log_error(ctx, "unhandled error in HTTP handler", exc)
    return Response.json({"error": {"status": 500, "message": "internal server error"}}, status=500)


def _headless(request: Request, response: Response) -> Response:
    """The answer to a HEAD request: the GET's status and headers, no content (RFC 9110
    section 9.3.2, https://www.rfc-editor.org/rfc/rfc9110#section-9.3.2). Done here, once
    for every adapter: Lambda, Azure and Workers send whatever body they are given, so a GET
    handler's body reached the client on some providers and not on others. The Content-Length
    is the GET content's: the handler's own, else the length of the body dropped (RFC 9110
    section 8.6: in a HEAD response it may be sent, and only with that value)."""
    if request.method != "HEAD" or not response.body:
        return response
    headers = response.headers
    if "content-length" not in headers:
        headers = headers.merged({"content-length": str(len(response.body))})
    return Response(status=response.status, headers=headers)


def _resolve(app: App, request: Request, function: str | None) -> tuple[Function, Request]:
    if function is None:
        fn, params = app.match(request.method, request.path)
    else:
        fn = app.function(function)
        trigger = fn.trigger
        if not isinstance(trigger, Http):
            raise NotFound(f"function {function!r} is not an HTTP function")
        path = request.path
        if path == trigger.path and "{" not in path:  # a static route as sent: no parameters
            params = None
        else:
            params = fn.match_path(path)
            if params is None:
                raise NotFound(f"no route for {path}")
        method = request.method
        if method not in trigger.methods and not (method == "HEAD" and "GET" in trigger.methods):
            raise MethodNotAllowed(f"{method} is not allowed on {path}", allowed=trigger.methods)
    # The route's own parameters, none for a static route: an adapter's (a host's catch-all
    # route value, `{"path": "admin/stats"}` on Azure) are not the route's.
    if params or request.path_params:
        request = request.with_path_params(params or {})
    return fn, request


def _refused(app: App, request: Request, exc: HTTPError) -> Response:
    """What no route takes: a CORS preflight (an OPTIONS no route declares) on a path with CORS
    routes is answered by the core; anything else gets the routing error, with the CORS headers
    of the path's routes (a 405) or the app's (a 404) so a page on an allowed origin can read
    it, as a handler's own error carries them."""
    routes = app.routes_at(request.path) if type(exc) is MethodNotAllowed else None
    if routes is not None and request.method == "OPTIONS":
        answer = cors.preflight(routes, request)
        if answer is not None:
            return answer  # an OPTIONS, never a HEAD
    response = _error_response(exc)
    if routes is not None:
        settings = next((r.cors for r in routes.values() if r.cors is not None), None)
    else:
        settings = app.cors if type(exc) is NotFound else None
    if settings is not None:
        response = cors.respond(settings, request, response)
    return _headless(request, response)


def _answer_failure(
    fn: Function,
    request: Request,
    ctx: Context,
    exc: Exception,
    observation: _observe.Observation | None,
) -> Response:
    """A handler's exception as the response, with the route's CORS: its own status for an
    ``HTTPError``, else a 500 that says nothing of the code (the stack goes to the log)."""
    failed = _error_response(exc) if isinstance(exc, HTTPError) else _internal_error(ctx, exc)
    if observation is not None:
        observation.end(exc if failed.status >= 500 else None, failed.status)
    if fn.cors is not None:
        failed = cors.respond(fn.cors, request, failed)
    return _headless(request, failed)


def _routed(ctx: Context, name: str) -> Context:
    """The context of an entry serving every route (a Worker, ``portable-fn dev``), built
    before routing with no function name, named after the function the request reached: the
    handler's ``ctx.function_name`` and what is keyed by it (an idempotency key's namespace)
    are the function's, as where each function is deployed alone."""
    return ctx.replace(function_name=name)


def dispatch_http(
    app: App, request: Request, ctx: Context, function: str | None = None
) -> Response:
    """Route and run an HTTP request; always returns a ``Response``."""
    try:
        fn, request = _resolve(app, request, function)
    except HTTPError as exc:
        return _refused(app, request, exc)
    if not ctx.function_name:
        ctx = _routed(ctx, fn.name)
    token, observation = _enter(Invocation(app, fn, ctx, None, _cold(), request))
    try:
        result = fn.call(request, ctx)
        if fn.is_async:
            result = run_sync(_settled(result))
        try:
            response = to_response(result)
        except TypeError:
            if not _awaitable(result):
                raise
            response = to_response(run_sync(_settled(result)))  # a plain def's coroutine
    except Exception as exc:
        return _answer_failure(fn, request, ctx, exc, observation)  # exc not kept: _dispatch._call
    except BaseException as exc:
        return _answer_failure(fn, request, ctx, _own_cancel(exc), observation)
    finally:
        _current.reset(token)
    if observation is not None:
        observation.end(None, response.status)
    if fn.cors is not None:
        response = cors.respond(fn.cors, request, response)
    return response if request.method != "HEAD" else _headless(request, response)


async def dispatch_http_async(
    app: App,
    request: Request,
    ctx: Context,
    function: str | None = None,
    *,
    offload: Callable[[Callable[[], Any]], Awaitable[Any]] | None = None,
) -> Response:
    """The async twin; ``offload`` runs a sync handler off the event loop (a thread pool)."""
    try:
        fn, request = _resolve(app, request, function)
    except HTTPError as exc:
        return _refused(app, request, exc)
    if not ctx.function_name:
        ctx = _routed(ctx, fn.name)
    token, observation = _enter(Invocation(app, fn, ctx, None, _cold(), request))
    try:
        if fn.is_async:
            result = await awaited_call(fn, request, ctx, offload)
        elif offload is not None:
            result = await offload(_bound(fn, request, ctx))
        else:
            result = fn.call(request, ctx)
        try:
            response = to_response(result)
        except TypeError:
            if not _awaitable(result):
                raise
            response = to_response(await _awaited(_settled(result)))
    except Exception as exc:
        return _answer_failure(fn, request, ctx, exc, observation)  # exc not kept: _dispatch._call
    except BaseException as exc:
        return _answer_failure(fn, request, ctx, _own_cancel(exc), observation)
    finally:
        _current.reset(token)
    if observation is not None:
        observation.end(None, response.status)
    if fn.cors is not None:
        response = cors.respond(fn.cors, request, response)
    return response if request.method != "HEAD" else _headless(request, response)
