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

import time
from typing import Any

from portable_fn.adapter import Context, dispatch_http_async
from portable_fn.app import App
from portable_fn.errors import PortableFnError
from portable_fn.http import Response
from portable_fn.log import Logger
from portable_fn.triggers import Schedule
from portable_fn_cloudflare import environment, plan, scheduled
from portable_fn_cloudflare import fetch as http_codec
from portable_fn_cloudflare.consume import PROVIDER, consume, run_event
from portable_fn_cloudflare.limits import WALL_SECONDS
from portable_fn_cloudflare.publisher import QueuePublisher, close_outbox, open_outbox

_log = Logger({"provider": "cloudflare"})


class WorkerRuntime:
    """Routing tables for one app, computed once per isolate (at entry import)."""

    def __init__(self, app: App) -> None:
        self.app = app
        consumers = plan.consumers(app)
        own = {c.function: c for c in consumers}
        # A queue of a former name (``plan.former_queues``) drains into its function; the
        # current names come last, so they win.
        self.consumers = {q: own[f] for q, f in plan.former_queues(app).items() if f in own}
        self.consumers.update((c.queue, c) for c in consumers)
        self.crons: dict[str, list[tuple[str, Schedule]]] = {}
        # The same schedules by the decorator's own spelling (``MON-FRI``, Sunday = 0), which a
        # user types to test one locally (``/__scheduled?cron=``); read only for a cron that is
        # no Cloudflare spelling of any schedule, so a deployed trigger always finds its own.
        self._spelled: dict[str, list[tuple[str, Schedule]]] = {}
        for fn in app.functions.values():
            if isinstance(fn.trigger, Schedule):
                cron, _note = scheduled.cron_for(fn.trigger)
                if cron is not None:
                    self.crons.setdefault(cron, []).append((fn.name, fn.trigger))
                    spelled = " ".join(fn.trigger.expression.split())
                    self._spelled.setdefault(spelled, []).append((fn.name, fn.trigger))
        if app.publisher is None:
            app.use_publisher(QueuePublisher(app))
        self._strings_exported = False

    def _export_strings(self, env: Any) -> None:
        # Once per isolate: vars and secrets change only with a new deployment, which starts
        # new isolates (https://developers.cloudflare.com/workers/configuration/secrets/).
        if not self._strings_exported:
            self._strings_exported = True
            try:
                environment.export_strings(env)
            except Exception as exc:  # an env of a shape not foreseen: the handler still runs
                Logger({"provider": PROVIDER}).exception(
                    "could not copy the Worker's vars into os.environ", exc=exc
                )

    # -- fetch ------------------------------------------------------------------------------

    async def fetch(self, request: Any, env: Any, ctx: Any) -> Response:
        """Answer one request with a portable Response; never raises."""
        self._export_strings(env)
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
            _log.error("publish after the handler failed", error=str(exc))
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
        self._export_strings(env)
        # The runtime stops a Cron Trigger invocation (every schedule this cron runs) 15
        # minutes after it starts (limits.WALL_SECONDS), whatever timeout was declared.
        deadline = time.time() + WALL_SECONDS
        cron, when = scheduled.read_controller(controller)
        key = " ".join(cron.split())
        targets = self.crons.get(key) or self._spelled.get(key, [])
        if not targets:
            _log.warning("no function for the cron", cron=cron)
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
                deadline=deadline,
                native=controller,
                native_context=ctx,
            )
            outcome = await run_event(self.app, name, event, context, env)
            if not outcome.ok and first_error is None:
                first_error = outcome.error
                if not outcome.retryable and hasattr(controller, "noRetry"):
                    controller.noRetry()
        if first_error is not None:
            raise first_error

    # -- queue ------------------------------------------------------------------------------

    async def queue(self, batch: Any, env: Any, ctx: Any) -> None:
        """Handle a batch; every message is settled on its own, in delivery order."""
        self._export_strings(env)
        # One consumer invocation is the whole batch: its messages share its 15 minutes.
        deadline = time.time() + WALL_SECONDS
        name = str(batch.queue)
        consumer = self.consumers.get(name)
        for message in batch.messages:
            if consumer is None:
                # Not ours (a consumer left over from an older deploy): let it retry to its DLQ.
                _log.error("no function consumes the queue", queue=name)
                message.retry()
                continue
            await consume(self.app, consumer, message, env, ctx, deadline)


def _new_id() -> str:
    # Only when a request has no cf-ray (tests, local tools): uuid4 costs ~10x more here.
    import os

    return os.urandom(16).hex()
