# SPDX-License-Identifier: Apache-2.0
"""One invocation's plumbing shared by every generated function: the portable ``Context`` from
the worker's ``func.Context``, and the failure rule.

Azure delivers one message per invocation for queues, topics and Event Grid, so failure is the
invocation's: an exception makes the host retry (Storage Queue: visible again after
``visibilityTimeout``, up to ``maxDequeueCount``, then ``<queue>-poison``; Service Bus: up to the
entity's ``maxDeliveryCount``, then the dead-letter subqueue; Event Grid: its retry schedule).
A message that can never succeed (``EventDecodeError``, ``pf.NonRetryable``) goes straight to the
poison queue where the adapter can put it there itself (Storage Queues); elsewhere it is raised
like any failure, which burns the remaining retries (Service Bus settlement from Python needs the
SDK-type bindings, still in preview).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from portable_fn._invocation import current_log_fields
from portable_fn._trace import normalized
from portable_fn.adapter import Context, Outcome, dispatch_event
from portable_fn.app import App
from portable_fn.context import context_view
from portable_fn.errors import PortableFnError
from portable_fn.events import CloudEvent
from portable_fn.log import Logger

__all__ = ["context_for", "run_event", "timeout_of"]


def timeout_of(app: App) -> float:
    """Seconds the host lets any of ``app``'s invocations run: the host.json ``functionTimeout``
    the target writes, app-wide (``limits.function_timeout``). Worked out once per runner, when
    a function first runs; each invocation then adds it to its start."""
    from portable_fn_azure.limits import function_timeout

    return float(function_timeout(app))


def http_timeout_of(app: App) -> float:
    """``timeout_of`` for an HTTP function, at most 230 s: whatever ``functionTimeout`` says,
    the caller has stopped waiting by then (the Azure Load Balancer's idle timeout,
    https://learn.microsoft.com/azure/azure-functions/functions-scale#timeout), so work past it
    answers no one. ``ctx.deadline`` is when the platform stops, or stops waiting for, the
    invocation, as on GCP."""
    from portable_fn_azure.limits import HTTP_ANSWER_MAX

    return min(timeout_of(app), float(HTTP_ANSWER_MAX))


class AzureInvocation(Context, view=True):
    """The portable ``Context`` of one invocation, read from the worker's context object.

    Built per invocation (per message of a batch), so only what varies is set; the invocation
    id and the W3C trace the host hands over (``context.trace_context.trace_parent``) are read
    when asked. https://learn.microsoft.com/azure/azure-functions/functions-reference-python#context
    """

    provider = "azure"

    @property  # type: ignore[misc]
    def invocation_id(self) -> str:
        return str(getattr(self.native_context, "invocation_id", "") or "local")

    @property  # type: ignore[misc]
    def traceparent(self) -> str | None:
        trace = getattr(self.native_context, "trace_context", None)
        value = getattr(trace, "trace_parent", None) or getattr(trace, "Traceparent", None)
        return value if isinstance(value, str) and value else None


def context_for(
    function: str, native: Any, native_context: Any, *, deadline: float, attempt: int = 1
) -> Context:
    """``deadline``: the invocation's start (``time.time()``) plus ``timeout_of(app)``; the
    worker's context carries no deadline of its own."""
    return context_view(AzureInvocation, function, attempt, deadline, native, native_context)


def run_event(
    app: App,
    function: str,
    decode: Callable[[], CloudEvent | None],
    ctx: Context,
    *,
    dead_letter: Callable[[BaseException], None] | None = None,
) -> None:
    """Decode and dispatch one message; return to acknowledge it, raise to have it redelivered.

    ``decode`` returning None means "not for this function" (an Event Grid event of another
    kind): acknowledged without running the handler.
    """
    try:
        event = decode()
    except PortableFnError as exc:
        # The invocation's fields (provider, trace, correlation), as on every other line and
        # provider: a search on them found every line of a poison message but this one.
        Logger(current_log_fields(ctx)).exception(
            "message cannot be decoded (not retryable)", exc=exc
        )
        outcome = Outcome(False, exc, False)
    else:
        if event is None:
            return
        carried = event.extensions.get("traceparent")
        # Only a valid one: an invalid traceparent is no trace (W3C), and replacing the host's
        # with it started a new random trace instead of continuing the host's.
        if isinstance(carried, str) and carried != ctx.traceparent and normalized(carried):
            # The event's own trace is the causal chain to continue in what the handler sends.
            ctx = Context(
                provider=ctx.provider, function_name=ctx.function_name,
                invocation_id=ctx.invocation_id, attempt=ctx.attempt, deadline=ctx.deadline,
                native=ctx.native, native_context=ctx.native_context, traceparent=carried,
            )
        outcome = dispatch_event(app, function, event, ctx)
    if outcome.ok:
        return
    error = outcome.error or PortableFnError(f"{function} failed")
    if not outcome.retryable and dead_letter is not None:
        dead_letter(error)  # raises if the message could not be moved: then the host retries
        return
    raise error
