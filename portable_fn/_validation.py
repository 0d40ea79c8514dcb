# SPDX-License-Identifier: Apache-2.0
"""Validated input: a handler whose first parameter is annotated with a dataclass, a TypedDict
or a pydantic model receives ``event.data`` (or the HTTP request's JSON body) converted to it.

Invalid input raises ``UnprocessableEntity`` with one ``{"loc", "msg", "type"}`` entry per field
(pydantic's error shape, whichever kind of model): a 422 over HTTP, and a failure that is not
retried for an event (the dispatcher maps both).

Cold start: this module is imported with the core, so it imports nothing at module level, and
``wrap`` costs a dict lookup for a handler without a model annotation. The annotation (a string
under ``from __future__ import annotations``) is resolved at decoration time, unless it names
Request or CloudEvent; one that names a class defined further down the module is resolved on the
first call instead. The model's own fields are resolved on the first call; pydantic is
imported only when a pydantic model is used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from portable_fn.errors import ConfigurationError, UnprocessableEntity

if TYPE_CHECKING:
    from portable_fn.context import Context

__all__ = ["convert", "wrap"]

Call = Callable[[Any, "Context"], Any]
Errors = list[dict[str, Any]]
_PLAIN = frozenset(("Request", "CloudEvent", "Any", "object", "Context"))


def _first_annotation(handler: Callable[..., Any]) -> Any:
    target: Any = getattr(handler, "__func__", handler)
    code = getattr(target, "__code__", None)
    annotations = getattr(target, "__annotations__", None)
    if code is None or not annotations:
        return None
    first = 1 if hasattr(handler, "__self__") else 0
    if code.co_argcount <= first:
        return None
    return annotations.get(code.co_varnames[first])


def _resolve(annotation: Any, handler: Callable[..., Any]) -> Any:
    if not isinstance(annotation, str):
        return annotation
    namespace = getattr(getattr(handler, "__func__", handler), "__globals__", {})
    return eval(annotation, namespace)  # an annotation is an expression of the module


def _kind(tp: Any) -> str | None:
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


def wrap(call: Call, handler: Callable[..., Any], *, is_http: bool, name: str) -> Call | None:
    """The validating call, or None when the handler's first parameter names no model."""
    annotation = _first_annotation(handler)
    if annotation is None:
        return None
    if isinstance(annotation, str):
        if annotation.strip("'\" ").rpartition(".")[2] in _PLAIN:
            return None
        try:
            model: Any = _resolve(annotation, handler)
        except NameError:
            model = None  # a class defined below the handler: resolved on the first call
    else:
        model = annotation
    if model is not None and _kind(model) is None:
        return None

    def model_type() -> Any:
        nonlocal model
        if model is None:
            try:
                model = _resolve(annotation, handler)
            except NameError as exc:
                raise ConfigurationError(
                    f"cannot resolve the annotation {annotation!r} of the handler's first "
                    f"parameter: {exc}",
                    function=name,
                ) from None
        return model

    if is_http:

        def validated_http(request: Any, ctx: Context) -> Any:
            return call(convert(model_type(), request.json()), ctx)

        return validated_http

    def validated_event(event: Any, ctx: Context) -> Any:
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
        return call(convert(model_type(), data), ctx)

    return validated_event


def convert(model: Any, value: Any) -> Any:
    """``value`` (decoded JSON) as an instance of ``model``; ``UnprocessableEntity`` if not."""
    kind = _kind(model)
    if kind == "pydantic":
        return _pydantic(model, value)
    if kind is None:
        raise TypeError(f"{model!r} is not a dataclass, TypedDict or pydantic model")
    errors: Errors = []
    result = _value(model, value, [], errors)
    if errors:
        raise UnprocessableEntity(f"invalid {model.__name__}", errors=errors)
    return result


def _pydantic(model: Any, value: Any) -> Any:
    import pydantic

    try:
        if hasattr(model, "model_validate"):
            return model.model_validate(value)
        return model.parse_obj(value)  # pydantic 1
    except pydantic.ValidationError as exc:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
            for e in exc.errors()
        ]
        raise UnprocessableEntity(f"invalid {model.__name__}", errors=errors) from None


# -- dataclasses and TypedDicts: the JSON subset of Python's typing ------------------------------

_FAIL: Any = object()  # a conversion that failed (its error is already recorded)


def _error(errors: Errors, loc: list[Any], msg: str, type_: str) -> Any:
    errors.append({"loc": list(loc), "msg": msg, "type": type_})
    return _FAIL


def _value(tp: Any, value: Any, loc: list[Any], errors: Errors) -> Any:
    """Convert one JSON value to ``tp``, recording errors at ``loc``."""
    import typing

    if tp is Any or tp is object:
        return value
    if tp is None or tp is type(None):
        return value if value is None else _error(errors, loc, "must be null", "none_required")
    origin = typing.get_origin(tp)
    if origin is not None:
        return _generic(tp, origin, typing.get_args(tp), value, loc, errors)
    kind = _kind(tp)
    if kind == "dataclass":
        return _dataclass(tp, value, loc, errors)
    if kind == "typeddict":
        return _typeddict(tp, value, loc, errors)
    if kind == "pydantic":
        try:
            return _pydantic(tp, value)
        except UnprocessableEntity as exc:
            for e in exc.errors:
                _error(errors, loc + e["loc"], e["msg"], e["type"])
            return _FAIL
    return _scalar(tp, value, loc, errors)


