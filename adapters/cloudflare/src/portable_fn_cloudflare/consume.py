# SPDX-License-Identifier: Apache-2.0
"""One delivered queue message: decode, run its function, settle it (ack, retry, dead-letter).

Consumer API: https://developers.cloudflare.com/queues/configuration/javascript-apis/#consumer
(``message.ack()``, ``message.retry({delaySeconds})``); the decision itself is ``settle``'s.
A message published while a handler runs is sent before the message is acked (``Outbox``).
"""

from __future__ import annotations

from typing import Any

from portable_fn._invocation import event_logger
from portable_fn.adapter import Context, Outcome, dispatch_event_async
from portable_fn.app import App
from portable_fn.errors import EventDecodeError, PortableFnError
from portable_fn.events import CloudEvent
from portable_fn.log import Logger
from portable_fn_cloudflare import plan, r2
from portable_fn_cloudflare import queue as queue_codec
from portable_fn_cloudflare.publisher import close_outbox, open_outbox
from portable_fn_cloudflare.settle import Settlement, settle

PROVIDER = "cloudflare"
# The adapter's own lines are structured like every other (not stdlib logging, which would
# also cost its import on every cold start).
_log = Logger({"provider": PROVIDER})


async def run_event(
    app: App, function: str, event: CloudEvent, context: Context, env: Any
) -> Outcome:
    """Dispatch one event; a failed publish from the handler fails it (retryable)."""
    box, token = open_outbox(env)
    try:
        outcome = await dispatch_event_async(app, function, event, context)
        if not outcome.ok:
            box.discard()
            return outcome
        try:
            await box.flush()
        except PortableFnError as exc:
            # The handler's own failures are logged by the dispatch; this one happens after it,
            # and the retry that follows must not be silent (docs/event-mapping.md rule 6).
            _log.error(
                "could not send the events the handler published; failing the event",
                function=function,
                event_id=event.id,
                invocation_id=context.invocation_id,  # the queue message id, on a queue
                error=str(exc),
            )
            return Outcome(ok=False, error=exc, retryable=True)
        return outcome
    finally:
        close_outbox(token)


async def consume(
    app: App,
    consumer: plan.Consumer,
    message: Any,
    env: Any,
    ctx: Any,
    deadline: float | None = None,
) -> None:
    """Handle and settle one message of a batch; never raises, never leaves it unsettled.
    ``deadline``: when the runtime stops the batch's invocation (``ctx.deadline``)."""
    try:
        native = queue_codec.QueueMessage.read(message)
    except Exception as exc:  # a message the runtime handed over half-formed
        _log.error(
            "unreadable message", queue=consumer.queue, message_id=_id_of(message), error=str(exc)
        )
        message.retry()
        return
    # The lines about settling a failed message: the function and message, and the event's own
    # ids once it is read (as the handler's lines had them), so a search on any finds them all.
    # Made for a failure only: an acknowledged message writes no line.
    log = _log
    try:
        event = _decode(consumer, native)
    except PortableFnError as exc:
        outcome = Outcome(ok=False, error=exc, retryable=not isinstance(exc, EventDecodeError))
        log = _message_log(consumer, native)
    except Exception as exc:  # RecursionError, OverflowError...: still about this one body
        # The same bytes fail the same way next time (docs/event-mapping.md rule 6): dead-letter
        # this one message; an exception escaping here would leave the rest of the batch unsettled.
        error = EventDecodeError(
            f"cannot decode the message body: {type(exc).__name__}: {exc}",
            provider=PROVIDER,
            trigger=consumer.kind,
        )
        outcome = Outcome(ok=False, error=error, retryable=False)
        log = _message_log(consumer, native)
    else:
        traceparent = event.extensions.get("traceparent")
        context = Context(
            provider=PROVIDER,
            function_name=consumer.function,
            invocation_id=native.id,
            attempt=native.attempts,
            deadline=deadline,
            native=message,
            native_context=ctx,
            traceparent=traceparent if isinstance(traceparent, str) else None,
        )
        outcome = await run_event(app, consumer.function, event, context, env)
        if not outcome.ok:
            log = event_logger(app, app.function(consumer.function), event, context)
    decision = settle(
        outcome, attempts=native.attempts, retry=consumer.retry, dead_letter=consumer.dead_letter
    )
    await _apply(decision, consumer, message, native, env, outcome, log)


