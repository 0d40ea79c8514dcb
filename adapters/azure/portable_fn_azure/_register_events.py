# SPDX-License-Identifier: Apache-2.0
"""Event functions: queues and topics (Storage Queues, Service Bus), Event Grid (topics, the event
bus, blob events), blob triggers, timers and Event Hubs. Each entry builds its runner
(``_invoke_events``) on the function's first invocation, and the runner imports the codec of its
trigger: indexing function_app.py loads no codec at all.

References: https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue,
functions-bindings-service-bus, functions-bindings-event-grid, functions-bindings-storage-blob,
functions-bindings-timer, functions-bindings-event-hubs.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import azure.functions as func
from portable_fn.app import App, Function
from portable_fn.triggers import (
    SCHEDULE_RETRY,
    Event,
    Queue,
    Retry,
    Schedule,
    Storage,
    Stream,
    Topic,
)

from portable_fn_azure._register import Deferred, Runner, named, trigger_of
from portable_fn_azure.options import AzureOptions, consumer_group, subscription_name, timespan

if TYPE_CHECKING:
    from portable_fn_azure import ncrontab

__all__ = [
    "register_event", "register_queue", "register_schedule", "register_storage",
    "register_stream", "register_topic", "schedule_for",
]



def schedule_for(trigger: Schedule) -> ncrontab.Ncrontab:
    from portable_fn_azure import ncrontab

    if trigger.rate is not None:
        return ncrontab.from_rate(trigger.rate)
    return ncrontab.from_cron(trigger.expression)


def register_queue(native: func.FunctionApp, app: App, function: Function,
                    opts: AzureOptions) -> None:
    trigger = trigger_of(function, Queue)
    if opts.queues == "servicebus":
        _servicebus_entry(native, app, function, opts, trigger.name, None, sessions=trigger.fifo)
        return
    name, queue = function.name, trigger.name

    def build() -> Runner:
        from portable_fn_azure._invoke_events import queue_runner

        return queue_runner(app, name, queue, opts)

    runner = Deferred(build)

    def entry(msg: func.QueueMessage, context: func.Context) -> None:
        (runner.run or runner.load())(msg, context)

    # dataType binary, as for Service Bus below: without it the host binds the message as a
    # string through a strict UTF-8 decoder, and a body that is not UTF-8 fails binding in the
    # host on every dequeue, on to the poison queue without the function seeing it (the
    # WebJobs queue extension's StorageQueueMessageToStringConverter).
    named(native, function)(
        native.queue_trigger(arg_name="msg", queue_name=queue,
                             connection=opts.storage_connection,
                             data_type=func.DataType.BINARY)(entry)
    )


def register_topic(native: func.FunctionApp, app: App, function: Function,
                    opts: AzureOptions) -> None:
    trigger = trigger_of(function, Topic)
    if opts.topics == "eventgrid":
        _eventgrid_entry(native, app, function, None)
        return
    # One subscription per function, named after it as Service Bus allows (subscription_name).
    _servicebus_entry(native, app, function, opts, trigger.name, subscription_name(function.name))


def _servicebus_entry(native: func.FunctionApp, app: App, function: Function,
                      opts: AzureOptions, entity: str, subscription: str | None,
                      *, sessions: bool = False) -> None:
    """``sessions``: a FIFO queue is session-enabled, and Service Bus refuses a receiver without
    sessions on it (``isSessionsEnabled``, functions-bindings-service-bus-trigger#attributes)."""
    name = function.name

    def build() -> Runner:
        from portable_fn_azure._invoke_events import servicebus_runner

        return servicebus_runner(app, name, entity)

    runner = Deferred(build)

    def entry(msg: func.ServiceBusMessage, context: func.Context) -> None:
        (runner.run or runner.load())(msg, context)

    # dataType binary: otherwise the host hands the body over as UTF-8 text, replacing what is
    # not UTF-8 (Azure/azure-functions-host#3125); the codec reads the bytes by ContentType.
    if subscription is None:
        decorator = native.service_bus_queue_trigger(
            arg_name="msg", queue_name=entity, connection=opts.servicebus_connection,
            is_sessions_enabled=True if sessions else None, data_type=func.DataType.BINARY)
    else:
        decorator = native.service_bus_topic_trigger(
            arg_name="msg", topic_name=entity, subscription_name=subscription,
            connection=opts.servicebus_connection, data_type=func.DataType.BINARY)
    named(native, function)(decorator(entry))


def _eventgrid_entry(native: func.FunctionApp, app: App, function: Function,
                     bucket: str | None) -> None:
    """Event Grid events as they come; with ``bucket``, that container's blob events."""
    name = function.name

    def build() -> Runner:
        from portable_fn_azure._invoke_events import eventgrid_runner

        return eventgrid_runner(app, name, bucket)

    runner = Deferred(build)

    # ``event: str``: the worker then binds the event's JSON text through its generic binding
    # (a ``str``/``bytes`` annotation, azure_functions_worker/functions.py, azure-functions-
    # runtime functions.py ``validate_function_params``), not through the library's converter,
    # which parses the time with UTC-only formats and raises before any code of ours runs for
    # an event time with another offset (azure/functions/eventgrid.py, meta.py
    # ``_parse_datetime``). An Event Grid delivery needs no trigger metadata: the JSON is all.
    def entry(event: str, context: func.Context) -> None:
        (runner.run or runner.load())(event, context)

    named(native, function)(native.event_grid_trigger(arg_name="event")(entry))


def register_event(native: func.FunctionApp, app: App, function: Function,
                    _: AzureOptions) -> None:
    trigger_of(function, Event)
    # The type filter belongs on the Event Grid subscription; the core filters again in dispatch.
    _eventgrid_entry(native, app, function, None)


def register_storage(native: func.FunctionApp, app: App, function: Function,
                      opts: AzureOptions) -> None:
    trigger = trigger_of(function, Storage)
    if opts.storage_events == "eventgrid":
        _eventgrid_entry(native, app, function, trigger.bucket)
        return
    name = function.name

    def build() -> Runner:
        from portable_fn_azure._invoke_events import blob_runner

        return blob_runner(app, name)

    runner = Deferred(build)

    def entry(blob: func.InputStream, context: func.Context) -> None:
        (runner.run or runner.load())(blob, context)

    path = f"{trigger.bucket}/{_literal(trigger.prefix)}{{name}}{_literal(trigger.suffix)}"
    named(native, function)(
        native.blob_trigger(arg_name="blob", path=path, connection=opts.storage_connection)(entry)
    )


def _literal(text: str) -> str:
    """``text`` as literal characters of a blob trigger path, where ``{x}`` is a binding
    expression and a brace is written twice ("Blob name patterns",
    https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-blob-trigger)."""
    return text.replace("{", "{{").replace("}", "}}")


def register_schedule(native: func.FunctionApp, app: App, function: Function,
                       _: AzureOptions) -> None:
    trigger = trigger_of(function, Schedule)
    name, expression = function.name, trigger.expression

    def build() -> Runner:
        from portable_fn_azure._invoke_events import timer_runner

        return timer_runner(app, name, expression)

    runner = Deferred(build)

    def entry(timer_request: func.TimerRequest, context: func.Context) -> None:
        (runner.run or runner.load())(timer_request, context)

    decorated = native.timer_trigger(
        arg_name="timer_request", schedule=schedule_for(trigger).expression,
        run_on_startup=False, use_monitor=True)(entry)
    # A timer retries a failed run only under a retry policy of its own (Azure Functions
    # error handling and retries: timer triggers take the runtime's function-level policy,
    # https://learn.microsoft.com/azure/azure-functions/functions-bindings-error-pages#retries).
    named(native, function)(_retry_policy(native, SCHEDULE_RETRY)(decorated))


def register_stream(native: func.FunctionApp, app: App, function: Function,
                     opts: AzureOptions) -> None:
    trigger = trigger_of(function, Stream)
    name, hub, retry = function.name, trigger.name, trigger.retry

    def build() -> Runner:
        from portable_fn_azure._invoke_events import eventhub_runner

        return eventhub_runner(app, name, hub)

    runner = Deferred(build)

    def entry(events: list[func.EventHubEvent], context: func.Context) -> None:
        (runner.run or runner.load())(events, context)

    # dataType binary: without it the host binds a batch through Json.NET and fails all of it
    # when one event is not JSON (Azure/azure-webjobs-sdk#1830); bytes keep every event as sent.
    decorated = native.event_hub_message_trigger(
        arg_name="events", event_hub_name=hub, connection=opts.eventhub_connection,
        cardinality="many", consumer_group=consumer_group(app, name),
        data_type=func.DataType.BINARY)(entry)
    named(native, function)(_retry_policy(native, retry)(decorated))


def _retry_policy(native: func.FunctionApp, retry: Retry) -> Any:
    """The runtime's exponential retry policy for ``retry`` (``@app.retry``)."""
    return native.retry(
        strategy="exponential_backoff", max_retry_count=str(retry.max_retries),
        minimum_interval=_retry_interval(retry.initial_backoff),
        maximum_interval=_retry_interval(retry.max_backoff))


# The worker reads retry intervals with time.strptime(value, "%H:%M:%S")
# (azure_functions_worker/loader.py convert_to_seconds): whole seconds under a day, or the
# whole app fails to index.
_MAX_RETRY_INTERVAL = 86399


def _retry_interval(seconds: float) -> str:
    """``hh:mm:ss`` the worker parses: rounded up (a declared wait stays a wait), at most
    23:59:59."""
    return timespan(min(_MAX_RETRY_INTERVAL, max(1, math.ceil(seconds))))
