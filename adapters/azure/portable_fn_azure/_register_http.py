# SPDX-License-Identifier: Apache-2.0
"""HTTP functions: one per route, plus the catch-all that answers 404/405 the portable way.

Reference: https://learn.microsoft.com/azure/azure-functions/functions-bindings-http-webhook-trigger
(``route``, ``methods``, ``authLevel``; ``{*name}`` is the catch-all parameter).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import azure.functions as func
from portable_fn.adapter import dispatch_http, dispatch_http_async
from portable_fn.app import App, Function
from portable_fn.errors import PortableFnError
from portable_fn.http import Response
from portable_fn.log import Logger
from portable_fn.triggers import Http

from portable_fn_azure import http as http_codec
from portable_fn_azure._invoke import context_for
from portable_fn_azure._register import named, trigger_of
from portable_fn_azure.options import AzureOptions

__all__ = ["FALLBACK", "azure_route", "register_fallback", "register_http"]

# The catch-all HTTP function: the host routes here what matches no route (or matches a route
# with another method), so 404 and 405 carry the same JSON body as on every provider.
FALLBACK = "portable_fn_fallback"
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def azure_route(path: str) -> str:
    """``/orders/{id}`` -> ``orders/{id}``; a greedy ``{rest+}`` -> the catch-all ``{*rest}``."""
    parts = []
    for segment in path.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("+}"):
            segment = "{*" + segment[1:-2] + "}"
        parts.append(segment)
    return "/".join(parts)


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


def register_http(native: func.FunctionApp, app: App, function: Function, _: AzureOptions) -> None:
    trigger = trigger_of(function, Http)
    name = function.name

    if function.is_async:

        async def entry_async(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
            try:
                request, ctx = http_codec.to_request(req), context_for(name, req, context)
                return http_codec.to_native(await dispatch_http_async(app, request, ctx, name))
            except Exception as exc:
                return _failed(name, exc)

        entry: Callable[..., Any] = entry_async
    else:

        def entry_sync(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
            try:
                request, ctx = http_codec.to_request(req), context_for(name, req, context)
                return http_codec.to_native(dispatch_http(app, request, ctx, name))
            except Exception as exc:
                return _failed(name, exc)

        entry = entry_sync
    auth = func.AuthLevel.ANONYMOUS if trigger.auth == "anonymous" else func.AuthLevel.FUNCTION
    named(native, function)(
        native.route(route=azure_route(trigger.path), methods=list(trigger.methods),
                     auth_level=auth)(entry)
    )


def register_fallback(native: func.FunctionApp, app: App) -> None:
    def fallback(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
        try:
            request, ctx = http_codec.to_request(req), context_for(FALLBACK, req, context)
            return http_codec.to_native(dispatch_http(app, request, ctx))
        except Exception as exc:
            return _failed(FALLBACK, exc)

    native.function_name(name=FALLBACK)(
        native.route(route="{*path}", methods=_ALL_METHODS,
                     auth_level=func.AuthLevel.ANONYMOUS)(fallback)
    )
