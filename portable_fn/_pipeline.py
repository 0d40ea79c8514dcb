# SPDX-License-Identifier: Apache-2.0
"""The call pipeline: how one registered handler is called, composed once at decoration time.

Dispatch calls ``function.call(value, ctx)`` and nothing else, so every per-function behaviour
(the ``(event)`` / ``(event, ctx)`` calling convention, validation of annotated parameters,
idempotency) is decided here, once, and costs nothing on the hot path for functions that do not
use it. Layers, outermost first::

    idempotency (needs the whole CloudEvent / Request for its key)
      -> validation (hands the handler ``event.data`` / the JSON body, converted)
        -> the handler, as ``handler(value)`` or ``handler(value, ctx)``

The idempotency and validation modules are imported only for functions that use them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from portable_fn import _validation
from portable_fn.errors import ConfigurationError
from portable_fn.triggers import Http, Schedule

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
    is_http = isinstance(trigger, Http)
    validated = _validation.wrap(call, handler, is_http=is_http, name=name)
    if validated is not None:
        call = validated
    idempotent = options.get("idempotent")
    if idempotent:
        call = _idempotent(call, trigger, idempotent, name=name, is_async=is_async)
    return call


def _idempotent(
    call: Call, trigger: Trigger, idempotent: Any, *, name: str, is_async: bool
) -> Call:
    if isinstance(trigger, Http):
        if idempotent is not True:
            raise ConfigurationError(
                "HTTP idempotency keys come from the Idempotency-Key header: pass idempotent=True",
                function=name,
            )
        from portable_fn.idempotency.http_guard import guard_http

        return guard_http(call, is_async=is_async)
    if isinstance(trigger, Schedule):
        raise ConfigurationError("a schedule cannot be idempotent=", function=name)
    if idempotent is not True and not callable(idempotent):
        raise ConfigurationError(
            f"idempotent= takes True or a function of the event, not {idempotent!r}",
            function=name,
        )
    from portable_fn.idempotency.guard import guard_event

    return guard_event(call, key_fn=None if idempotent is True else idempotent, is_async=is_async)
