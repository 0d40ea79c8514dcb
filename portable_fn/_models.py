# SPDX-License-Identifier: Apache-2.0
"""What a validated handler's model is, and validating with pydantic.

A model is a dataclass, a TypedDict or a pydantic model (v2, v1, or v2's ``pydantic.v1``), or a
generic with one in it. Invalid input is ``UnprocessableEntity`` with pydantic's error shape,
one ``{"loc", "msg", "type"}`` entry per field, whichever kind of model. Nothing is imported at
module level: pydantic loads only when a pydantic model is used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from portable_fn.errors import UnprocessableEntity

__all__ = ["Errors", "invalid", "kind", "label", "pydantic_validate", "validates"]

Errors = list[dict[str, Any]]


def kind(tp: Any) -> str | None:
    """ "pydantic" | "dataclass" | "typeddict", or None: not a model, pass the value as is."""
    if not isinstance(tp, type):
        return None
    if hasattr(tp, "model_validate") or hasattr(tp, "parse_obj"):
        return "pydantic"
    if hasattr(tp, "__dataclass_fields__"):
        return "dataclass"
    if issubclass(tp, dict) and hasattr(tp, "__required_keys__"):
        return "typeddict"
    return None


def validates(tp: Any) -> bool:
    """Whether ``tp`` is a model, or a generic with one in it (``list[Model]``,
    ``Model | None``, ``Annotated[Model, ...]``): anything else is passed as is."""
    if kind(tp) is not None:
        return True
    import typing

    return typing.get_origin(tp) is not None and any(validates(a) for a in typing.get_args(tp))


def label(tp: Any) -> str:
    """``Order``, ``list[Order]``, ``Order | None``: the type as its user wrote it."""
    if isinstance(tp, type):
        return tp.__name__
    import re

    return re.sub(r"\b[\w.]+\.(?=\w)", "", repr(tp))  # module prefixes off


_SHOWN = 3  # field errors named in the message (the log line); all are in ``.errors``


def invalid(model: Any, errors: Errors) -> UnprocessableEntity:
    """The error for invalid input, its message naming the first fields at fault: the one log
    line of a dead-lettered event says why without the event at hand."""
    parts = [
        ".".join(map(str, e["loc"])) + ": " + e["msg"] if e["loc"] else e["msg"]
        for e in errors[:_SHOWN]
    ]
    if len(errors) > _SHOWN:
        parts.append(f"and {len(errors) - _SHOWN} more")
    return UnprocessableEntity(f"invalid {label(model)}: {'; '.join(parts)}", errors=errors)


def pydantic_validate(model: Any, value: Any) -> Any:
    """``value`` as an instance of the pydantic ``model``, JSON in JSON mode (v2)."""
    if hasattr(model, "model_validate"):
        import pydantic

        rejected: Any = pydantic.ValidationError
        validate = model.model_validate
        text = _json_text(value)
        if text is not None:
            # JSON mode: the input is JSON, and a strict model takes RFC 3339 datetimes, enum
            # values and UUID strings only from JSON (python mode wants the objects themselves).
            validate, value = model.model_validate_json, text
    else:  # pydantic 1, or a ``pydantic.v1`` model, whose ValidationError is another class
        rejected = _v1_validation_error()
        validate = model.parse_obj
    try:
        return validate(value)
    except rejected as exc:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
            for e in exc.errors()
        ]
        raise invalid(model, errors) from None


_dumps: Callable[[Any], str] | None = None


def _json_text(value: Any) -> str | None:
    """``value`` as JSON text, or None when it is no JSON value (a test's Python object)."""
    global _dumps
    if _dumps is None:
        from portable_fn._json import encoder

        _dumps = encoder(allow_nan=True)  # json.loads reads NaN; so does pydantic's parser
    try:
        return _dumps(value)
    except (TypeError, ValueError, RecursionError):
        return None


def _v1_validation_error() -> Any:
    import importlib

    try:
        module = importlib.import_module("pydantic.v1")
    except ImportError:  # pydantic 1 before 1.10.17 has no pydantic.v1: it is the v1 API itself
        module = importlib.import_module("pydantic")
    return module.ValidationError