def _scalar(tp: Any, value: Any, loc: list[Any], errors: Errors) -> Any:
    if tp is bool:
        ok = isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        ok = False
    elif tp is str:
        ok = isinstance(value, str)
    else:
        return _special(tp, value, loc, errors)
    if ok:
        return value
    return _error(errors, loc, f"must be {tp.__name__}", f"{tp.__name__}_type")


def _special(tp: Any, value: Any, loc: list[Any], errors: Errors) -> Any:
    import datetime
    import enum

    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in tp)
            return _error(errors, loc, f"must be one of {allowed}", "enum")
    if tp in (datetime.datetime, datetime.date) and isinstance(value, str):
        text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
        try:
            return tp.fromisoformat(text)
        except ValueError:
            pass
        return _error(errors, loc, f"must be an ISO 8601 {tp.__name__}", f"{tp.__name__}_parsing")
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    return _error(errors, loc, f"must be {getattr(tp, '__name__', tp)}", "type_error")


def _generic(
    tp: Any, origin: Any, args: tuple[Any, ...], value: Any, loc: list[Any], errors: Errors
) -> Any:
    import collections.abc as abc
    import types
    import typing

    if origin is typing.Union or origin is types.UnionType:
        if value is None and type(None) in args:
            return None
        for arg in args:
            attempt: Errors = []
            result = _value(arg, value, loc, attempt)
            if not attempt:
                return result
        names = " | ".join(getattr(a, "__name__", str(a)) for a in args)
        return _error(errors, loc, f"must be {names}", "union_type")
    if origin is typing.Literal:
        if value in args and all(type(value) is type(a) for a in args if a == value):
            return value
        return _error(errors, loc, f"must be one of {', '.join(map(repr, args))}", "literal_error")
    if origin in (list, tuple, set, frozenset, abc.Sequence, abc.Set, abc.Iterable):
        if not isinstance(value, list):
            return _error(errors, loc, "must be an array", "list_type")
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(args) != len(value):
                return _error(errors, loc, f"must have {len(args)} items", "tuple_length")
            pairs = enumerate(zip(args, value, strict=True))
            items = [_value(a, v, [*loc, i], errors) for i, (a, v) in pairs]
        else:
            item = args[0] if args else Any
            items = [_value(item, v, [*loc, i], errors) for i, v in enumerate(value)]
        wanted = origin if origin in (tuple, set, frozenset) else list
        return wanted(items)
    if origin in (dict, abc.Mapping, abc.MutableMapping):
        if not isinstance(value, dict):
            return _error(errors, loc, "must be an object", "dict_type")
        key_t, val_t = args if len(args) == 2 else (Any, Any)
        return {
            _value(key_t, k, [*loc, k], errors): _value(val_t, v, [*loc, k], errors)
            for k, v in value.items()
        }
    if (
        origin is typing.Annotated
        or getattr(typing, "Required", None) in (origin,)
        or (getattr(typing, "NotRequired", None) is origin)
    ):
        return _value(args[0], value, loc, errors)
    return _error(errors, loc, f"unsupported annotation {tp!r}", "unsupported")


_HINTS: dict[Any, dict[str, Any]] = {}  # model -> resolved field types (a cache, per process)


def _hints(tp: Any) -> dict[str, Any]:
    cached = _HINTS.get(tp)
    if cached is None:
        import typing

        cached = _HINTS[tp] = typing.get_type_hints(tp)
    return cached


def _dataclass(tp: Any, value: Any, loc: list[Any], errors: Errors) -> Any:
    import dataclasses

    if not isinstance(value, dict):
        return _error(errors, loc, f"must be an object ({tp.__name__})", "model_type")
    hints = _hints(tp)
    before = len(errors)
    kwargs: dict[str, Any] = {}
    for field in dataclasses.fields(tp):
        if not field.init:
            continue
        if field.name not in value:
            required = (
                field.default is dataclasses.MISSING
                and field.default_factory is dataclasses.MISSING
            )
            if required:
                _error(errors, [*loc, field.name], "field required", "missing")
            continue
        kwargs[field.name] = _value(
            hints[field.name], value[field.name], [*loc, field.name], errors
        )
    if len(errors) > before:
        return _FAIL
    try:
        return tp(**kwargs)
    except (TypeError, ValueError) as exc:  # the model's own __post_init__ checks
        return _error(errors, loc, str(exc), "value_error")


def _typeddict(tp: Any, value: Any, loc: list[Any], errors: Errors) -> Any:
    if not isinstance(value, dict):
        return _error(errors, loc, f"must be an object ({tp.__name__})", "model_type")
    hints = _hints(tp)
    result: dict[str, Any] = {}
    for key in tp.__required_keys__:
        if key not in value:
            _error(errors, [*loc, key], "field required", "missing")
    for key, hint in hints.items():
        if key in value:
            result[key] = _value(hint, value[key], [*loc, key], errors)
    return result
