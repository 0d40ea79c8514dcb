# SPDX-License-Identifier: Apache-2.0
"""HTTP functions: one per route, plus the catch-all that answers 404/405 the portable way.

Reference: https://learn.microsoft.com/azure/azure-functions/functions-bindings-http-webhook-trigger
(``route``, ``methods``, ``authLevel``; ``{*name}`` is the catch-all parameter). The request and
response translation (``http``) and dispatch load on a function's first invocation
(``_invoke_http``), not when the host imports function_app.py to index it.
"""

from __future__ import annotations

from typing import Any

import azure.functions as func
from portable_fn.app import App, Function
from portable_fn.cors import preflight_owners
from portable_fn.triggers import Http

from portable_fn_azure._register import Deferred, Runner, named, trigger_of
from portable_fn_azure.options import FALLBACK, AzureOptions

__all__ = ["FALLBACK", "azure_route", "register_fallback", "register_http", "takes_preflight"]

# The catch-all HTTP function (FALLBACK): the host routes here what matches no route (or matches
# a route with another method), so 404 and 405 carry the same JSON body as on every provider.
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def azure_route(path: str) -> str:
    """``/orders/{id}`` -> ``orders/{id}``; a greedy ``{rest+}`` -> the catch-all ``{*rest}``."""
    parts = []
    for segment in path.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("+}"):
            segment = "{*" + segment[1:-2] + "}"
        parts.append(segment)
    return "/".join(parts)


def takes_preflight(app: App, function: Function, options: AzureOptions) -> bool:
    """Whether ``function``'s trigger also takes OPTIONS, for the CORS preflight the core answers:
    one function per CORS path (the host routes by method). A function-key route leaves it to
    the anonymous catch-all when there is one: a browser's preflight carries no key."""
    trigger = trigger_of(function, Http)
    if trigger.cors is None or (trigger.auth != "anonymous" and options.http_fallback):
        return False
    return preflight_owners(app.functions.values()).get(trigger.path) == function.name


def register_http(
    native: func.FunctionApp, app: App, function: Function, options: AzureOptions
) -> None:
    trigger = trigger_of(function, Http)
    name = function.name
    # The worker awaits a coroutine function on its event loop and runs a plain one on a thread.
    entry: Any
    if function.is_async:

        def build_async() -> Runner:
            from portable_fn_azure._invoke_http import http_runner_async

            return http_runner_async(app, name)

        runner = Deferred(build_async)

        async def entry_async(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
            response: func.HttpResponse = await (runner.run or runner.load())(req, context)
            return response

        entry = entry_async
    else:
        entry = _sync_entry(app, name, name)
    auth = func.AuthLevel.ANONYMOUS if trigger.auth == "anonymous" else func.AuthLevel.FUNCTION
    # The host routes by method: a HEAD it did not route here would reach the catch-all,
    # which runs no function that takes a key.
    methods = list(trigger.served_methods)
    if takes_preflight(app, function, options):
        methods.append("OPTIONS")  # answered by the core (portable_fn.cors), no handler runs
    named(native, function)(
        native.route(route=azure_route(trigger.path), methods=methods, auth_level=auth)(entry)
    )


def register_fallback(native: func.FunctionApp, app: App) -> None:
    native.function_name(name=FALLBACK)(
        native.route(route="{*path}", methods=_ALL_METHODS,
                     auth_level=func.AuthLevel.ANONYMOUS)(_sync_entry(app, FALLBACK, None))
    )


def _sync_entry(app: App, name: str, function: str | None) -> Any:
    def build() -> Runner:
        from portable_fn_azure._invoke_http import http_runner

        return http_runner(app, name, function)

    runner = Deferred(build)

    def entry_sync(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
        response: func.HttpResponse = (runner.run or runner.load())(req, context)
        return response

    return entry_sync

