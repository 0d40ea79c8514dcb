# SPDX-License-Identifier: Apache-2.0
"""The call pipeline: how one registered handler is called, composed once at decoration time.

Dispatch calls ``function.call(value, ctx)`` and nothing else, so every per-function behaviour
(the ``(event)`` / ``(event, ctx)`` calling convention, validation of annotated parameters,
idempotency) is decided here, once, and costs nothing on the hot path for functions that do not
use it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from portable_fn.errors import ConfigurationError

if TYPE_CHECKING:
    from portable_fn.context import Context
    from portable_fn.triggers import Trigger

Call = Callable[[Any, "Context"], Any]


def base_call(handler: Callable[..., Any], takes_context: bool) -> Call:
    """``handler(value, ctx)`` or ``handler(value)``, as its signature asks."""
    if takes_context:
        return handler
    return lambda value, ctx: handler(value)


def build_call(
    handler: Callable[..., Any],
    trigger: Trigger,
    *,
    name: str,
    is_async: bool,
    takes_context: bool,
    options: Mapping[str, Any],
) -> Call:
    """Compose the call for one function from its handler and its declared options."""
    call = base_call(handler, takes_context)
    if options.get("idempotent"):
        raise ConfigurationError("idempotent=True is not available yet", function=name)
    return call
