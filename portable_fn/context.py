# SPDX-License-Identifier: Apache-2.0
"""``Context``: what a handler may know about its invocation, the same on every provider."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, TypeVar

from portable_fn._value import Value, setters
from portable_fn.log import Logger

if TYPE_CHECKING:
    from portable_fn.events import CloudEvent
    from portable_fn.http import Request

__all__ = ["Context", "context_view"]


class Context(Value):
    """One invocation. ``attempt`` counts deliveries of this message (1 = first);
    ``deadline`` is the epoch second the provider stops the invocation; ``native`` and
    ``native_context`` are the provider's raw event and context, an escape hatch."""

    provider: str
    function_name: str
    invocation_id: str
    attempt: int = 1
    deadline: float | None = None
    native: Any = None
    native_context: Any = None
    traceparent: str | None = None

    def __init__(
        self,
        *,
        provider: str,
        function_name: str,
        invocation_id: str,
        attempt: int = 1,
        deadline: float | None = None,
        native: Any = None,
        native_context: Any = None,
        traceparent: str | None = None,
    ) -> None:
        # Written out: one context per invocation, on the hot path.
        _Context_provider(self, provider)
        _Context_function_name(self, function_name)
        _Context_invocation_id(self, invocation_id)
        _Context_attempt(self, attempt)
        _Context_deadline(self, deadline)
        _Context_native(self, native)
        _Context_native_context(self, native_context)
        _Context_traceparent(self, traceparent)

    @property
    def remaining_time(self) -> float | None:
        """Seconds left before the provider's timeout, or None where there is none."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - time.time())

    @property
    def trace_id(self) -> str | None:
        """The W3C trace id of this invocation: inside a dispatch, the one worked out from the
        incoming request or event (or started there); else that of ``traceparent``."""
        from portable_fn._invocation import current

        invocation = current()
        if invocation is not None and invocation.ctx is self:
            return invocation.trace_id
        from portable_fn._trace import trace_id

        return trace_id(self.traceparent)

    @property
    def request(self) -> Request | None:
        """The HTTP request this invocation serves (None for an event, or outside a dispatch):
        how a handler whose first parameter is a validated model reads the path parameters,
        query and headers its body came with."""
        from portable_fn._invocation import current

        invocation = current()
        if invocation is not None and invocation.ctx is self:
            return invocation.request
        return None

    @property
    def event(self) -> CloudEvent | None:
        """The CloudEvent this invocation handles (None for an HTTP request, or outside a
        dispatch): how a handler whose first parameter is a validated model reads the event's
        ``id``, ``source`` and extensions (``partitionkey``, ``sequence``, ``correlationid``)."""
        from portable_fn._invocation import current

        invocation = current()
        if invocation is not None and invocation.ctx is self:
            return invocation.event
        return None

    @property
    def logger(self) -> Logger:
        """A JSON-lines logger bound to this invocation (and its event, inside a dispatch)."""
        from portable_fn._invocation import invocation_logger

        return invocation_logger(self)


(
    _Context_provider,
    _Context_function_name,
    _Context_invocation_id,
    _Context_attempt,
    _Context_deadline,
    _Context_native,
    _Context_native_context,
    _Context_traceparent,
) = setters(Context)


_C = TypeVar("_C", bound=Context)
_new = object.__new__


def context_view(
    cls: type[_C],
    function_name: str,
    attempt: int,
    deadline: float | None,
    native: Any,
    native_context: Any,
) -> _C:
    """An adapter's ``Context`` view (``class X(Context, view=True)``, whose class serves the
    provider, the invocation id and the trace from the native context) with the fields that
    vary per invocation set, unchecked: built once per invocation, on the hot path."""
    ctx = _new(cls)
    _Context_function_name(ctx, function_name)
    _Context_attempt(ctx, attempt)
    _Context_deadline(ctx, deadline)
    _Context_native(ctx, native)
    _Context_native_context(ctx, native_context)
    return ctx

