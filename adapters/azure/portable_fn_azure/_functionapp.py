# SPDX-License-Identifier: Apache-2.0
"""``function_app(app)``: the portable app as an ``azure.functions.FunctionApp`` (v2 model).

One registrar per trigger type, chosen from a table: each builds a small entry function with
the signature the worker binds by name and type annotation (``req: func.HttpRequest`` ...), and
applies the library's own decorators to it, so ``get_functions()`` yields exactly the binding
metadata the host reads. Reference: https://learn.microsoft.com/azure/azure-functions/
functions-reference-python?pivots=python-mode-decorators.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import azure.functions as func
from portable_fn.adapter import Context, dispatch_batch, dispatch_http, dispatch_http_async
from portable_fn.app import App, Function
from portable_fn.errors import ConfigurationError, PortableFnError
from portable_fn.http import Response
from portable_fn.log import Logger
from portable_fn.triggers import Event, Http, Queue, Schedule, Storage, Stream, Topic

from portable_fn_azure import http as http_codec
from portable_fn_azure._invoke import context_for, run_event
from portable_fn_azure.options import AzureOptions, timespan

if TYPE_CHECKING:
    from portable_fn_azure import ncrontab

# Each registrar imports the codec of its trigger when an app has one: the generated
# function_app.py, imported at every cold start, loads only the codecs the app uses.

__all__ = ["FALLBACK", "azure_route", "function_app", "schedule_for"]

# The catch-all HTTP function: the host routes here what matches no route (or matches a route
# with another method), so 404 and 405 carry the same JSON body as on every provider.
FALLBACK = "portable_fn_fallback"
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

Registrar = Callable[[func.FunctionApp, App, Function, AzureOptions], None]


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
    if any(isinstance(f.trigger, Http) for f in app.functions.values()):
        _register_fallback(native, app)
    return native


def azure_route(path: str) -> str:
    """``/orders/{id}`` -> ``orders/{id}``; a greedy ``{rest+}`` -> the catch-all ``{*rest}``."""
    parts = []
    for segment in path.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("+}"):
            segment = "{*" + segment[1:-2] + "}"
        parts.append(segment)
    return "/".join(parts)


def schedule_for(trigger: Schedule) -> ncrontab.Ncrontab:
    from portable_fn_azure import ncrontab

    if trigger.rate is not None:
        return ncrontab.from_rate(trigger.rate)
    return ncrontab.from_cron(trigger.expression)


_T = TypeVar("_T")


def _trigger(function: Function, kind: type[_T]) -> _T:
    trigger = function.trigger
    if not isinstance(trigger, kind):  # only if REGISTRARS were miswired
        raise ConfigurationError(f"{function.name}: expected a {kind.__name__} trigger",
                                 function=function.name)
    return trigger


def _named(app: func.FunctionApp, function: Function) -> Callable[[Any], Any]:
    decorate: Callable[[Any], Any] = app.function_name(name=function.name)
    return decorate


# -- HTTP ----------------------------------------------------------------------------------


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


def _register_http(native: func.FunctionApp, app: App, function: Function, _: AzureOptions) -> None:
    trigger = _trigger(function, Http)
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
    _named(native, function)(
        native.route(route=azure_route(trigger.path), methods=list(trigger.methods),
                     auth_level=auth)(entry)
    )


def _register_fallback(native: func.FunctionApp, app: App) -> None:
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


# -- queues and topics -------------------------------------------------------------------------


def _register_queue(native: func.FunctionApp, app: App, function: Function,
                    opts: AzureOptions) -> None:
    trigger = _trigger(function, Queue)
    if opts.queues == "servicebus":
        _servicebus_entry(native, app, function, opts, trigger.name, None)
        return
    from portable_fn_azure import storage_queue

    name, queue = function.name, trigger.name

    def entry(msg: func.QueueMessage, context: func.Context) -> None:
        ctx = context_for(name, msg, context, attempt=storage_queue.attempt(msg))

        def poison(error: BaseException) -> None:
            from portable_fn_azure.publisher import move_to_poison

            move_to_poison(opts, queue, msg, error)

        run_event(app, name, lambda: storage_queue.to_event(msg, queue=queue), ctx,
                  dead_letter=poison)

    _named(native, function)(
        native.queue_trigger(arg_name="msg", queue_name=queue,
                             connection=opts.storage_connection)(entry)
    )


def _register_topic(native: func.FunctionApp, app: App, function: Function,
                    opts: AzureOptions) -> None:
    trigger = _trigger(function, Topic)
    if opts.topics == "eventgrid":
        _eventgrid_entry(native, app, function, lambda event: event)
        return
    # One subscription per function (Service Bus caps subscription names at 50 characters).
    _servicebus_entry(native, app, function, opts, trigger.name, function.name[:50])


def _servicebus_entry(native: func.FunctionApp, app: App, function: Function,
                      opts: AzureOptions, entity: str, subscription: str | None) -> None:
    from portable_fn_azure import servicebus

    name = function.name

    def entry(msg: func.ServiceBusMessage, context: func.Context) -> None:
        ctx = context_for(name, msg, context, attempt=servicebus.attempt(msg))
        run_event(app, name, lambda: servicebus.to_event(msg, entity=entity), ctx)

    if subscription is None:
        decorator = native.service_bus_queue_trigger(
            arg_name="msg", queue_name=entity, connection=opts.servicebus_connection)
    else:
        decorator = native.service_bus_topic_trigger(
            arg_name="msg", topic_name=entity, subscription_name=subscription,
            connection=opts.servicebus_connection)
    _named(native, function)(decorator(entry))


# -- Event Grid: topics routed there, the event bus, blob events ---------------------------


def _eventgrid_entry(native: func.FunctionApp, app: App, function: Function,
                     adapt: Callable[[Any], Any]) -> None:
    from portable_fn_azure import eventgrid

    name = function.name

    def entry(event: func.EventGridEvent, context: func.Context) -> None:
        ctx = context_for(name, event, context)
        run_event(app, name, lambda: adapt(eventgrid.to_event(event)), ctx)

    _named(native, function)(native.event_grid_trigger(arg_name="event")(entry))


def _register_event(native: func.FunctionApp, app: App, function: Function,
                    _: AzureOptions) -> None:
    _trigger(function, Event)
    # The type filter belongs on the Event Grid subscription; the core filters again in dispatch.
    _eventgrid_entry(native, app, function, lambda event: event)


def _register_storage(native: func.FunctionApp, app: App, function: Function,
                      opts: AzureOptions) -> None:
    trigger = _trigger(function, Storage)
    if opts.storage_events == "eventgrid":
        from portable_fn_azure import blob_events

        def for_bucket(event: Any) -> Any:
            storage_event = blob_events.to_storage_event(event)
            if storage_event is None or storage_event.data["bucket"] != trigger.bucket:
                return None  # another container or event kind: acknowledged, not run
            return storage_event

        _eventgrid_entry(native, app, function, for_bucket)
        return
    from portable_fn_azure import blob_trigger

    name = function.name

    def entry(blob: func.InputStream, context: func.Context) -> None:
        ctx = context_for(name, blob, context)
        run_event(app, name, lambda: blob_trigger.to_event(blob), ctx)

    path = f"{trigger.bucket}/{trigger.prefix}{{name}}{trigger.suffix}"
    _named(native, function)(
        native.blob_trigger(arg_name="blob", path=path, connection=opts.storage_connection)(entry)
    )


# -- schedules and streams -------------------------------------------------------------------


def _register_schedule(native: func.FunctionApp, app: App, function: Function,
                       _: AzureOptions) -> None:
    trigger = _trigger(function, Schedule)
    from portable_fn_azure import timer

    name, expression = function.name, trigger.expression

    def entry(timer_request: func.TimerRequest, context: func.Context) -> None:
        ctx = context_for(name, timer_request, context)
        run_event(app, name,
                  lambda: timer.to_event(timer_request, function=name, expression=expression),
                  ctx)

    _named(native, function)(
        native.timer_trigger(arg_name="timer_request", schedule=schedule_for(trigger).expression,
                             run_on_startup=False, use_monitor=True)(entry)
    )


def _register_stream(native: func.FunctionApp, app: App, function: Function,
                     opts: AzureOptions) -> None:
    trigger = _trigger(function, Stream)
    from portable_fn_azure import eventhub

    name, hub, retry = function.name, trigger.name, trigger.retry

    def entry(events: list[func.EventHubEvent], context: func.Context) -> None:
        # Event Hubs has no per-event settlement: a failure reruns the whole batch under the
        # function's retry policy, then the checkpoint moves on (reported by findings).
        def ctx_for(index: int) -> Context:
            return context_for(name, events[index], context)

        items = [(lambda e=e: eventhub.to_event(e, hub=hub)) for e in events]
        outcomes = dispatch_batch(app, name, items, ctx_for)
        failed = [o for o in outcomes if not o.ok and o.retryable]
        if failed:
            raise failed[0].error or PortableFnError(f"{name}: {len(failed)} events failed")

    decorated = native.event_hub_message_trigger(
        arg_name="events", event_hub_name=hub, connection=opts.eventhub_connection,
        cardinality="many", consumer_group="$Default")(entry)
    decorated = native.retry(
        strategy="exponential_backoff", max_retry_count=str(retry.max_retries),
        minimum_interval=timespan(retry.initial_backoff),
        maximum_interval=timespan(retry.max_backoff))(decorated)
    _named(native, function)(decorated)


REGISTRARS: dict[type[Any], Registrar] = {
    Http: _register_http,
    Queue: _register_queue,
    Topic: _register_topic,
    Event: _register_event,
    Storage: _register_storage,
    Schedule: _register_schedule,
    Stream: _register_stream,
}
