# SPDX-License-Identifier: Apache-2.0
"""Timeout and memory (``Limits``) on Workers: what wrangler.toml can say, and what it cannot.

Workers bound an invocation's CPU time, not its wall time, and per Worker (the whole app), not
per function (https://developers.cloudflare.com/workers/platform/limits/#cpu-time): 30 s by
default, raised to at most 300,000 ms (5 minutes) with ``[limits] cpu_ms`` on Workers Paid
(https://developers.cloudflare.com/changelog/2025-03-25-higher-cpu-limits/; Free allows 10 ms).
Wall time is bounded per trigger
(https://developers.cloudflare.com/workers/platform/limits/#wall-time-limits-by-invocation-type):
an HTTP request has no limit while its client stays connected; a Cron Trigger invocation and a
Queue consumer invocation (one batch) get 15 minutes
(https://developers.cloudflare.com/queues/platform/limits/: "Consumer duration (wall clock
time) 15 minutes"). Memory is 128 MB per isolate on every plan, with no setting
(https://developers.cloudflare.com/workers/platform/limits/#memory).
"""

from __future__ import annotations

from portable_fn.adapter import Finding
from portable_fn.app import App, Function
from portable_fn.triggers import Http, Stream

MEMORY_MB = 128
CPU_DEFAULT_SECONDS = 30
CPU_MAX_SECONDS = 300
# Cron Triggers and Queue consumers (every event trigger here runs as one or the other): the
# runtime stops the invocation this long after it starts, a true deadline for ``ctx.deadline``.
WALL_SECONDS = 900


def _running(app: App) -> list[Function]:
    # A stream function never runs on Workers (reported unsupported): its timeout asks nothing.
    return [fn for fn in app.functions.values() if not isinstance(fn.trigger, Stream)]


def cpu_ms(app: App) -> int | None:
    """``[limits] cpu_ms`` for the app, or None to write no ``[limits]`` (the default 30 s).

    CPU time never exceeds wall time, so a function allowed N seconds needs at most N seconds
    of CPU: the Worker's limit is raised to the longest declared timeout, capped at 5 minutes,
    when that is past the default. It is never lowered: a timeout declared for another
    provider would cut every function's CPU (cpu_ms is app-wide) and, written, the table keeps
    the Worker off the Free plan, which refuses a ``[limits]`` table.
    """
    declared = [fn.limits.timeout for fn in _running(app) if fn.limits.timeout is not None]
    seconds = min(max(declared, default=0), CPU_MAX_SECONDS)
    return seconds * 1000 if seconds > CPU_DEFAULT_SECONDS else None


def findings(app: App) -> list[Finding]:
    """What Workers do with each declared timeout and memory."""
    out: list[Finding] = []
    for fn in _running(app):
        timeout, memory = fn.limits.timeout, fn.limits.memory
        if memory is not None and memory > MEMORY_MB:
            out.append(Finding(
                fn.name, "warning",
                f"memory={memory} MB: every Worker isolate has {MEMORY_MB} MB whatever is "
                "declared (no setting raises it); a run that needs more is cancelled "
                "(Exceeded Memory)",
            ))
        if timeout is None:
            continue
        if timeout > CPU_MAX_SECONDS:
            out.append(Finding(
                fn.name, "warning",
                f"timeout={timeout} s: Workers allow at most 5 minutes of CPU time per "
                "invocation (cpu_ms 300000); time spent waiting on I/O is not counted",
            ))
        if not isinstance(fn.trigger, Http) and timeout > WALL_SECONDS:
            out.append(Finding(
                fn.name, "warning",
                f"timeout={timeout} s: Workers stop a Cron Trigger or Queue consumer "
                f"invocation after 15 minutes of wall time ({WALL_SECONDS} s)",
            ))
    limit = cpu_ms(app)
    if limit is not None:
        out.append(Finding(
            None, "warning",
            f"Workers bound CPU time, not wall time, and app-wide: wrangler.toml [limits] "
            f"cpu_ms = {limit} (the longest declared timeout, capped at 5 minutes) applies "
            "to every function; an HTTP request runs as long as its client stays connected. "
            "A [limits] table needs Workers Paid (the Free plan allows 10 ms of CPU)",
        ))
    return out
