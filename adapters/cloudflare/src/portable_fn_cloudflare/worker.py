# SPDX-License-Identifier: Apache-2.0
"""``worker_entrypoint(app)``: the ``workers.WorkerEntrypoint`` subclass a Python Worker exports.

Python Workers export a class named ``Default`` deriving from the SDK's ``WorkerEntrypoint``
(https://developers.cloudflare.com/workers/languages/python/how-python-workers-work/); the
runtime builds it per invocation with ``(ctx, env)`` and calls ``fetch(request)``,
``scheduled(controller, env, ctx)`` and ``queue(batch, env, ctx)``. The SDK's subclass hook
wraps ``env`` and the queue batch so bindings take Python values.

The ``workers`` module exists only inside the Workers runtime (Pyodide), so it is imported in
the function: importing this module elsewhere costs nothing and needs nothing.
"""

from __future__ import annotations

from typing import Any

from portable_fn.app import App


def worker_entrypoint(app: App) -> type[Any]:
    """A ``WorkerEntrypoint`` subclass serving every function of ``app``."""
    # The runtime-provided SDK (Pyodide only); typed where workers-runtime-sdk is installed.
    from workers import WorkerEntrypoint  # type: ignore[import-not-found,unused-ignore]

    from portable_fn_cloudflare.fetch import to_workers_response
    from portable_fn_cloudflare.runtime import WorkerRuntime

    runtime = WorkerRuntime(app)

    class Default(WorkerEntrypoint):  # type: ignore[misc,unused-ignore]  # Any without the SDK
        # Extra positional arguments: the runtime passes (controller, env, ctx) and
        # (batch, env, ctx) to these handlers; env and ctx are also on self.
        async def fetch(self, request: Any, *_rest: Any) -> Any:
            return to_workers_response(await runtime.fetch(request, self.env, self.ctx))

        async def scheduled(self, controller: Any, *_rest: Any) -> None:
            await runtime.scheduled(controller, self.env, self.ctx)

        async def queue(self, batch: Any, *_rest: Any) -> None:
            await runtime.queue(batch, self.env, self.ctx)

    Default.__qualname__ = Default.__name__ = "Default"
    return Default
