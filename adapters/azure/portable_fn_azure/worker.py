# SPDX-License-Identifier: Apache-2.0
"""Build ``azure.functions`` objects and run generated functions the way the Python worker does.

The worker receives an InvocationRequest from the host: the trigger's TypedData plus a map of
trigger metadata (each a TypedData). It turns each into a ``meta.Datum``, asks the converter
registered for the binding type (``queueTrigger``, ``serviceBusTrigger``...) to ``decode`` it,
and calls the user function with keyword arguments named after the bindings (plus ``context``).
Return values of HTTP functions go through the ``http`` output converter. This module does the
same with the library's own converters, from a JSON "invocation" document:

    {"binding": "queueTrigger",
     "data": {"type": "string", "value": "..."},
     "metadata": {"Id": "...", "DequeueCount": 1, "InsertionTime": "2026-..."}}

Metadata values are TypedData-like ``{"type", "value"}`` objects or plain JSON (str -> string,
anything else -> json), as the host sends them. Bytes are ``{"type": "bytes",
"base64": "..."}``. ``InvocationContext`` stands in for the worker's own ``Context`` class (it
lives in the worker process, which cannot run here without the host); it carries the same
fields (invocation id, function name, trace context, retry context).
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import json
import threading
import typing
import uuid
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import azure.functions as func
from azure.functions import meta

__all__ = [
    "InvocationContext", "decode", "encode_http_return", "index", "invoke", "typed_data",
]


def typed_data(spec: Any) -> meta.Datum:
    """A ``meta.Datum`` from a TypedData-like JSON object (or a plain value)."""
    if isinstance(spec, Mapping) and "type" in spec:
        kind = spec["type"]
        if kind == "bytes":
            raw = spec.get("base64")
            value = base64.b64decode(raw) if raw is not None else spec["value"]
            return meta.Datum(value if isinstance(value, bytes) else str(value).encode(), "bytes")
        if kind == "json" and not isinstance(spec["value"], str):
            return meta.Datum(json.dumps(spec["value"]), "json")
        if kind == "http":
            return meta.Datum(_http_value(spec["value"]), "http")
        if kind in ("collection_string", "collection_bytes"):
            # The worker keeps the protobuf message: a repeated field named after the kind.
            items = [base64.b64decode(v) if kind == "collection_bytes" else v
                     for v in spec["value"]]
            return meta.Datum(SimpleNamespace(**{kind.split("_")[1]: items}), kind)
        return meta.Datum(spec["value"], kind)
    # As the host sends metadata: strings as string, anything else (counts too) as json.
    if isinstance(spec, str):
        return meta.Datum(spec, "string")
    return meta.Datum(json.dumps(spec), "json")


def _http_value(value: Mapping[str, Any]) -> dict[str, Any]:
    # RpcHttp: method/url strings, headers/query/params maps of strings, body TypedData.
    def strings(name: str) -> dict[str, meta.Datum]:
        return {k: meta.Datum(str(v), "string") for k, v in (value.get(name) or {}).items()}

    body = value.get("body")
    return {
        "method": meta.Datum(value["method"], "string"),
        "url": meta.Datum(value["url"], "string"),
        "headers": strings("headers"),
        "query": strings("query"),
        "params": strings("params"),
        # The worker substitutes empty bytes when the host sends no body.
        "body": typed_data(body) if body is not None else meta.Datum(b"", "bytes"),
    }


def decode(invocation: Mapping[str, Any]) -> Any:
    """The trigger argument the worker would pass for this invocation document."""
    binding = invocation["binding"]
    converter = meta._ConverterMeta.get(binding)  # type: ignore[no-untyped-call]
    if converter is None:
        raise LookupError(f"azure.functions has no converter for binding {binding!r}")
    metadata = {k: typed_data(v) for k, v in (invocation.get("metadata") or {}).items()}
    return converter.decode(typed_data(invocation["data"]), trigger_metadata=metadata)


@dataclass
class _TraceContext:
    trace_parent: str | None = None
    trace_state: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)

    # The worker's TraceContext spells these two ways across versions.
    @property
    def Traceparent(self) -> str | None:
        return self.trace_parent

    @property
    def Tracestate(self) -> str | None:
        return self.trace_state


@dataclass
class _RetryContext:
    retry_count: int = 0
    max_retry_count: int = 0
    exception: Any = None


class InvocationContext(func.Context):
    """The worker's per-invocation ``Context``, field for field."""

    def __init__(self, function_name: str, *, invocation_id: str | None = None,
                 traceparent: str | None = None) -> None:
        self._name = function_name
        self._id = invocation_id or str(uuid.uuid4())
        self._trace = _TraceContext(traceparent)
        self._retry = _RetryContext()
        self._local = threading.local()

    @property
    def invocation_id(self) -> str:
        return self._id

    @property
    def thread_local_storage(self) -> Any:
        return self._local

    @property
    def function_name(self) -> str:
        return self._name

    @property
    def function_directory(self) -> str:
        return "/home/site/wwwroot"

    @property
    def trace_context(self) -> Any:
        return self._trace

    @property
    def retry_context(self) -> Any:
        return self._retry


