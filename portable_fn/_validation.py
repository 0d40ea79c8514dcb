# SPDX-License-Identifier: Apache-2.0
"""Validated input: a handler whose first parameter is annotated with a dataclass, a TypedDict
or a pydantic model, or a generic of one (``list[Model]``, ``Model | None``), receives
``event.data`` (or the HTTP request's JSON body) converted to it.

Invalid input raises ``UnprocessableEntity`` with one ``{"loc", "msg", "type"}`` entry per field
(pydantic's error shape, whichever kind of model): a 422 over HTTP, and a failure that is not
retried for an event (the dispatcher maps both).

The model checks and pydantic live in ``_models``, the dataclass and TypedDict converters in
``_converters``. Cold start: this module loads only for a handler with an annotation, and
``wrap`` costs a dict lookup for a handler without a model annotation. The annotation (a string
under ``from __future__ import annotations``) is resolved at decoration time, unless it names
Request or CloudEvent; one that names a class defined further down the module is resolved on the
first call instead. The model's own fields are resolved on the first call; pydantic is
imported only when a pydantic model is used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from portable_fn._converters import converter
from portable_fn._models import Errors, invalid, kind, label, pydantic_validate, validates
from portable_fn._pipeline import PLAIN, check_first_parameter, first_annotation
from portable_fn.errors import ConfigurationError, UnprocessableEntity

if TYPE_CHECKING:
    from portable_fn.context import Context

__all__ = ["convert", "wrap"]

_RAW: Any = object()  # a late-resolved annotation that names no model: pass the value as is

Call = Callable[[Any, "Context"], Any]


def _resolve(annotation: Any, handler: Callable[..., Any]) -> Any:
    if not isinstance(annotation, str):
        return annotation
    namespace = getattr(getattr(handler, "__func__", handler), "__globals__", {})
    return eval(annotation, namespace)  # an annotation is an expression of the module


def wrap(call: Call, handler: Callable[..., Any], *, is_http: bool, name: str) -> Call | None:
    """The validating call, or None when the handler's first parameter names no model."""
    annotation = first_annotation(handler)
    if annotation is None:
        return None
    if isinstance(annotation, str):
        if annotation.strip("'\" ").rpartition(".")[2] in PLAIN:
            return None
        try:
            model: Any = _resolve(annotation, handler)
        except NameError:
            model = None  # a class defined below the handler: resolved on the first call
    else:
        model = annotation
    if model is not None and not validates(model):
        check_first_parameter(model, is_http, name)  # a class it will not get
        return None

    def model_type() -> Any:
        """The model, or ``_RAW`` when the late-resolved annotation names none (the handler
        then gets the value as is, as it would had the class been defined above it)."""
        nonlocal model
        if model is None:
            try:
                resolved = _resolve(annotation, handler)
            except NameError as exc:
                raise ConfigurationError(
                    f"cannot resolve the annotation {annotation!r} of the handler's first "
                    f"parameter: {exc}",
                    function=name,
                ) from None
            if not validates(resolved):
                check_first_parameter(resolved, is_http, name)
            model = resolved if validates(resolved) else _RAW
        return model

    if is_http:

        def validated_http(request: Any, ctx: Context) -> Any:
            tp = model_type()
            if tp is _RAW:
                return call(request, ctx)
            return call(_convert(tp, request.json()), ctx)

        return validated_http

    def validated_event(event: Any, ctx: Context) -> Any:
        tp = model_type()
        if tp is _RAW:
            return call(event, ctx)
        data = event.data
        if isinstance(data, bytes | bytearray | str):
            import json

            try:
                data = json.loads(data)
            except ValueError:
                raise UnprocessableEntity(
                    "event data is not JSON",
                    errors=[{"loc": ["data"], "msg": "not valid JSON", "type": "json_invalid"}],
                ) from None
        return call(_convert(tp, data), ctx)

    return validated_event


def convert(model: Any, value: Any) -> Any:
    """``value`` (decoded JSON) as an instance of ``model`` (a model, or a generic of models
    such as ``list[Model]``); ``UnprocessableEntity`` if not."""
    if kind(model) is None and not validates(model):
        raise TypeError(f"{model!r} is not a dataclass, TypedDict or pydantic model")
    return _convert(model, value)


def _convert(model: Any, value: Any) -> Any:
    """``convert`` for a ``model`` already known to validate (checked when the handler was
    wrapped): the per-message path, which need not ask again."""
    if kind(model) == "pydantic":
        return pydantic_validate(model, value)
    try:
        conv = converter(model)
    except (TypeError, NameError) as exc:  # an annotation no JSON value can be converted to
        raise ConfigurationError(f"cannot validate with {label(model)}: {exc}") from None
    errors: Errors = []
    result = conv(value, (), errors)
    if errors:
        raise invalid(model, errors)
    return result

