# SPDX-License-Identifier: Apache-2.0
"""The Worker's three handlers, as plain async functions over duck-typed runtime objects.

``worker.worker_entrypoint`` binds them to a ``workers.WorkerEntrypoint`` subclass; keeping them
here (no import of the SDK) lets the generated entry stay a few lines and keeps this logic
importable anywhere. Handler shapes:
https://developers.cloudflare.com/workers/runtime-apis/handlers/fetch/,
https://developers.cloudflare.com/workers/runtime-apis/handlers/scheduled/,
https://developers.cloudflare.com/queues/configuration/javascript-apis/#consumer
"""

from __future__ import annotations

import logging
from typing import Any

from portable_fn.adapter import Context, Outcome, dispatch_event_async, dispatch_http_async
from portable_fn.app import App
from portable_fn.errors import EventDecodeError, PortableFnError
from portable_fn.events import CloudEvent
from portable_fn.http import Response
from portable_fn.triggers import Schedule
from portable_fn_cloudflare import fetch as http_codec
from portable_fn_cloudflare import plan, r2, scheduled
from portable_fn_cloudflare import queue as queue_codec
from portable_fn_cloudflare.publisher import QueuePublisher, close_outbox, open_outbox
from portable_fn_cloudflare.settle import Settlement, settle

PROVIDER = "cloudflare"
_log = logging.getLogger("portable_fn_cloudflare")


