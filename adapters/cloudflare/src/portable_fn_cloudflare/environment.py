# SPDX-License-Identifier: Apache-2.0
"""The Worker's ``env`` for handlers: string vars and secrets in ``os.environ``, every binding
through ``env()``.

Workers hand vars, secrets and bindings (KV, D1, R2, Queues, service bindings) to the Worker in
``env`` only (https://developers.cloudflare.com/workers/configuration/environment-variables/,
https://developers.cloudflare.com/workers/configuration/secrets/); a Python Worker reads them
as ``self.env`` on its ``WorkerEntrypoint``
(https://developers.cloudflare.com/workers/languages/python/basics/). The runtime leaves
Python's ``os.environ`` without them: workerd's compatibility flags have a Node one
(``nodejs_compat_populate_process_env``, for JS ``process.env``) and no Python one. So the
Worker copies the string values itself, once per isolate, and ``env()`` gives a handler the
rest.
"""

from __future__ import annotations

import os
from typing import Any


def env() -> Any:
    """The ``env`` of the invocation running: ``env().KV.get("k")``, ``env().DB.prepare(...)``.

    The ``workers`` SDK's wrapper, so a KV, R2 or D1 binding takes and returns Python values.
    Only inside a handler; ``RuntimeError`` elsewhere (import time, another thread)."""
    # Imported here: ``import portable_fn_cloudflare`` (the CLI's packaging) stays light.
    from portable_fn_cloudflare.publisher import current_outbox

    box = current_outbox()
    if box is None:
        raise RuntimeError("portable_fn_cloudflare.env() works only inside a handler invocation")
    return box.env


def string_values(worker_env: Any) -> dict[str, str]:
    """The vars and secrets of ``worker_env`` whose value is a string (a JSON var, a binding or
    a non-string var is left out: ``os.environ`` holds strings only)."""
    # The SDK's _EnvWrapper holds the JS env object; a Pyodide JsProxy of an object lists its
    # properties as a Mapping through ``as_object_map``; a plain Python object (the stand-ins)
    # through its ``__dict__``.
    raw = getattr(worker_env, "_env", worker_env)
    as_map = getattr(raw, "as_object_map", None)
    items = as_map().items() if callable(as_map) else vars(raw).items()
    return {k: v for k, v in items if isinstance(k, str) and isinstance(v, str)}


def export_strings(worker_env: Any) -> None:
    """Put the env's string values in ``os.environ`` (over a same-named one: the Worker's
    configuration is the deploy's, as an app setting is on the other providers), and make
    the core read its settings (``PORTABLE_FN_LOG_LEVEL``, ``PORTABLE_FN_METRICS``) again.

    Called on an isolate's first invocation, not at import: Python Workers snapshot memory
    after the entry is imported, and a secret must not be in the snapshot."""
    values = string_values(worker_env)
    os.environ.update(values)
    if "PORTABLE_FN_LOG_LEVEL" in values:
        from portable_fn import log

        log.set_level(None)
    if "PORTABLE_FN_METRICS" in values:
        from portable_fn import _observe

        _observe.reset()
