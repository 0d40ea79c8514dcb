# SPDX-License-Identifier: Apache-2.0
"""async def handlers on the Worker: cancelled ones, and plain functions returning coroutines."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

import portable_fn as pf

app = pf.App("asyncs")


async def _cancelled_lookup() -> None:
    """Awaiting a task something else cancelled raises CancelledError in the awaiting handler."""
    task = asyncio.ensure_future(asyncio.sleep(10))
    await asyncio.sleep(0)
    task.cancel()
    await task


def not_async_aware(handler: Callable[[Any], Awaitable[Any]]) -> Callable[[Any], Any]:
    """A decorator whose wrapper is a plain function: it returns the handler's coroutine."""

    @functools.wraps(handler)
    def wrapper(value: Any) -> Any:
        return handler(value)

    return wrapper


@app.queue("waits")
async def waits(event: pf.CloudEvent) -> None:
    if event.data.get("mode") == "cancel":
        await _cancelled_lookup()
    await asyncio.sleep(0)
    pf.send("processed", {"done": event.data})


@app.queue("wrapped")
@not_async_aware
async def wrapped(event: pf.CloudEvent) -> None:
    await asyncio.sleep(0)
    pf.send("processed", {"wrapped": event.data})


@app.queue("processed")
def processed(event: pf.CloudEvent) -> None:
    """Declares the ``processed`` queue, so the Worker has a producer binding for it."""


@app.http("/cancelled", methods=["GET"], auth="anonymous")
async def cancelled(req: pf.Request) -> None:
    await _cancelled_lookup()


@app.http("/wrapped", methods=["GET"], auth="anonymous")
@not_async_aware
async def wrapped_http(req: pf.Request) -> dict[str, Any]:
    await asyncio.sleep(0)
    return {"wrapped": True}