def _message_log(consumer: plan.Consumer, native: queue_codec.QueueMessage) -> Logger:
    """The logger for a message no event was read from: its function and id."""
    return Logger({"function": consumer.function, "provider": PROVIDER, "invocation_id": native.id})


def _decode(consumer: plan.Consumer, native: queue_codec.QueueMessage) -> CloudEvent:
    if native.unreadable is not None:
        raise EventDecodeError(
            f"cannot read the message body: {native.unreadable}",
            provider=PROVIDER,
            trigger=consumer.kind,
            field="body",
        )
    if consumer.kind == "storage":
        # The core's dispatch applies the trigger's action/prefix/suffix filter (ack, no run).
        event = queue_codec.structured(native.body, trigger="storage")
        return event if event is not None else r2.to_event(native)
    return queue_codec.to_event(native, consumer.source_name)


async def _apply(
    decision: Settlement,
    consumer: plan.Consumer,
    message: Any,
    native: queue_codec.QueueMessage,
    env: Any,
    outcome: Outcome,
    log: Logger,
) -> None:
    if decision.action == "ack":
        message.ack()
    elif decision.action == "retry":
        message.retry(delaySeconds=decision.delay_seconds)
    elif decision.action == "drop":
        log.error(
            "dropping message (non-retryable, no dead-letter queue)",
            message_id=native.id,
            queue=consumer.queue,
            error=str(outcome.error),
        )
        message.ack()
    else:
        await _dead_letter(consumer, message, native, env, outcome, log)


async def _dead_letter(
    consumer: plan.Consumer,
    message: Any,
    native: queue_codec.QueueMessage,
    env: Any,
    outcome: Outcome,
    log: Logger,
) -> None:
    """Send the body, unchanged (a CloudEvent stays one, bytes stay bytes), to the DLQ
    ourselves, then ack."""
    dlq = consumer.dead_letter or ""
    producer = getattr(env, plan.binding_name(dlq), None) if dlq else None
    try:
        if producer is None:
            raise LookupError(f"no producer binding for dead-letter queue {dlq!r}")
        await _send_original(producer, message, native)
    except Exception as exc:  # keep the message: fall back to the platform's own path
        log.error(
            "could not dead-letter the message directly; retrying instead",
            message_id=native.id,
            error=str(exc),
        )
        message.retry()
        return
    log.error(
        "dead-lettered message",
        message_id=native.id,
        queue=consumer.queue,
        dead_letter_queue=dlq,
        error=str(outcome.error),
    )
    message.ack()


async def _send_original(producer: Any, message: Any, native: queue_codec.QueueMessage) -> None:
    """Send the body on unchanged: the read body with the ``contentType`` that keeps it, or,
    for one that could not be converted to Python, the runtime's own JS value as ``v8``
    (structured clone keeps a cycle or a deep nesting as it was)."""
    if native.unreadable is None:
        await producer.send(native.body, contentType=queue_codec.content_type_for(native.body))
        return
    # The SDK's wrappers (``_BindingWrapper``, workers-runtime-sdk ``workers/rpc.py``) would
    # walk the value recursively again, on reading ``message.body`` and in ``send``'s argument
    # check; their ``_binding`` is the JS object itself, which takes the JS value as it is.
    js_body = getattr(message, "_binding", message).body
    await getattr(producer, "_binding", producer).send(js_body, contentType="v8")


def _id_of(message: Any) -> str | None:
    """The message's id for the log line of one that could not be read: what finds it in the
    queue's metrics and dead-letter queue, if even that can be read."""
    try:
        return str(message.id)
    except Exception:
        return None
