# SPDX-License-Identifier: Apache-2.0
"""Event functions' runners, one per native shape: decode with the trigger's codec, dispatch.

Loaded on the first invocation of an event function (``_register_events`` registers the
entries); each runner imports its own codec, so a process only loads the codecs of the functions
it has run (one Function App process serves every function of the app).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from portable_fn.adapter import Context, dispatch_batch
from portable_fn.errors import EventDecodeError, PortableFnError
from portable_fn.log import Logger

from portable_fn_azure._invoke import context_for, run_event, timeout_of

if TYPE_CHECKING:
    import azure.functions as func
    from portable_fn.app import App
    from portable_fn.events import CloudEvent

    from portable_fn_azure.options import AzureOptions

__all__ = [
    "blob_runner", "eventgrid_runner", "eventhub_runner", "queue_runner", "servicebus_runner",
    "timer_runner",
]


def queue_runner(
    app: App, name: str, queue: str, opts: AzureOptions
) -> Callable[[func.QueueMessage, Any], None]:
    from portable_fn_azure import storage_queue

    timeout = timeout_of(app)
    poison_clients: dict[str, Any] = {}  # the poison queue's client, built on first need

    def run(msg: func.QueueMessage, context: Any) -> None:
        ctx = context_for(name, msg, context, deadline=time.time() + timeout,
                          attempt=storage_queue.attempt(msg))

        def poison(error: BaseException) -> None:
            from portable_fn_azure.publisher import move_to_poison

            move_to_poison(opts, queue, msg, error, clients=poison_clients)

        run_event(app, name, lambda: storage_queue.to_event(msg, queue=queue), ctx,
                  dead_letter=poison)

    return run


def servicebus_runner(
    app: App, name: str, entity: str
) -> Callable[[func.ServiceBusMessage, Any], None]:
    from portable_fn_azure import servicebus

    timeout = timeout_of(app)

    def run(msg: func.ServiceBusMessage, context: Any) -> None:
        ctx = context_for(name, msg, context, deadline=time.time() + timeout,
                          attempt=servicebus.attempt(msg))
        run_event(app, name, lambda: servicebus.to_event(msg, entity=entity), ctx)

    return run


def eventgrid_runner(
    app: App, name: str, bucket: str | None = None
) -> Callable[[str | func.EventGridEvent, Any], None]:
    """Events as they come; with ``bucket``, blob events of that container as storage events."""
    from portable_fn_azure import eventgrid

    adapt: Callable[[CloudEvent, Context], CloudEvent | None] = _identity
    if bucket is not None:
        from portable_fn_azure import blob_events

        def for_bucket(event: CloudEvent, ctx: Context) -> CloudEvent | None:
            # One subscription may deliver a whole storage account's blob events (a subject
            # filter is the user's to set): those of another container or kind are
            # acknowledged, not run, and logged so that a missing event can be traced.
            storage_event = blob_events.to_storage_event(event)
            reason = (blob_events.not_an_object_event(event) if storage_event is None
                      else None if storage_event.data["bucket"] == bucket
                      else f"container {storage_event.data['bucket']} is not {bucket}")
            if reason is not None:
                _not_run(ctx, event, reason)
                return None
            return storage_event

        adapt = for_bucket

    timeout = timeout_of(app)

    def run(event: str | func.EventGridEvent, context: Any) -> None:
        ctx = context_for(name, event, context, deadline=time.time() + timeout)
        run_event(app, name, lambda: adapt(eventgrid.to_event(event), ctx), ctx)

    return run


def _identity(event: CloudEvent, _: Context) -> CloudEvent:
    return event


def _not_run(ctx: Context, event: CloudEvent, reason: str) -> None:
    """The INFO line for a delivery acknowledged without running the handler, worded as the
    core's for an event its trigger's filter declines (``_dispatch._log_skip``) and the GCP
    adapter's for a declined delivery."""
    ctx.logger.info("delivery not for this function: acknowledged, not run",
                    event_id=event.id, event_type=event.type, reason=reason)


def blob_runner(app: App, name: str) -> Callable[[func.InputStream, Any], None]:
    from portable_fn_azure import blob_trigger

    timeout = timeout_of(app)

    def run(blob: func.InputStream, context: Any) -> None:
        ctx = context_for(name, blob, context, deadline=time.time() + timeout)
        run_event(app, name, lambda: blob_trigger.to_event(blob), ctx)

    return run


