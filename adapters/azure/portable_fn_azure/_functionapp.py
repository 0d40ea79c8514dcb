# SPDX-License-Identifier: Apache-2.0
"""``function_app(app)``: the portable app as an ``azure.functions.FunctionApp`` (v2 model).

One registrar per trigger type, chosen from a table: each builds a small entry function with
the signature the worker binds by name and type annotation (``req: func.HttpRequest`` ...), and
applies the library's own decorators to it, so ``get_functions()`` yields exactly the binding
metadata the host reads. Reference: https://learn.microsoft.com/azure/azure-functions/
functions-reference-python?pivots=python-mode-decorators.
"""

from __future__ import annotations

from typing import Any

import azure.functions as func
from portable_fn.app import App
from portable_fn.triggers import Event, Http, Queue, Schedule, Storage, Stream, Topic

from portable_fn_azure._register import Registrar
from portable_fn_azure._register_events import (
    register_event,
    register_queue,
    register_schedule,
    register_storage,
    register_stream,
    register_topic,
    schedule_for,
)
from portable_fn_azure._register_http import FALLBACK, azure_route, register_fallback, register_http
from portable_fn_azure.options import AzureOptions

__all__ = ["FALLBACK", "REGISTRARS", "azure_route", "function_app", "schedule_for"]


def function_app(app: App, options: AzureOptions | None = None) -> func.FunctionApp:
    """An ``azure.functions.FunctionApp`` with one function per handler of ``app``.

    HTTP routes default to function-key auth (``AuthLevel.FUNCTION``); a route declared
    ``auth="anonymous"`` is anonymous. Installs the Azure publisher on ``app`` unless the app
    already has one (tests install a recording publisher first).
    """
    opts = options or AzureOptions()
    if app.publisher is None:
        from portable_fn_azure.publisher import AzurePublisher

        app.use_publisher(AzurePublisher(opts))
    native = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
    for function in app.functions.values():
        REGISTRARS[type(function.trigger)](native, app, function, opts)
    if opts.http_fallback and any(isinstance(f.trigger, Http) for f in app.functions.values()):
        register_fallback(native, app)
    return native


REGISTRARS: dict[type[Any], Registrar] = {
    Http: register_http,
    Queue: register_queue,
    Topic: register_topic,
    Event: register_event,
    Storage: register_storage,
    Schedule: register_schedule,
    Stream: register_stream,
}
