# SPDX-License-Identifier: Apache-2.0
"""Dataclasses and TypedDicts from decoded JSON: the JSON subset of Python's typing.

Each model is compiled once, on its first use, into a tree of small converter closures
(``Conv``): the per-event work is then one call per field, no ``typing`` introspection.
Errors are collected, not raised, so one invalid message reports every field at fault.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from portable_fn._models import Errors, kind, pydantic_validate
from portable_fn.errors import UnprocessableEntity

__all__ = ["FAIL", "Conv", "converter"]

Loc = tuple[Any, ...]
Conv = Callable[[Any, Loc, Errors], Any]
FAIL: Any = object()  # a conversion that failed (its error is already recorded)
_COMPILED: dict[Any, Conv] = {}  # type -> its converter (a cache, per process)


def _error(errors: Errors, loc: Loc, msg: str, type_: str) -> Any:
    errors.append({"loc": list(loc), "msg": msg, "type": type_})
    return FAIL


def converter(tp: Any) -> Conv:
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
    model_kind = kind(tp)
    if model_kind == "dataclass":
        return _dataclass(tp)
    if model_kind == "typeddict":
        return _typeddict(tp)
    if model_kind == "pydantic":
        return _pydantic_field(tp)
    return _scalar(tp)


def _pydantic_field(tp: Any) -> Conv:
    def convert_model(value: Any, loc: Loc, errors: Errors) -> Any:
        try:
            return pydantic_validate(tp, value)
        except UnprocessableEntity as exc:
            for e in exc.errors:
                _error(errors, loc + tuple(e["loc"]), e["msg"], e["type"])
            return FAIL

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
        key_conv, val_conv = (converter(a) for a in (args if len(args) == 2 else (Any, Any)))

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
        return converter(args[0])
    raise TypeError(f"unsupported annotation {tp!r} in a validated model")


def _union(args: tuple[Any, ...]) -> Conv:
    convs = [converter(a) for a in args]
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
        convs = [converter(a) for a in args]

        def fixed(value: Any, loc: Loc, errors: Errors) -> Any:
            if not isinstance(value, list) or len(value) != len(convs):
                return _error(errors, loc, f"must be an array of {len(convs)}", "tuple_type")
            pairs = zip(convs, value, strict=True)
            return tuple(c(v, (*loc, i), errors) for i, (c, v) in enumerate(pairs))

        return fixed
    item = converter(args[0] if args else Any)

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
            converter(hints[f.name]),
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
            return FAIL
        try:
            return tp(**kwargs)
        except (TypeError, ValueError) as exc:  # the model's own __post_init__ checks
            return _error(errors, loc, str(exc), "value_error")

    return to_dataclass


def _typeddict(tp: Any) -> Conv:
    import typing

    hints = typing.get_type_hints(tp)
    convs = [(key, converter(hint)) for key, hint in hints.items()]
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
