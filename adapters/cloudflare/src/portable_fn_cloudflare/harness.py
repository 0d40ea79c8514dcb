# SPDX-License-Identifier: Apache-2.0
"""The contract-suite harness: portable values in, Workers-native shapes through the Worker's
handler code, portable values out.

The contract suite's apps record what their handlers saw in this interpreter, so the harness
runs the Worker's handlers (``runtime.WorkerRuntime``, the code ``Default`` delegates to) in
CPython with the stand-ins of ``native`` for the runtime objects. The same handlers under real
Pyodide with the real ``workers`` SDK are covered by ``tests/test_pyodide.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote, urlencode

from portable_fn.app import App
from portable_fn.errors import ConfigurationError
from portable_fn.events import CloudEvent, to_dict
from portable_fn.http import Headers, Request, Response
from portable_fn.testing import harness_function, offline
from portable_fn.triggers import Schedule
from portable_fn_cloudflare import fetch, native, plan, scheduled
from portable_fn_cloudflare.runtime import WorkerRuntime


class CloudflareHarness:
    provider = "cloudflare"

    def _env(self, app: App) -> native.EnvStandIn:
        return native.EnvStandIn({plan.binding_name(q): q for q in plan.producer_queues(app)})

    def http(self, app: App, request: Request) -> Response:
        url = "https://worker.example.workers.dev" + quote(request.path)
        if len(request.query):
            url += "?" + urlencode(request.query.items())
        pairs = request.headers.items()
        if request.client_ip:  # Cloudflare's edge sets it, replacing any the client sent
            pairs = [p for p in pairs if p[0] != "cf-connecting-ip"]
            pairs.append(("cf-connecting-ip", request.client_ip))
        js_request = native.JsRequestStandIn(
            method=request.method,
            url=url,
            header_pairs=pairs,
            content=request.body,
        )
        with offline(app):
            result = asyncio.run(WorkerRuntime(app).fetch(js_request, self._env(app), None))
        status, headers, body = fetch.response_parts(result)
        return Response(status=status, headers=Headers(headers), body=body or b"")

    def deliver(self, app: App, function: str, events: Sequence[CloudEvent]) -> list[bool]:
        harness_function(app, function, "deliver")
        if not events:
            return []
        consumer = self._consumer(app, function)
        # As QueuePublisher sends them: structured mode, a JSON object body.
        batch = native.BatchStandIn(
            queue=consumer.queue,
            messages=[
                native.MessageStandIn(id=f"msg-{i}", body=to_dict(e)) for i, e in enumerate(events)
            ],
        )
        env = self._env(app)
        with offline(app):
            asyncio.run(WorkerRuntime(app).queue(batch, env, None))
        # A message the Worker dead-lettered itself (pf.NonRetryable, undecodable) is acked
        # too; like the other providers' harnesses, it counts as not done (False): the handler
        # failed it, and the dead-letter queue, not the function, has it now.
        dlq = consumer.dead_letter
        dead = [] if dlq is None else env.producers[plan.binding_name(dlq)].sent
        return [
            m.settled == "ack" and not any(body == m.body for body, _ in dead)
            for m in batch.messages
        ]

    def schedule(self, app: App, function: str, scheduled_time: datetime) -> None:
        trigger = harness_function(app, function, "schedule").trigger
        assert isinstance(trigger, Schedule)  # harness_function checked it
        cron, note = scheduled.cron_for(trigger)
        if cron is None:
            raise ValueError(note)
        controller = native.ControllerStandIn(
            cron=cron, scheduledTime=scheduled_time.timestamp() * 1000
        )
        with offline(app):
            asyncio.run(WorkerRuntime(app).scheduled(controller, self._env(app), None))

    def storage(
        self,
        app: App,
        function: str,
        *,
        bucket: str,
        key: str,
        size: int,
        etag: str,
        action: Literal["created", "deleted"],
    ) -> None:
        harness_function(app, function, "storage")
        consumer = self._consumer(app, function)
        obj: dict[str, object] = {"key": key}
        if action == "created":
            obj.update(size=size, eTag=etag)
        body = {
            "account": "0123456789abcdef0123456789abcdef",
            "action": "PutObject" if action == "created" else "DeleteObject",
            "bucket": bucket,
            "object": obj,
            "eventTime": "2024-05-24T19:36:44.379Z",
        }
        batch = native.BatchStandIn(
            queue=consumer.queue, messages=[native.MessageStandIn(id="r2-0", body=body)]
        )
        with offline(app):
            asyncio.run(WorkerRuntime(app).queue(batch, self._env(app), None))

    def dead_letters(self, app: App) -> dict[str, str]:
        """Each consumer's ``dead_letter_queue`` as ``wrangler.toml`` declares it (``plan``)."""
        return {c.function: c.dead_letter for c in plan.consumers(app) if c.dead_letter}

    def invoke_failure(self, app: App, function: str, result: Any) -> str | None:
        """Why ``CloudflareAdapter.invoke``'s result is a failure, else None: a ``fetch`` that
        answered 5xx; a queue message that was ``retry()``ed (redelivered,
        https://developers.cloudflare.com/queues/configuration/batching-retries/#explicit-acknowledgement-and-retries)
        or sent to the consumer's dead-letter queue (the handler failed for good)."""
        if not isinstance(result, dict):
            return None
        status = result.get("status")
        if isinstance(status, int):
            return f"HTTP {status}" if status >= 500 else None
        retried = [c.get("id") for c in result.get("calls", []) if c.get("op") == "retry"]
        if retried:
            return f"message(s) retried: {', '.join(map(str, retried))}"
        dead = {c.dead_letter for c in plan.consumers(app) if c.function == function}
        parked = [s for s in result.get("sent", []) if s.get("queue") in dead]
        if parked:
            return f"{len(parked)} message(s) sent to dead-letter queue {parked[0]['queue']!r}"
        return None

    @staticmethod
    def _consumer(app: App, function: str) -> plan.Consumer:
        for c in plan.consumers(app):
            if c.function == function:
                return c
        # A mistake in the test, as the CLI's invoke says, not a failed delivery: Workers have
        # no stream trigger, and a cron, not a queue, fires a schedule (``schedule()``).
        kind = app.function(function).trigger.kind
        if kind == "stream":
            raise ConfigurationError(f"{function}: stream triggers do not run on cloudflare")
        raise ConfigurationError(f"{function} ({kind}) consumes no queue on cloudflare")
