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
from portable_fn_cloudflare import plan

if TYPE_CHECKING:
    from portable_fn.testing import Harness

SAMPLES = ("fetch", "queue", "queue_cloudevent", "r2", "scheduled")


class CloudflareAdapter:
    name = "cloudflare"

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
        if "url" in sample:
            response = await runtime.fetch(native.request_from_sample(sample), env, None)
            status, headers, body = fetch.response_parts(response)
            return {
                "status": status,
                "headers": headers,
                "body_b64": base64.b64encode(body or b"").decode(),
            }
        if "cron" in sample:
            controller = native.ControllerStandIn(
                cron=str(sample["cron"]), scheduledTime=float(sample["scheduledTime"])
            )
            await runtime.scheduled(controller, env, None)
            return {"ok": True}
        queues = [c.queue for c in plan.consumers(app) if c.function == function]
        batch = native.batch_from_sample(
            {**sample, "queue": queues[0] if queues else sample["queue"]}
        )
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