class WorkerRuntime:
    """Routing tables for one app, computed once per isolate (at entry import)."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.consumers = {c.queue: c for c in plan.consumers(app)}
        self.crons: dict[str, list[tuple[str, Schedule]]] = {}
        for fn in app.functions.values():
            if isinstance(fn.trigger, Schedule):
                cron, _note = scheduled.cron_for(fn.trigger)
                if cron is not None:
                    self.crons.setdefault(cron, []).append((fn.name, fn.trigger))
        if app.publisher is None:
            app.use_publisher(QueuePublisher(app))

    # -- fetch ------------------------------------------------------------------------------

    async def fetch(self, request: Any, env: Any, ctx: Any) -> Response:
        """Answer one request with a portable Response; never raises."""
        try:
            portable = await http_codec.read_request(request)
        except Exception:  # a body stream the runtime could not read
            _log.exception("could not read the request")
            return Response.json(
                {"error": {"status": 400, "message": "unreadable request"}}, status=400
            )
        invocation = portable.headers.get("cf-ray") or _new_id()
        context = Context(
            provider=PROVIDER,
            function_name="",
            invocation_id=invocation,
            native=request,
            native_context=ctx,
            traceparent=portable.headers.get("traceparent"),
        )
        box, token = open_outbox(env)
        try:
            response = await dispatch_http_async(self.app, portable, context)
            await box.flush()
        except PortableFnError as exc:
            _log.error("publish after the handler failed: %s", exc)
            return Response.json(
                {"error": {"status": 500, "message": "could not publish the request's events"}},
                status=500,
            )
        finally:
            close_outbox(token)
        return response

    # -- scheduled --------------------------------------------------------------------------

    async def scheduled(self, controller: Any, env: Any, ctx: Any) -> None:
        """Run every schedule whose cron fired; re-raise the first failure after all ran."""
        cron, when = scheduled.read_controller(controller)
        targets = self.crons.get(" ".join(cron.split()), [])
        if not targets:
            _log.warning("no function for cron %r", cron)
        first_error: BaseException | None = None
        for name, trigger in targets:
            event = scheduled.to_event(
                app_name=self.app.name,
                function=name,
                schedule=trigger,
                cron=cron,
                scheduled_time=when,
            )
            context = Context(
                provider=PROVIDER,
                function_name=name,
                invocation_id=event.id,
                native=controller,
                native_context=ctx,
            )
            outcome = await self._run(name, event, context, env)
            if not outcome.ok and first_error is None:
                first_error = outcome.error
                if not outcome.retryable and hasattr(controller, "noRetry"):
                    controller.noRetry()
        if first_error is not None:
            raise first_error

    # -- queue ------------------------------------------------------------------------------

    async def queue(self, batch: Any, env: Any, ctx: Any) -> None:
        """Handle a batch; every message is settled on its own, in delivery order."""
        name = str(batch.queue)
        consumer = self.consumers.get(name)
        for message in batch.messages:
            if consumer is None:
                # Not ours (a consumer left over from an older deploy): let it retry to its DLQ.
                _log.error("no function consumes queue %r", name)
                message.retry()
                continue
            await self._one(consumer, message, env, ctx)

    async def _one(self, consumer: plan.Consumer, message: Any, env: Any, ctx: Any) -> None:
        try:
            native = queue_codec.QueueMessage.read(message)
        except Exception as exc:  # a message the runtime handed over half-formed
            _log.error("unreadable message on %r: %s", consumer.queue, exc)
            message.retry()
            return
        context = Context(
            provider=PROVIDER,
            function_name=consumer.function,
            invocation_id=native.id,
            attempt=native.attempts,
            native=message,
            native_context=ctx,
        )
        try:
            event = self._decode(consumer, native)
        except PortableFnError as exc:
            outcome = Outcome(ok=False, error=exc, retryable=not isinstance(exc, EventDecodeError))
        else:
            context = Context(
                provider=PROVIDER,
                function_name=consumer.function,
                invocation_id=native.id,
                attempt=native.attempts,
                native=message,
                native_context=ctx,
                traceparent=_str_ext(event, "traceparent"),
            )
            outcome = await self._run(consumer.function, event, context, env)
        decision = settle(
            outcome,
            attempts=native.attempts,
            retry=consumer.retry,
            dead_letter=consumer.dead_letter,
        )
        await self._apply(decision, consumer, message, native, env, outcome)

    def _decode(self, consumer: plan.Consumer, native: queue_codec.QueueMessage) -> CloudEvent:
        if consumer.kind == "storage":
            # The core's dispatch applies the trigger's action/prefix/suffix filter (ack, no run).
            event = queue_codec.structured(native.body, trigger="storage")
            return event if event is not None else r2.to_event(native)
        return queue_codec.to_event(native, consumer.source_name)

    async def _run(self, function: str, event: CloudEvent, context: Context, env: Any) -> Outcome:
        box, token = open_outbox(env)
        try:
            outcome = await dispatch_event_async(self.app, function, event, context)
            if outcome.ok:
                try:
                    await box.flush()
                except PortableFnError as exc:
                    outcome = Outcome(ok=False, error=exc, retryable=True)
            return outcome
        finally:
            close_outbox(token)

    async def _apply(
        self,
        decision: Settlement,
        consumer: plan.Consumer,
        message: Any,
        native: queue_codec.QueueMessage,
        env: Any,
        outcome: Outcome,
    ) -> None:
        if decision.action == "ack":
            message.ack()
        elif decision.action == "retry":
            message.retry(delaySeconds=decision.delay_seconds)
        elif decision.action == "drop":
            _log.error(
                "dropping message %s of %r (non-retryable, no dead-letter queue): %s",
                native.id,
                consumer.queue,
                outcome.error,
            )
            message.ack()
        else:
            await self._dead_letter(consumer, message, native, env, outcome)

    async def _dead_letter(
        self,
        consumer: plan.Consumer,
        message: Any,
        native: queue_codec.QueueMessage,
        env: Any,
        outcome: Outcome,
    ) -> None:
        dlq = consumer.dead_letter or ""
        producer = getattr(env, plan.binding_name(dlq), None) if dlq else None
        try:
            if producer is None:
                raise LookupError(f"no producer binding for dead-letter queue {dlq!r}")
            await producer.send(_dead_body(native.body))
        except Exception as exc:  # keep the message: fall back to the platform's own path
            _log.error("could not dead-letter %s directly (%s); retrying instead", native.id, exc)
            message.retry()
            return
        _log.error(
            "dead-lettered message %s of %r to %r: %s",
            native.id,
            consumer.queue,
            consumer.dead_letter,
            outcome.error,
        )
        message.ack()


def _dead_body(body: Any) -> Any:
    """The body as Cloudflare would dead-letter it: unchanged (a CloudEvent stays one)."""
    return body


def _str_ext(event: CloudEvent, name: str) -> str | None:
    value = event.extensions.get(name)
    return value if isinstance(value, str) else None


def _new_id() -> str:
    import uuid  # rare (every Cloudflare request has a cf-ray): keep it off the import path

    return uuid.uuid4().hex