_INDEXES: weakref.WeakKeyDictionary[func.FunctionApp, dict[str, Any]] = (
    weakref.WeakKeyDictionary()
)


def index(app: func.FunctionApp) -> dict[str, Any]:
    """``get_functions()`` once per app, as the worker indexes once per process (the library
    refuses a second call: it sees every name again as a duplicate)."""
    found = _INDEXES.get(app)
    if found is None:
        found = {str(f.get_function_name()): f for f in app.get_functions()}
        _INDEXES[app] = found
    return found


def _function(app: func.FunctionApp, name: str) -> Any:
    try:
        return index(app)[name]
    except KeyError:
        raise LookupError(f"the function app has no function {name!r}") from None


def binding_of(app: func.FunctionApp, name: str) -> str:
    """The binding type of function ``name``'s trigger (``queueTrigger``, ``httpTrigger``...),
    as an invocation document's ``binding`` names it."""
    return str(_function(app, name).get_trigger().get_binding_name())


def invoke(app: func.FunctionApp, name: str, invocation: Mapping[str, Any] | Any, *,
           context: func.Context | None = None) -> Any:
    """Run function ``name`` of the indexed app as the worker would: the trigger argument
    decoded from ``invocation`` (or given as an ``azure.functions`` object; a parameter
    annotated ``str`` or ``bytes`` gets the data's value, as the worker's generic binding
    gives it), ``context`` by name; an async function runs on an event loop. Exceptions
    propagate: that is the invocation failing."""
    function = _function(app, name)
    trigger = function.get_trigger()
    user = function.get_user_function()
    if not isinstance(invocation, Mapping):
        value = invocation
    elif typing.get_type_hints(user).get(trigger.name) in (str, bytes):
        # The worker binds a str/bytes parameter through its generic binding, not the
        # library's converter: the trigger data's value as it came, no trigger metadata
        # (functions.py validate_function_params, bindings/generic.py GenericBinding.decode).
        value = _generic(typed_data(invocation["data"]))
    else:
        value = decode(invocation)
    kwargs = {trigger.name: value}
    if "context" in inspect.signature(user).parameters:
        kwargs["context"] = context or InvocationContext(name)
    result = user(**kwargs)
    if inspect.iscoroutine(result):
        result = asyncio.run(result)
    return result


def _generic(datum: meta.Datum) -> Any:
    if datum.type not in ("string", "bytes", "json"):
        raise ValueError(f"unexpected type of data for the generic binding: {datum.type!r}")
    return datum.value


def encode_http_return(response: Any) -> meta.Datum:
    """What the worker sends the host for an HTTP function's return value."""
    converter = meta._ConverterMeta.get("http")  # type: ignore[no-untyped-call]
    datum: meta.Datum = converter.encode(response, expected_type=func.HttpResponse)
    return datum
