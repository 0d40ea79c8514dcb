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
from portable_fn.errors import ConfigurationError

from portable_fn_azure.options import AzureOptions

if TYPE_CHECKING:
    from portable_fn.testing import Harness

__all__ = ["AzureAdapter", "adapter"]


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
        if isinstance(native_event, Mapping) and isinstance(native_event.get("binding"), str):
            # The worker would hand the function an object of another binding (a Service Bus
            # message to a queue trigger) and fail inside it: a mistake in the invocation.
            wanted = worker.binding_of(functions, function)
            if native_event["binding"] != wanted:
                fitting = [k for k, v in self.sample_events().items() if v.get("binding") == wanted]
                given = native_event["binding"]
                raise sample_refused(
                    f"function {function!r} is bound to {wanted}; the event is "
                    f"{article(given)} {given} invocation",
                    fitting,
                )
            _check_cardinality(function, native_event)
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


adapter = AzureAdapter()
