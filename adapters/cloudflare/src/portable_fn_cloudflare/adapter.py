# SPDX-License-Identifier: Apache-2.0
"""The ``cloudflare`` adapter object (entry point group ``portable_fn.adapters``).

Samples are JSON shapes of what the runtime hands a Worker: a request, a queue batch (plain,
portable-fn CloudEvent, R2 notifications) and a cron controller. ``invoke`` runs the Worker's
own handler code (``runtime.WorkerRuntime``) on them in this interpreter, through the
stand-ins of ``native``.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from portable_fn.adapter import Finding
from portable_fn.app import App
from portable_fn.errors import ConfigurationError, PortableFnError
from portable_fn.triggers import Schedule, Stream
from portable_fn_cloudflare import plan

if TYPE_CHECKING:
    from portable_fn.testing import Harness

SAMPLES = ("fetch", "queue", "queue_cloudevent", "r2", "scheduled")


class CloudflareAdapter:
    name = "cloudflare"
    # The Python Workers runtime's own SDK, which no package carries (``package``'s import
    # check; the target leaves these lines out of the app's requirements too).
    provides = ("workers-py", "workers-runtime-sdk")

    def findings(self, app: App) -> list[Finding]:
        from portable_fn_cloudflare.findings import findings

        return findings(app)

    def package(self, app: App, app_ref: str, out_dir: Path) -> list[Finding]:
        from portable_fn_cloudflare.target import package

        return package(app, app_ref, out_dir)

    def sample_events(self) -> Mapping[str, Any]:
        folder = resources.files("portable_fn_cloudflare") / "samples"
        return {n: json.loads((folder / f"{n}.json").read_text()) for n in SAMPLES}

    def invoke(self, app: App, function: str, native_event: Any) -> Any:
        """Run a native sample shape; the native result (response, settlements)."""
        return asyncio.run(self._invoke(app, function, native_event))

    async def _invoke(self, app: App, function: str, sample: Mapping[str, Any]) -> Any:
        from portable_fn_cloudflare import fetch, native
        from portable_fn_cloudflare.runtime import WorkerRuntime

        runtime = WorkerRuntime(app)
        env = native.EnvStandIn({plan.binding_name(q): q for q in plan.producer_queues(app)})
        trigger = app.function(function).trigger
        if isinstance(trigger, Stream):
            # No sample can reach it: the Worker has no handler for it (inspect: unsupported).
            raise ConfigurationError(
                f"function {function!r} is a stream function: Workers have no stream trigger, "
                "so it does not run on Cloudflare"
            )
        if "url" in sample:
            # One Worker serves every route: the request must reach the function named, or
            # the report would be another function's.
            _check_route(app, function, sample)
            response = await runtime.fetch(native.request_from_sample(sample), env, None)
            status, headers, body = fetch.response_parts(response)
            return {
                "status": status,
                "headers": headers,
                "body_b64": base64.b64encode(body or b"").decode(),
            }
        if "cron" in sample:
            # The Worker runs whatever functions the controller's cron names: fire the named
            # function's own cron, whatever the sample's is.
            crons = [c for c, runs in runtime.crons.items() if any(n == function for n, _ in runs)]
            if not isinstance(trigger, Schedule) or not crons:
                raise ConfigurationError(
                    f"function {function!r} is not a schedule; a scheduled sample runs schedules"
                )
            controller = native.ControllerStandIn(
                cron=crons[0], scheduledTime=native.scheduled_time(sample)
            )
            await runtime.scheduled(controller, env, None)
            return {"ok": True}
        queues = [c.queue for c in plan.consumers(app) if c.function == function]
        if not queues:
            # The sample's own queue would run whichever function consumes it, reported as
            # the one named.
            raise ConfigurationError(
                f"function {function!r} consumes no queue; a queue or R2 sample runs queue "
                "consumers"
            )
        batch = native.batch_from_sample({**sample, "queue": queues[0]})
        await runtime.queue(batch, env, None)
        return {
            "calls": [
                {"id": m.id, "op": op, **opts} for m in batch.messages for op, opts in m.calls
            ],
            "sent": [
                {"queue": p.queue, "body": body}
                for p in env.producers.values()
                for body, _ in p.sent
            ],
        }

    def harness(self) -> Harness:
        from portable_fn_cloudflare.harness import CloudflareHarness

        return CloudflareHarness()


adapter = CloudflareAdapter()


def _check_route(app: App, function: str, sample: Mapping[str, Any]) -> None:
    """Refuse a fetch sample whose request the Worker would route to another function."""
    from urllib.parse import urlsplit

    method = str(sample.get("method", "GET")).upper()
    path = urlsplit(str(sample["url"])).path or "/"
    try:
        routed = app.match(method, path)[0].name
    except PortableFnError:  # no route, or not this method: the Worker's own 404/405
        routed = None
    if routed != function:
        where = f"routes to {routed!r}" if routed else "reaches no function"
        raise ConfigurationError(
            f"the sample's {method} {path} {where}, not {function!r}: give an event whose "
            "url and method reach it"
        )
