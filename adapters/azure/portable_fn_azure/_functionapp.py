# SPDX-License-Identifier: Apache-2.0
"""``function_app(app)``: the portable app as an ``azure.functions.FunctionApp`` (v2 model).

One registrar per trigger type, chosen from a table: each builds a small entry function with
the signature the worker binds by name and type annotation (``req: func.HttpRequest`` ...), and
applies the library's own decorators to it, so ``get_functions()`` yields exactly the binding
metadata the host reads. Reference: https://learn.microsoft.com/azure/azure-functions/
functions-reference-python?pivots=python-mode-decorators.

This runs at every cold start, so it loads only what registration needs: codecs, dispatch and
the publisher load when first used (see ``_register``).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from portable_fn.events import CloudEvent

    from portable_fn_azure.publisher import AzurePublisher

__all__ = ["FALLBACK", "REGISTRARS", "azure_route", "function_app", "schedule_for"]


def function_app(app: App, options: AzureOptions | None = None) -> func.FunctionApp:
    """An ``azure.functions.FunctionApp`` with one function per handler of ``app``.

    HTTP routes default to function-key auth (``AuthLevel.FUNCTION``); a route declared
    ``auth="anonymous"`` is anonymous. Installs the Azure publisher on ``app`` unless the app
    already has one (tests install a recording publisher first).
    """
    opts = options or AzureOptions()
    if app.publisher is None:
        app.use_publisher(_DeferredPublisher(opts))
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


class _DeferredPublisher:
    """``AzurePublisher(options)``, made on the first ``pf.send``/``publish``/``emit``: most
    cold starts publish nothing before the first invocation, so they need not load it."""

    __slots__ = ("_lock", "_options", "_publisher")

    def __init__(self, options: AzureOptions) -> None:
        self._options = options
        self._publisher: AzurePublisher | None = None
        # One publisher, so one set of SDK clients, even when sync functions publish at once.
        self._lock = threading.Lock()

    def _get(self) -> AzurePublisher:
        publisher = self._publisher
        if publisher is None:
            with self._lock:
                if self._publisher is None:
                    from portable_fn_azure.publisher import AzurePublisher

                    self._publisher = AzurePublisher(self._options)
                publisher = self._publisher
        return publisher

    def publish(self, topic: str, event: CloudEvent) -> None:
        self._get().publish(topic, event)

    def send(self, queue: str, event: CloudEvent, *, delay: float | None = None) -> None:
        self._get().send(queue, event, delay=delay)

    def emit(self, event: CloudEvent) -> None:
        self._get().emit(event)