def timer_runner(
    app: App, name: str, expression: str
) -> Callable[[func.TimerRequest, Any], None]:
    from portable_fn_azure import timer

    timeout = timeout_of(app)

    def run(timer_request: func.TimerRequest, context: Any) -> None:
        # The timer's retry policy (portable_fn.triggers.SCHEDULE_RETRY) reruns a failed run; the
        # worker says which run this is, as for Event Hubs.
        ctx = context_for(name, timer_request, context, deadline=time.time() + timeout,
                          attempt=_retry_attempt(context))
        run_event(app, name,
                  lambda: timer.to_event(timer_request, function=name, expression=expression,
                                         attempt=ctx.attempt),
                  ctx)

    return run


def eventhub_runner(
    app: App, name: str, hub: str
) -> Callable[[list[func.EventHubEvent], Any], None]:
    from portable_fn.triggers import Stream

    from portable_fn_azure import eventhub

    fn = app.function(name)
    retry = fn.trigger.retry if isinstance(fn.trigger, Stream) else None
    max_attempts = 1 if retry is None else retry.max_attempts
    timeout = timeout_of(app)

    def run(events: list[func.EventHubEvent] | func.EventHubEvent, context: Any) -> None:
        if not isinstance(events, list):
            # A cardinality-one invocation (the single-event shape of the trigger's docs, fed
            # to ``portable-fn invoke``): the library passes the event itself.
            events = [events]
        # A batch is one partition's events in order, and Event Hubs has no per-event
        # settlement: a failure reruns the whole batch under the function's retry policy
        # (functions-bindings-error-pages#retries), then the checkpoint moves past it whatever
        # happened (functions-reliable-event-processing). So the events after a failing one wait
        # for the rerun rather than run before it, as Lambda resumes a shard at the failed
        # sequence number; on the last run every event runs, and those given up are logged.
        # Which run this is the worker says in retry_context.retry_count (0 on the first).
        attempt = _retry_attempt(context)
        last = attempt >= max_attempts
        deadline = time.time() + timeout  # the batch is one invocation: one deadline

        def ctx_for(index: int) -> Context:
            return context_for(name, events[index], context, deadline=deadline,
                               attempt=attempt)

        try:  # read once per batch: the library decodes it whole per event
            meta = eventhub.batch_metadata(events[0]) if events else None
        except PortableFnError:
            meta = None

        decoded: dict[int, CloudEvent] = {}  # by index, to name the events given up

        def decode(index: int) -> CloudEvent:
            try:
                if meta is None:  # unreadable metadata fails each event typed, not the batch
                    event = eventhub.to_event(events[index], hub=hub)
                else:
                    event = eventhub.to_event(
                        events[index], hub=hub, partition=meta.partition,
                        properties=meta.properties_of(index), system=meta.system_of(index))
            except EventDecodeError as exc:
                raise eventhub.located(
                    exc, events[index], meta.partition if meta else "unknown",
                    meta.system_of(index) if meta else {}) from exc
            decoded[index] = event
            return event

        items = [partial(decode, index) for index in range(len(events))]
        outcomes = dispatch_batch(app, name, items, ctx_for, stop_at_failure=not last)
        failed = [(i, o) for i, o in enumerate(outcomes) if not o.ok and o.retryable]
        if not failed:
            return
        if last:
            given_up = [decoded[i] for i, _ in failed]
            Logger({"function": name, "invocation_id": ctx_for(0).invocation_id}).log(
                "ERROR",
                f"{len(given_up)} event(s) still failing after {attempt} attempt(s): the "
                "Event Hubs checkpoint moves past them (no dead-letter queue); replay them "
                "from the partition while the hub retains them",
                given_up=[e.id for e in given_up],
                sequences=[e.extensions.get("sequence") for e in given_up],
                partition=None if meta is None else meta.partition,
                attempts=attempt, hub=hub,
            )
        raise failed[0][1].error or PortableFnError(f"{name}: {len(failed)} events failed")

    return run


def _retry_attempt(context: Any) -> int:
    """1 + ``context.retry_context.retry_count``, the run of a function with a retry policy
    (https://learn.microsoft.com/azure/azure-functions/functions-reference-python#context)."""
    count = getattr(getattr(context, "retry_context", None), "retry_count", None)
    return count + 1 if isinstance(count, int) and not isinstance(count, bool) and count > 0 else 1
