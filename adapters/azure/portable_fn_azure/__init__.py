# SPDX-License-Identifier: Apache-2.0
"""Azure Functions (Python v2 programming model) adapter for portable-fn.

``function_app(app)`` is the one public entry: the generated ``function_app.py`` is that call.
Submodules: one per native event shape (``http``, ``storage_queue``, ``servicebus``,
``eventgrid``, ``blob_events``, ``blob_trigger``, ``timer``, ``eventhub``), ``ncrontab``,
``publisher``, ``target`` (packaging), ``adapter`` (the entry point object) and ``worker``
(builds ``azure.functions`` objects the way the Python worker does, for tests and ``invoke``).
"""

from portable_fn_azure._functionapp import function_app as function_app
from portable_fn_azure.options import AzureOptions as AzureOptions

__version__ = "0.1.0"
__all__ = ["AzureOptions", "__version__", "function_app"]
