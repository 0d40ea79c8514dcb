# SPDX-License-Identifier: Apache-2.0
"""Event functions: queues and topics (Storage Queues, Service Bus), Event Grid (topics, the event
bus, blob events), blob triggers, timers and Event Hubs. Each registrar imports the codec of its
trigger, so the generated function_app.py loads only the codecs the app uses.

References: https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue,
functions-bindings-service-bus, functions-bindings-event-grid, functions-bindings-storage-blob,
functions-bindings-timer, functions-bindings-event-hubs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import azure.functions as func
from portable_fn.adapter import Context, dispatch_batch
from portable_fn.app import App, Function
from portable_fn.errors import PortableFnError
from portable_fn.triggers import Event, Queue, Schedule, Storage, Stream, Topic

from portable_fn_azure._invoke import context_for, run_event
from portable_fn_azure._register import named, trigger_of
from portable_fn_azure.options import AzureOptions, timespan

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

    named(native, function)(
        native.queue_trigger(arg_name="msg", queue_name=queue,
                             connection=opts.storage_connection)(entry)
    )


def register_topic(native: func.FunctionApp, app: App, function: Function,
                    opts: AzureOptions) -> None:
    trigger = trigger_of(function, Topic)
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
    named(native, function)(decorator(entry))


def _eventgrid_entry(native: func.FunctionApp, app: App, function: Function,
                     adapt: Callable[[Any], Any]) -> None:
    from portable_fn_azure import eventgrid

    name = function.name

    def entry(event: func.EventGridEvent, context: func.Context) -> None:
        ctx = context_for(name, event, context)
        run_event(app, name, lambda: adapt(eventgrid.to_event(event)), ctx)

    named(native, function)(native.event_grid_trigger(arg_name="event")(entry))


def register_event(native: func.FunctionApp, app: App, function: Function,
                    _: AzureOptions) -> None:
    trigger_of(function, Event)
    # The type filter belongs on the Event Grid subscription; the core filters again in dispatch.
    _eventgrid_entry(native, app, function, lambda event: event)


def register_storage(native: func.FunctionApp, app: App, function: Function,
                      opts: AzureOptions) -> None:
    trigger = trigger_of(function, Storage)
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
    named(native, function)(
        native.blob_trigger(arg_name="blob", path=path, connection=opts.storage_connection)(entry)
    )


def register_schedule(native: func.FunctionApp, app: App, function: Function,
                       _: AzureOptions) -> None:
    trigger = trigger_of(function, Schedule)
    from portable_fn_azure import timer

    name, expression = function.name, trigger.expression

    def entry(timer_request: func.TimerRequest, context: func.Context) -> None:
        ctx = context_for(name, timer_request, context)
        run_event(app, name,
                  lambda: timer.to_event(timer_request, function=name, expression=expression),
                  ctx)

    named(native, function)(
        native.timer_trigger(arg_name="timer_request", schedule=schedule_for(trigger).expression,
                             run_on_startup=False, use_monitor=True)(entry)
    )


def register_stream(native: func.FunctionApp, app: App, function: Function,
                     opts: AzureOptions) -> None:
    trigger = trigger_of(function, Stream)
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
    named(native, function)(decorated)
