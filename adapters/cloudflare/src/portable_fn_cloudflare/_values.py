# SPDX-License-Identifier: Apache-2.0
"""Turn values that crossed from JS (through the SDK's converters) into plain Python values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

_SCALARS = (str, int, float, bool, type(None))


def plain(value: Any) -> Any:
    """Plain dict/list/bytes for a converted JS value (the SDK gives ``JsDict`` and JsProxies).

    The SDK converts a body with Pyodide's ``to_py`` (workers-runtime-sdk ``workers/rpc.py``):
    a ``Map`` becomes a dict (its keys as they were), a ``Set`` a Python set, an ``Error`` an
    ``Exception``; a ``null`` inside a Set or as a Map key stays Pyodide's ``jsnull``, and
    wrapper objects (``new String``) and ``RegExp`` stay JsProxies. A handler gets what any
    other provider's JSON gives it: a list for a Set (a Set has no portable order), text keys
    (the JS property-key text), None for ``jsnull``, the primitive a wrapper holds, and the
    JS string form of the rest. A JS ``ArrayBuffer``/typed array (``contentType: "bytes"``)
    arrives as a memoryview or a JsProxy (``to_bytes`` is Pyodide's copy-out): bytes.
    """
    if type(value) in _SCALARS:  # most leaves of a JSON body: one check, nothing else
        return value
    if isinstance(value, Mapping):
        return {_key(k): plain(v) for k, v in value.items()}
    if isinstance(value, datetime):  # a JS Date sent with contentType "v8"; see utc_time
        return value.astimezone(timezone.utc)
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return _leftover(value)


def _key(key: Any) -> str:
    """A Map key as the property key ``Object.fromEntries`` would make of it."""
    if isinstance(key, str):
        return key
    key = plain(key)
    if key is None or isinstance(key, bool):
        return "null" if key is None else ("true" if key else "false")
    if isinstance(key, float) and key.is_integer():
        return str(int(key))
    return str(key)


def _leftover(value: Any) -> Any:
    """A value ``to_py`` did not turn into Python: a JsProxy, ``jsnull``, an Error."""
    # A top-level body ``to_py`` leaves alone (an Error other than ``Error``, a RegExp, a
    # wrapper object) comes inside the SDK's ``_BindingWrapper`` (workers-runtime-sdk
    # ``workers/rpc.py``, ``_wrap_js_value``), which keeps the JsProxy in ``_binding`` and
    # answers any other attribute: convert the JsProxy, not the wrapper's repr.
    binding = getattr(value, "_binding", None)
    if binding is not None:
        return plain(binding)
    to_bytes = getattr(value, "to_bytes", None)
    if callable(to_bytes) and not isinstance(value, int):
        return bytes(to_bytes())
    if isinstance(value, BaseException):  # a JS Error: its "Name: message" text
        return str(value)
    if isinstance(getattr(value, "typeof", None), str):  # only JsProxy (and jsnull) have it
        if type(value).__name__ == "JsNull":
            return None
        constructor = getattr(getattr(value, "constructor", None), "name", None)
        if constructor in ("String", "Boolean", "Number"):
            return plain(value.valueOf())
        return str(value)
    return value


def from_js(value: Any) -> Any:
    """A JS value converted with Pyodide's ``to_py``, without the SDK's converter.

    For a body the SDK cannot convert: its default converter (workers-runtime-sdk
    ``workers/rpc.py``, ``_python_from_rpc_default_converter``) reads ``value.constructor.name``,
    and an object with its own ``constructor`` key (legal JSON: ``{"constructor": 2}``) is not a
    plain object to Pyodide, so the SDK gets that key's value and raises AttributeError. Here such
    an object becomes a dict of its own keys and a Date a UTC datetime; the rest is ``to_py``'s
    (``plain`` finishes the job).
    """
    to_py = getattr(value, "to_py", None)
    if not callable(to_py):  # a primitive, converted already
        return value
    return to_py(default_converter=_js_default)


def _js_default(value: Any, convert: Any, cache: Any) -> Any:
    """``to_py``'s hook for what it does not convert itself."""
    from js import Object  # type: ignore[import-not-found,unused-ignore]  # Pyodide only

    # The internal class, which no own property can shadow (unlike ``constructor``).
    kind = Object.prototype.toString.call(value)
    if kind == "[object Date]":
        return datetime.fromtimestamp(float(value.getTime()) / 1000, tz=timezone.utc)
    if kind != "[object Object]":
        return value  # a wrapper, an Error, a RegExp: ``plain``'s leftovers
    result: dict[str, Any] = {}
    cache(value, result)
    for key, item in Object.entries(value):
        result[str(key)] = convert(item) if callable(getattr(item, "to_py", None)) else item
    return result


def utc_time(value: Any) -> datetime | None:
    """A timezone-aware UTC datetime from a JS Date, a converted datetime or epoch milliseconds.

    The SDK converts a JS Date with ``datetime.fromtimestamp`` (naive, local time); reading it
    back with ``astimezone`` undoes exactly that, whatever the local zone is.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    get_time = getattr(value, "getTime", None)
    if callable(get_time):
        return datetime.fromtimestamp(float(get_time()) / 1000, tz=timezone.utc)
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
    return None
