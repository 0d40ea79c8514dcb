"""``portable_fn._local.pool``: the threads sync handlers run on, in-process."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Any

from portable_fn._local.clock import Clock, within
from portable_fn._local.pool import Pool


async def _occupy(pool: Pool, freed: threading.Event) -> asyncio.Future[Any]:
    """A call that holds a thread of ``pool`` until ``freed``, once it runs."""
    running = threading.Event()

    def hold() -> None:
        running.set()
        freed.wait(30)

    held = asyncio.ensure_future(pool.run(hold))
    await asyncio.to_thread(running.wait, 30)
    return held


def test_a_call_given_up_before_a_thread_took_it_never_runs() -> None:
    pool = Pool(1, "test-pool")
    freed = threading.Event()
    ran: list[str] = []

    async def scenario() -> bool:
        busy = await _occupy(pool, freed)  # the only thread
        clock = Clock(0.2)
        with contextlib.suppress(asyncio.TimeoutError):
            await within(pool.run(lambda: ran.append("late"), clock), clock)
        freed.set()
        await busy
        await pool.run(lambda: ran.append("next"))  # the thread is free again
        return clock.started

    try:
        started = asyncio.run(scenario())
    finally:
        freed.set()
        pool.close()
    assert started is False and ran == ["next"]


def test_a_handler_running_for_nobody_gets_a_stand_in_until_it_ends() -> None:
    """Python cannot stop a thread: a sync handler past its timeout runs on. The pool adds a
    thread in its place, so the next call starts at once, and drops it once the handler ends."""
    pool = Pool(1, "test-pool")
    freed = threading.Event()
    began: list[bool] = []

    async def scenario() -> None:
        clock = Clock(0.2)
        try:
            await within(pool.run(lambda: freed.wait(30), clock), clock)
        except asyncio.TimeoutError:
            began.append(clock.started)
        # The stuck call still holds the pool's one thread; this one runs on its stand-in.
        second = Clock(5.0)
        assert await within(pool.run(lambda: "second", second), second) == "second"
        began.append(second.started)

    try:
        asyncio.run(scenario())
        assert began == [True, True] and pool.busy == 1 and pool._limit == 2
        freed.set()
        deadline = time.monotonic() + 10
        while pool.busy or pool._limit != 1:
            assert time.monotonic() < deadline, "the stuck call never ended"
            time.sleep(0.01)
    finally:
        freed.set()
        pool.close()


def test_a_sync_handlers_deadline_is_counted_from_when_a_thread_takes_it() -> None:
    pool = Pool(1, "test-pool")
    freed = threading.Event()
    seen: list[float | None] = []

    async def scenario() -> None:
        busy = await _occupy(pool, freed)
        clock = Clock(5.0)
        queued_at = time.time()
        waiting = asyncio.ensure_future(
            within(pool.run(lambda: seen.append(clock.deadline), clock), clock)
        )
        await asyncio.sleep(0.5)
        freed.set()
        await busy
        await waiting
        seen.append(queued_at)

    try:
        asyncio.run(scenario())
    finally:
        freed.set()
        pool.close()
    deadline, queued_at = seen
    assert deadline is not None and deadline >= queued_at + 5.4  # waited 0.5 s, not counted
