# SPDX-License-Identifier: Apache-2.0
"""The call pipeline: how one registered handler is called, composed once at decoration time.

Dispatch calls ``function.call(value, ctx)`` and nothing else, so every per-function behaviour
(the ``(event)`` / ``(event, ctx)`` calling convention, validation of annotated parameters,
idempotency) is decided here, once, and costs nothing on the hot path for functions that do not
use it. Layers, outermost first::

    idempotency (needs the whole CloudEvent / Request for its key)
      -> validation (hands the handler ``event.data`` / the JSON body, converted)
        -> the handler, as ``handler(value)`` or ``handler(value, ctx)``

The idempotency and validation modules are imported only for functions that use them: a
handler whose first parameter is unannotated or a Request/CloudEvent never loads either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

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
    first = _first_parameter(handler)
    annotation = None if first is None else _annotation(*first)
    check_first_parameter(annotation, is_http, name)
    if is_http and first is not None:
        _check_not_a_path_parameter(first[1], trigger, name)  # type: ignore[arg-type]
    if _may_name_a_model(annotation):
        from portable_fn import _validation

        validated = _validation.wrap(call, handler, is_http=is_http, name=name)
        if validated is not None:
            call = validated
    idempotent = options.get("idempotent")
    if idempotent:
        call = _idempotent(call, trigger, idempotent, name=name, is_async=is_async)
    return call


# Annotation names that never mean "validate into a model" (also read by _validation).
PLAIN = frozenset(("Request", "CloudEvent", "Any", "object", "Context"))
_UNWRAP_MAX = 100  # decorators stacked on one handler; a ``__wrapped__`` cycle stops here


def wrapped(handler: Any) -> list[Any]:
    """The callables a decorator's ``functools.wraps`` wrappers wrap, outermost first; empty
    for an undecorated handler. A wrapper
    carries the handler's annotations but its own parameters: read the handler's, as
    ``inspect.signature`` does (``__wrapped__``,
    https://docs.python.org/3/library/functools.html#functools.update_wrapper)."""
    chain: list[Any] = []
    inner = getattr(handler, "__wrapped__", None)
    while inner is not None and len(chain) < _UNWRAP_MAX:
        chain.append(inner)
        inner = getattr(getattr(inner, "__func__", inner), "__wrapped__", None)
    return chain


def _first_parameter(handler: Callable[..., Any]) -> tuple[Any, str] | None:
    """The function whose parameters the handler's are (the innermost a decorator wraps) and
    the name of its first parameter (after ``self`` for a bound method), or None."""
    target: Any = getattr(handler, "__func__", handler)
    chain = wrapped(target)
    if chain:
        target = getattr(chain[-1], "__func__", chain[-1])
    code = getattr(target, "__code__", None)
    first = 1 if hasattr(handler, "__self__") else 0
    if code is None or code.co_argcount <= first:
        return None
    return target, code.co_varnames[first]


def _annotation(target: Any, parameter: str) -> Any:
    annotations = getattr(target, "__annotations__", None)
    return annotations.get(parameter) if annotations else None


def first_annotation(handler: Callable[..., Any]) -> Any:
    """The raw annotation of the handler's first parameter (a string under postponed
    evaluation), or None."""
    first = _first_parameter(handler)
    return None if first is None else _annotation(*first)


def check_first_parameter(annotation: Any, is_http: bool, name: str) -> None:
    """Refuse a first parameter annotated with a class it will not get: the handler gets the
    ``Request`` / ``CloudEvent`` (or, for a model annotation, the body / data converted), so
    ``def get(order_id: str)`` (path parameters as arguments, as Powertools, Flask and FastAPI
    pass them) or a plain class (functions-framework's ``@typed``) failed at run time instead,
    far from the cause. ``annotation``: the raw one, or one ``_validation`` resolved from a
    string."""
    if annotation is Any or not isinstance(annotation, type) or _is_model(annotation):
        return  # none, a string (_validation resolves it), Any, a generic or union, a model
    from portable_fn.events import CloudEvent
    from portable_fn.http import Request

    expected = Request if is_http else CloudEvent
    if issubclass(expected, annotation):  # the Request / CloudEvent, or a base (object)
        return
    if is_http:
        what = ("the pf.Request (path parameters are req.path_params['name'], the query "
                "req.query), or its JSON body as a dataclass, TypedDict or pydantic model")
    else:
        what = "the pf.CloudEvent, or its data as a dataclass, TypedDict or pydantic model"
    raise ConfigurationError(
        f"the handler's first parameter is annotated {annotation.__qualname__}, but it gets "
        f"{what}",
        function=name,
    )


def _check_not_a_path_parameter(parameter: str, trigger: Http, name: str) -> None:
    """A first parameter named after a path parameter (``def get_order(order_id)``, Chalice's
    convention) would take the Request for the id."""
    from portable_fn._routing import compile_route

    if parameter in compile_route(trigger.path).params:
        raise ConfigurationError(
            f"the handler's first parameter {parameter!r} is named like the path parameter "
            f"{{{parameter}}}, but it gets the pf.Request: read req.path_params['{parameter}']",
            function=name,
        )


def _is_model(annotation: type) -> bool:
    return (
        hasattr(annotation, "__dataclass_fields__")
        or hasattr(annotation, "model_validate")  # pydantic 2
        or hasattr(annotation, "parse_obj")  # pydantic 1
        or (issubclass(annotation, dict) and hasattr(annotation, "__required_keys__"))
    )


def validates(handler: Callable[..., Any]) -> bool:
    """Whether registering ``handler`` loads ``_validation`` (its first parameter may name a
    model): what a packager asks to leave the validation modules out of an app without it."""
    first = _first_parameter(handler)
    return first is not None and _may_name_a_model(_annotation(*first))


def _may_name_a_model(annotation: Any) -> bool:
    """Whether the first parameter's annotation could name a model: the common handler
    (unannotated, or ``req: pf.Request`` / ``event: pf.CloudEvent``) never loads _validation."""
    if annotation is None:
        return False
    if isinstance(annotation, str):  # resolved by _validation, at decoration or first call
        return annotation.strip("'\" ").rpartition(".")[2] not in PLAIN
    if hasattr(annotation, "__args__"):  # list[Model], Model | None: _validation looks inside
        return True
    return isinstance(annotation, type) and _is_model(annotation)


def _idempotent(
    call: Call, trigger: Trigger, idempotent: Any, *, name: str, is_async: bool
) -> Call:
    if isinstance(trigger, Http):
        if idempotent is not True and idempotent != "required":
            raise ConfigurationError(
                "HTTP idempotency keys come from the Idempotency-Key header: pass "
                f"idempotent=True, or idempotent=\"required\" to refuse (400) an unsafe request "
                f"without one, not {idempotent!r}",
                function=name,
            )
        from portable_fn.idempotency.http_guard import guard_http

        return guard_http(call, is_async=is_async, required=idempotent == "required")
    if isinstance(trigger, Schedule):
        raise ConfigurationError("a schedule cannot be idempotent=", function=name)
    if idempotent is not True and not callable(idempotent):
        raise ConfigurationError(
            f"idempotent= takes True or a function of the event, not {idempotent!r}",
            function=name,
        )
    from portable_fn.idempotency.guard import guard_event

    return guard_event(call, key_fn=None if idempotent is True else idempotent, is_async=is_async)
