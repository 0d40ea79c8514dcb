# SPDX-License-Identifier: Apache-2.0
"""Batches: a native batch's messages run for one function with the invocation entered once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextvars import Token
from typing import TYPE_CHECKING, Any

from portable_fn import _observe
from portable_fn._dispatch import (
    _FILTERED,
    OK,
    Outcome,
    _awaitable,
    _call,
    _failure,
    _log_error,
    _own_cancel,
    _run,
    _settled,
    _skips,
    run_sync,
)
from portable_fn._invocation import Invocation, _cold, _current
from portable_fn.errors import PortableFnError

if TYPE_CHECKING:
    from portable_fn.app import App, Function
    from portable_fn.context import Context
    from portable_fn.events import CloudEvent

__all__ = ["Batch", "dispatch_batch"]


class Batch:
    """One function run over the messages of one native batch (an SQS receive, a stream shard,
    a Storage Queue batch): ``run(event, ctx)`` is ``run_event`` with the per-invocation work
    done once for the batch.

    Use as ``with Batch(app, fn, ctx) as batch: outcome = batch.run(event, ctx)`` (``ctx`` the
    batch's own; a message may bring another, e.g. per SQS receive count). The current
    invocation is set once; each message only swaps its event and context on it, so log lines
    and ``pf.publish`` see each message as its own (and lines the adapter writes after a
    message, about its redelivery, still name it). That is most of what a batch of small
    messages costs: building and entering an invocation per message doubled it. Async handlers
    get an invocation of their own per message, as tasks they start may outlive the message.
    A thread a sync handler starts with a copy of its context shares the batch's invocation:
    what it logs after the handler returns names the message running then.
    """

    __slots__ = ("_call", "_cold", "_filtered", "_invocation", "_plain", "_token", "app", "fn")

    def __init__(self, app: App, fn: Function, ctx: Context) -> None:
        self.app = app
        self.fn = fn
        self._filtered = isinstance(fn.trigger, _FILTERED)
        self._cold = _cold()
        self._invocation = Invocation(app, fn, ctx, None, self._cold)
        self._token: Token[Invocation | None] | None = None
        self._call = fn.call
        self._plain = False

    def __enter__(self) -> Batch:
        self._token = _current.set(self._invocation)
        # The common case, decided once for the batch: a sync handler, no trigger filter and
        # nothing observing (metrics or OpenTelemetry configured while the batch runs apply
        # from the next batch on).
        self._plain = not self._filtered and not self.fn.is_async and _observe.idle()
        return self

    def __exit__(self, *_: object) -> None:
        self._plain = False
        if self._token is not None:
            _current.reset(self._token)
            self._token = None

    def run(self, event: CloudEvent, ctx: Context) -> Outcome:
        """Run the function on one message of the batch; always returns an ``Outcome``."""
        invocation = self._invocation
        if self._plain:
            invocation.event = event
            invocation.ctx = ctx
            invocation._trace = None
            try:
                result = self._call(event, ctx)
                if result is not None and _awaitable(result):
                    run_sync(_settled(result))  # a plain def that returned a coroutine
            except Exception as exc:
                return self._failed(ctx, exc)  # not kept in a local: see _dispatch._call
            except BaseException as exc:  # the handler's own CancelledError, or raised again
                return self._failed(ctx, _own_cancel(exc))
            invocation.cold_start = self._cold = False
            return OK
        fn = self.fn
        if self._filtered and _skips(fn, event, ctx):
            return OK
        cold = self._cold  # taken from the process when the batch began: hand it on once
        self._cold = False
        if fn.is_async or self._token is None:
            return _run(self.app, fn, event, ctx, cold)
        invocation.event = event
        invocation.ctx = ctx
        invocation._trace = None
        invocation.cold_start = cold
        return _call(invocation, fn, event, ctx)

    def _failed(self, ctx: Context, exc: Exception) -> Outcome:
        outcome = _failure(ctx, exc)
        self._invocation.cold_start = self._cold = False
        return outcome

    def undecodable(
        self,
        ctx: Context,
        error: BaseException,
        message: str = "could not decode message",
        **where: Any,
    ) -> Outcome:
        """Log a message that could not be decoded and fail it for good: the same bytes will
        not decode on a retry either. There is no event to name it, so ``where`` does (the
        provider's message id, a stream's sequence number): the line is how a bad message in
        a batch of thousands is found."""
        invocation = self._invocation
        invocation.event = None
        invocation.ctx = ctx
        invocation._trace = None
        _log_error(ctx, message, error, **where)
        # The batch's first message is the cold start, decodable or not: not the next one too.
        invocation.cold_start = self._cold = False
        return Outcome(False, error, False)


def dispatch_batch(
    app: App,
    function: str,
    items: Sequence[Callable[[], CloudEvent]],
    ctx_for: Callable[[int], Context],
    *,
    stop_at_failure: bool = False,
) -> list[Outcome]:
    """Run a batch: one decode thunk per native record, one outcome per record, in order.

    A record that cannot be decoded fails alone (not retryable: the same bytes will not decode
    next time either); the others run. With ``stop_at_failure`` (an ordered stream, whose later
    records must wait for a failed one's redelivery) the batch ends at the first record that
    fails retryably, and the outcomes cover the records run.
    """
    try:
        fn = app.function(function)
    except PortableFnError as exc:
        return [Outcome(False, exc, False) for _ in items]
    outcomes: list[Outcome] = []
    append = outcomes.append
    if not items:
        return outcomes
    with Batch(app, fn, ctx_for(0)) as batch:
        for index, item in enumerate(items):
            try:
                event = item()
            except PortableFnError as exc:
                append(batch.undecodable(ctx_for(index), exc))
                continue
            outcome = batch.run(event, ctx_for(index))
            append(outcome)
            if stop_at_failure and outcome.retryable and not outcome.ok:
                break
    return outcomes
