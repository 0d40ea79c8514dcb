# SPDX-License-Identifier: Apache-2.0
"""Validated input: a handler whose first parameter is annotated with a dataclass, a TypedDict
or a pydantic model, or a generic of one (``list[Model]``, ``Model | None``), receives
``event.data`` (or the HTTP request's JSON body) converted to it.

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

from portable_fn._pipeline import PLAIN, first_annotation
from portable_fn.errors import ConfigurationError, UnprocessableEntity

if TYPE_CHECKING:
    from portable_fn.context import Context

__all__ = ["convert", "wrap"]

_RAW: Any = object()  # a late-resolved annotation that names no model: pass the value as is

Call = Callable[[Any, "Context"], Any]
Errors = list[dict[str, Any]]


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


def _validates(tp: Any) -> bool:
    """Whether ``tp`` is a model, or a generic with one in it (``list[Model]``,
    ``Model | None``, ``Annotated[Model, ...]``): anything else is passed as is."""
    if _kind(tp) is not None:
        return True
    import typing

    return typing.get_origin(tp) is not None and any(_validates(a) for a in typing.get_args(tp))


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
    if model is not None and not _validates(model):
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
            model = resolved if _validates(resolved) else _RAW
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
    if _kind(model) is None and not _validates(model):
        raise TypeError(f"{model!r} is not a dataclass, TypedDict or pydantic model")
    return _convert(model, value)


def _convert(model: Any, value: Any) -> Any:
    """``convert`` for a ``model`` already known to validate (checked when the handler was
    wrapped): the per-message path, which need not ask again."""
    if _kind(model) == "pydantic":
        return _pydantic(model, value)
    try:
        conv = _converter(model)
    except (TypeError, NameError) as exc:  # an annotation no JSON value can be converted to
        raise ConfigurationError(f"cannot validate with {_label(model)}: {exc}") from None
    errors: Errors = []
    result = conv(value, (), errors)
    if errors:
        raise _invalid(model, errors)
    return result


def _label(tp: Any) -> str:
    """``Order``, ``list[Order]``, ``Order | None``: the type as its user wrote it."""
    if isinstance(tp, type):
        return tp.__name__
    import re

    return re.sub(r"\b[\w.]+\.(?=\w)", "", repr(tp))  # module prefixes off


_SHOWN = 3  # field errors named in the message (the log line); all are in ``.errors``


def _invalid(model: Any, errors: Errors) -> UnprocessableEntity:
    """The error for invalid input, its message naming the first fields at fault: the one log
    line of a dead-lettered event says why without the event at hand."""
    parts = [
        ".".join(map(str, e["loc"])) + ": " + e["msg"] if e["loc"] else e["msg"]
        for e in errors[:_SHOWN]
    ]
    if len(errors) > _SHOWN:
        parts.append(f"and {len(errors) - _SHOWN} more")
    return UnprocessableEntity(f"invalid {_label(model)}: {'; '.join(parts)}", errors=errors)


def _pydantic(model: Any, value: Any) -> Any:
    if hasattr(model, "model_validate"):
        import pydantic

        invalid: Any = pydantic.ValidationError
        validate = model.model_validate
        text = _json_text(value)
        if text is not None:
            # JSON mode: the input is JSON, and a strict model takes RFC 3339 datetimes, enum
            # values and UUID strings only from JSON (python mode wants the objects themselves).
            validate, value = model.model_validate_json, text
    else:  # pydantic 1, or a ``pydantic.v1`` model, whose ValidationError is another class
        invalid = _v1_validation_error()
        validate = model.parse_obj
    try:
        return validate(value)
    except invalid as exc:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
            for e in exc.errors()
        ]
        raise _invalid(model, errors) from None


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


# -- dataclasses and TypedDicts: the JSON subset of Python's typing ------------------------------
#
# Each model is compiled once, on its first use, into a tree of small converter closures
# (``Conv``): the per-event work is then one call per field, no ``typing`` introspection.

Loc = tuple[Any, ...]
Conv = Callable[[Any, Loc, Errors], Any]
_FAIL: Any = object()  # a conversion that failed (its error is already recorded)
_COMPILED: dict[Any, Conv] = {}  # type -> its converter (a cache, per process)


def _error(errors: Errors, loc: Loc, msg: str, type_: str) -> Any:
    errors.append({"loc": list(loc), "msg": msg, "type": type_})
    return _FAIL


def _converter(tp: Any) -> Conv:
    try:
        found = _COMPILED.get(tp)
    except TypeError:  # an unhashable annotation: compile it every time
        return _compile(tp)
    if found is None:
        # A placeholder first, so a model that refers to itself compiles.
        cell: list[Conv] = []
        _COMPILED[tp] = lambda value, loc, errors: cell[0](value, loc, errors)
        try:
            found = _compile(tp)
        except BaseException:
            del _COMPILED[tp]
            raise
        cell.append(found)
        _COMPILED[tp] = found
    return found


def _compile(tp: Any) -> Conv:
    import typing

    if tp is Any or tp is object:
        return lambda value, loc, errors: value
    if tp is None or tp is type(None):
        return lambda value, loc, errors: (
            value if value is None else _error(errors, loc, "must be null", "none_required")
        )
    origin = typing.get_origin(tp)
    if origin is not None:
        return _generic(tp, origin, typing.get_args(tp))
    kind = _kind(tp)
    if kind == "dataclass":
        return _dataclass(tp)
    if kind == "typeddict":
        return _typeddict(tp)
    if kind == "pydantic":
        return _pydantic_field(tp)
    return _scalar(tp)


def _pydantic_field(tp: Any) -> Conv:
    def convert_model(value: Any, loc: Loc, errors: Errors) -> Any:
        try:
            return _pydantic(tp, value)
        except UnprocessableEntity as exc:
            for e in exc.errors:
                _error(errors, loc + tuple(e["loc"]), e["msg"], e["type"])
            return _FAIL

    return convert_model


def _scalar(tp: Any) -> Conv:
    if tp is float:

        def to_float(value: Any, loc: Loc, errors: Errors) -> Any:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
            return _error(errors, loc, "must be float", "float_type")

        return to_float
    if tp in (bool, int, str):
        name = tp.__name__

        def exact(value: Any, loc: Loc, errors: Errors) -> Any:
            # JSON has no int/bool distinction that Python keeps: True is not an int here.
            if type(value) is tp:
                return value
            return _error(errors, loc, f"must be {name}", f"{name}_type")

        return exact
    return _special(tp)


def _special(tp: Any) -> Conv:
    import datetime
    import enum

    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        allowed = ", ".join(repr(m.value) for m in tp)

        def to_enum(value: Any, loc: Loc, errors: Errors) -> Any:
            try:
                return tp(value)
            except ValueError:
                return _error(errors, loc, f"must be one of {allowed}", "enum")

        return to_enum
    if tp in (datetime.datetime, datetime.date):

        def to_time(value: Any, loc: Loc, errors: Errors) -> Any:
            if isinstance(value, str):
                # Python 3.10's fromisoformat does not read the "Z" every JSON API writes.
                text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
                try:
                    return tp.fromisoformat(text)
                except ValueError:
                    pass
            kind = tp.__name__
            return _error(errors, loc, f"must be an ISO 8601 {kind}", f"{kind}_parsing")

        return to_time
    name = getattr(tp, "__name__", repr(tp))
    if not isinstance(tp, type):
        raise TypeError(f"unsupported annotation {tp!r} in a validated model")

    def instance(value: Any, loc: Loc, errors: Errors) -> Any:
        return value if isinstance(value, tp) else _error(errors, loc, f"must be {name}", "type")

    return instance


def _generic(tp: Any, origin: Any, args: tuple[Any, ...]) -> Conv:
    import collections.abc as abc
    import types
    import typing

    if origin is typing.Union or origin is types.UnionType:
        return _union(args)
    if origin is typing.Literal:
        allowed = ", ".join(map(repr, args))

        def literal(value: Any, loc: Loc, errors: Errors) -> Any:
            # 1 == True in Python; a Literal[1] must not accept true.
            if any(value == a and type(value) is type(a) for a in args):
                return value
            return _error(errors, loc, f"must be one of {allowed}", "literal_error")

        return literal
    if origin in (list, tuple, set, frozenset, abc.Sequence, abc.Set, abc.Iterable):
        return _sequence(origin, args)
    if origin in (dict, abc.Mapping, abc.MutableMapping):
        key_conv, val_conv = (_converter(a) for a in (args if len(args) == 2 else (Any, Any)))

        def mapping(value: Any, loc: Loc, errors: Errors) -> Any:
            if not isinstance(value, dict):
                return _error(errors, loc, "must be an object", "dict_type")
            return {
                key_conv(k, (*loc, k), errors): val_conv(v, (*loc, k), errors)
                for k, v in value.items()
            }

        return mapping
    wrappers = {getattr(typing, n, None) for n in ("Annotated", "Required", "NotRequired")}
    if origin in wrappers - {None}:
        return _converter(args[0])
    raise TypeError(f"unsupported annotation {tp!r} in a validated model")


def _union(args: tuple[Any, ...]) -> Conv:
    convs = [_converter(a) for a in args]
    nullable = type(None) in args
    names = " | ".join(getattr(a, "__name__", str(a)) for a in args)

    def union(value: Any, loc: Loc, errors: Errors) -> Any:
        if value is None and nullable:
            return None
        for conv in convs:
            attempt: Errors = []
            result = conv(value, loc, attempt)
            if not attempt:
                return result
        return _error(errors, loc, f"must be {names}", "union_type")

    return union


def _sequence(origin: Any, args: tuple[Any, ...]) -> Conv:
    wanted = origin if origin in (tuple, set, frozenset) else list
    if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
        convs = [_converter(a) for a in args]

        def fixed(value: Any, loc: Loc, errors: Errors) -> Any:
            if not isinstance(value, list) or len(value) != len(convs):
                return _error(errors, loc, f"must be an array of {len(convs)}", "tuple_type")
            pairs = zip(convs, value, strict=True)
            return tuple(c(v, (*loc, i), errors) for i, (c, v) in enumerate(pairs))

        return fixed
    item = _converter(args[0] if args else Any)

    def items(value: Any, loc: Loc, errors: Errors) -> Any:
        if not isinstance(value, list):
            return _error(errors, loc, "must be an array", "list_type")
        return wanted([item(v, (*loc, i), errors) for i, v in enumerate(value)])

    return items


def _dataclass(tp: Any) -> Conv:
    import dataclasses
    import typing

    hints = typing.get_type_hints(tp)
    fields = [
        (
            f.name,
            _converter(hints[f.name]),
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
        )
        for f in dataclasses.fields(tp)
        if f.init
    ]
    label = f"must be an object ({tp.__name__})"

    def to_dataclass(value: Any, loc: Loc, errors: Errors) -> Any:
        if not isinstance(value, dict):
            return _error(errors, loc, label, "model_type")
        before = len(errors)
        kwargs: dict[str, Any] = {}
        for name, conv, required in fields:
            if name in value:
                kwargs[name] = conv(value[name], (*loc, name), errors)
            elif required:
                _error(errors, (*loc, name), "field required", "missing")
        if len(errors) > before:
            return _FAIL
        try:
            return tp(**kwargs)
        except (TypeError, ValueError) as exc:  # the model's own __post_init__ checks
            return _error(errors, loc, str(exc), "value_error")

    return to_dataclass


def _typeddict(tp: Any) -> Conv:
    import typing

    hints = typing.get_type_hints(tp)
    convs = [(key, _converter(hint)) for key, hint in hints.items()]
    required = sorted(tp.__required_keys__)
    label = f"must be an object ({tp.__name__})"

    def to_typeddict(value: Any, loc: Loc, errors: Errors) -> Any:
        if not isinstance(value, dict):
            return _error(errors, loc, label, "model_type")
        for key in required:
            if key not in value:
                _error(errors, (*loc, key), "field required", "missing")
        return {key: conv(value[key], (*loc, key), errors) for key, conv in convs if key in value}

    return to_typeddict
