# SPDX-License-Identifier: Apache-2.0
"""Publishing from an ``async def`` HTTP handler without blocking the worker's event loop.

The Python worker awaits an async function's coroutine on its one event loop, and the Service
Bus, Storage Queue and Event Grid clients are synchronous: a ``pf.publish`` in an async handler
held the loop for its network call, so every other request the worker was serving waited
(https://learn.microsoft.com/azure/azure-functions/python-scale-performance-reference#async).
In an async handler the publisher's calls are kept here, in order, and the entry runs them in
a thread after the handler returns, before it answers (as Workers await their queue sends);
one that fails makes the answer a 500, so the client retries the request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextvars import ContextVar, Token

__all__ = ["Pending", "defer", "flush", "later", "now_or_later"]

Call = Callable[[], None]


class Pending:
    """The calls an async handler's publishes made, kept until it returns. Closed then: a task
    it started that publishes later (its context holds this) runs its call at once, as a sync
    handler's would, rather than adding it where nothing would run it."""

    __slots__ = ("calls", "open")

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.open = True


_pending: ContextVar[Pending | None] = ContextVar("portable_fn_azure_deferred", default=None)


def now_or_later(call: Call) -> None:
    """Run ``call`` (one network call of the publisher), or keep it for ``flush`` while an
    async handler runs."""
    pending = _pending.get()
    if pending is None or not pending.open:
        call()
    else:
        pending.calls.append(call)


def defer() -> tuple[Pending, Token[Pending | None]]:
    """Start keeping the publisher's calls, for the async handler about to run."""
    pending = Pending()
    return pending, _pending.set(pending)


def later(token: Token[Pending | None]) -> None:
    """Stop keeping them in this context (the handler has returned)."""
    _pending.reset(token)


async def flush(pending: Pending) -> None:
    """Close ``pending`` and run its calls in order in a thread, off the event loop; every one
    runs, and the first that failed is raised."""
    pending.open = False
    calls, pending.calls = pending.calls, []
    if calls:
        await asyncio.get_running_loop().run_in_executor(None, _run_all, calls)


def _run_all(calls: list[Call]) -> None:
    failure: Exception | None = None
    for call in calls:
        try:
            call()
        except Exception as exc:  # PublishError, or an SDK's ImportError: the first one wins
            failure = failure or exc
    if failure is not None:
        raise failure
