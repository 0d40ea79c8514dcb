# SPDX-License-Identifier: Apache-2.0
"""Azure Functions (Python v2 programming model) adapter for portable-fn.

``function_app(app)`` is the one public entry: the generated ``function_app.py`` is that call.
Submodules: one per native event shape (``http``, ``storage_queue``, ``servicebus``,
``eventgrid``, ``blob_events``, ``blob_trigger``, ``timer``, ``eventhub``), ``ncrontab``,
``publisher``, ``target`` (packaging), ``adapter`` (the entry point object) and ``worker``
(builds ``azure.functions`` objects the way the Python worker does, for tests and ``invoke``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from portable_fn_azure.options import AzureOptions as AzureOptions

if TYPE_CHECKING:
    from portable_fn_azure._functionapp import function_app as function_app

__version__ = "0.1.0"
__all__ = ["AzureOptions", "__version__", "function_app"]


def __getattr__(name: str) -> Any:
    # PEP 562: ``function_app`` loads azure.functions, which the CLI's entry point lookup
    # (inspect, package) must not pay for; the generated function_app.py imports it anyway.
    if name == "function_app":
        from portable_fn_azure._functionapp import function_app

        return function_app
    raise AttributeError(f"module 'portable_fn_azure' has no attribute {name!r}")
