# SPDX-License-Identifier: Apache-2.0
"""The ``azure`` entry point object (group ``portable_fn.adapters``).

Importing this module loads nothing from Azure: ``portable-fn inspect`` and ``package`` work
without the worker libraries' import cost; ``invoke`` and ``harness`` load them when called.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from portable_fn.adapter import Finding, article, sample_refused
from portable_fn.app import App
from portable_fn.errors import ConfigurationError, PortableFnError
from portable_fn.triggers import Http, Storage

from portable_fn_azure.options import AzureOptions

if TYPE_CHECKING:
    from portable_fn.testing import Harness

__all__ = ["AzureAdapter", "adapter"]

# What a JSON --event file holds (an invocation document, or a mistake); anything else given to
# ``invoke`` is an azure.functions object, handed to the function as the worker would.
_JSON = (Mapping, list, str, int, float, type(None))


class AzureAdapter:
    """Azure Functions, Python v2 programming model."""

    name = "azure"

    def __init__(self, options: AzureOptions | None = None) -> None:
        self.options = options or AzureOptions()
        self._apps: weakref.WeakKeyDictionary[App, Any] = weakref.WeakKeyDictionary()

    def findings(self, app: App) -> list[Finding]:
        from portable_fn_azure.findings import findings

        return findings(app, self.options)

    def package(self, app: App, app_ref: str, out_dir: Path) -> list[Finding]:
        from portable_fn_azure.target import package

        return package(app, app_ref, Path(out_dir), self.options)

    def sample_events(self) -> Mapping[str, Any]:
        """Invocation documents (what the host sends the worker) per trigger kind."""
        folder = resources.files("portable_fn_azure") / "samples"
        return {
            entry.name.removesuffix(".json"): json.loads(entry.read_text(encoding="utf-8"))
            for entry in sorted(folder.iterdir(), key=lambda e: e.name)
            if entry.name.endswith(".json")
        }

    def function_app(self, app: App) -> Any:
        """The ``azure.functions.FunctionApp`` for ``app``, built once per app."""
        native = self._apps.get(app)
        if native is None:
            from portable_fn_azure._functionapp import function_app

            native = self._apps[app] = function_app(app, self.options)
        return native

    def invoke(self, app: App, function: str, native_event: Any) -> Any:
        """Run ``function`` as the worker would on an invocation document (see ``worker``) or
        an ``azure.functions`` object; returns what the function returns (an ``HttpResponse``
        for HTTP) and raises when the invocation fails, as the host sees it."""
        from portable_fn_azure import worker

        functions = self.function_app(app)
        if isinstance(native_event, _JSON):  # a document, not an azure.functions object
            wanted = worker.binding_of(functions, function)
            fitting = [k for k, v in self.sample_events().items() if v.get("binding") == wanted]
            if not (isinstance(native_event, Mapping) and isinstance(
                    native_event.get("binding"), str) and "data" in native_event):
                # The worker reads both keys of every invocation: without them the adapter's
                # own KeyError was reported as the function failing.
                raise sample_refused(
                    "the event is no invocation document: give "
                    f'{{"binding": "{wanted}", "data": ..., "metadata": ...}} as the host sends '
                    "it (portable-fn events azure KIND prints one)",
                    fitting,
                )
            # The worker would hand the function an object of another binding (a Service Bus
            # message to a queue trigger) and fail inside it: a mistake in the invocation.
            if native_event["binding"] != wanted:
                given = native_event["binding"]
                raise sample_refused(
                    f"function {function!r} is bound to {wanted}; the event is "
                    f"{article(given)} {given} invocation",
                    fitting,
                )
            _check_cardinality(function, native_event)
            if function in app.functions:  # not the catch-all HTTP function (FALLBACK)
                _check_reach(app, function, native_event, self.sample_events(), fitting)
        return worker.invoke(functions, function, native_event)

    def harness(self) -> Harness:
        from portable_fn_azure.harness import AzureHarness

        return AzureHarness(self)


def _check_cardinality(function: str, native_event: Mapping[str, Any]) -> None:
    """Service Bus functions are bound ``cardinality: one``, so the host never sends them a batch;
    the library would hand a batch document (``UserPropertiesArray``, what its converter checks)
    to the function as a list, which fails inside it: a mistake in the invocation."""
    metadata = native_event.get("metadata")
    if (native_event["binding"] == "serviceBusTrigger" and isinstance(metadata, Mapping)
            and "UserPropertiesArray" in metadata):
        raise ConfigurationError(
            f"function {function!r} takes one message per invocation (cardinality one); the "
            "event is a batch (cardinality many: *Array metadata)"
        )


def _check_reach(
    app: App, function: str, native_event: Mapping[str, Any], samples: Mapping[str, Any],
    fitting: list[str],
) -> None:
    """Refuse what the host never sends ``function`` though its binding is right: a request
    the host routes to another function's route template
    (https://learn.microsoft.com/azure/azure-functions/functions-bindings-http-webhook-trigger#customize-the-http-endpoint),
    as the Cloudflare adapter refuses it, or a blob event of another container than the one its
    Event Grid subscription is filtered to (README "Triggers"). What cannot be read here is left
    to the function."""
    why = _misfit(app, function, native_event)
    if why is not None:
        reach = [k for k in fitting if _misfit(app, function, samples[k], strict=True) is None]
        raise sample_refused(why, reach)


def _misfit(
    app: App, function: str, native_event: Mapping[str, Any], *, strict: bool = False
) -> str | None:
    """Why the host would not send ``native_event`` to ``function``; None when it would, or
    when that cannot be told (``strict``: a storage event must name the container)."""
    trigger = app.function(function).trigger
    data = native_event["data"]
    value = data.get("value") if isinstance(data, Mapping) else None
    if isinstance(trigger, Http) and isinstance(value, Mapping):
        from portable_fn_azure.http import _split_url

        method = str(value.get("method") or "GET").upper()
        path = _split_url(str(value.get("url") or "/"))[0]
        try:
            routed = app.match(method, path)[0].name
        except PortableFnError:  # no route, or not this method: the function's own 404/405
            return None
        if routed != function:
            return (f"the sample's {method} {path} routes to {routed!r}, not {function!r}: give "
                    "an event whose url and method reach it")
    elif isinstance(trigger, Storage):
        container = _container(native_event, value)
        if container is None and strict:
            return "no container"
        if container is not None and container != trigger.bucket:
            return (f"function {function!r} watches container {trigger.bucket}; the event is of "
                    f"container {container}")
    return None


def _container(native_event: Mapping[str, Any], value: Any) -> str | None:
    """The container a blob trigger or Event Grid blob event names; None when it names none."""
    from portable_fn_azure.blob_events import parse_subject

    metadata = native_event.get("metadata")
    if native_event["binding"] == "blobTrigger" and isinstance(metadata, Mapping):
        path = metadata.get("BlobTrigger")  # <container>/<name>
        return path.partition("/")[0] if isinstance(path, str) and "/" in path else None
    if isinstance(value, str):  # the event as JSON text
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if not isinstance(value, Mapping) or not isinstance(value.get("subject"), str):
        return None
    try:
        return parse_subject(value["subject"])[0]
    except PortableFnError:  # no blob subject: the function acknowledges it, not run
        return None


adapter = AzureAdapter()
