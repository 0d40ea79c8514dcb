# SPDX-License-Identifier: Apache-2.0
"""The local runtime as an ASGI application, for any ASGI server.

``portable-fn dev`` serves exactly this; on a container platform (Cloud Run, Knative, a VM) run
it under the server of your choice, e.g. ``uvicorn 'myapp:asgi_app' --factory``-style::

    from portable_fn.asgi import asgi
    from shop import app
    asgi_app = asgi(app, state_dir="/var/lib/shop")

HTTP routes, the CloudEvents ingress (``POST /_pf/events``), the durable broker with retries and
dead letters, the scheduler and the bucket watcher start with the server's lifespan.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from portable_fn.app import App

__all__ = ["asgi"]


def asgi(
    app: App,
    *,
    state_dir: str | Path = ".portable-fn",
    json_logs: bool = True,
    timeout: float | None = None,
    max_body: int | None = None,
) -> Any:
    """An ASGI 3 application running ``app`` (lifespan required: it starts the runtime).

    ``timeout``: seconds a handler may run before its invocation fails (an event's attempt is
    retried, an HTTP request answered 504), and a request body may pause before it is answered
    408; ``max_body``: bytes of request body a route reads
    (413 past it). None, the default here, sets no limit: on a container platform its own
    request timeout and size limit apply (``portable-fn dev`` sets Lambda's, the smallest)."""
    from portable_fn._local.asgi import LocalASGI
    from portable_fn._local.report import Reporter
    from portable_fn._local.runtime import Options, Runtime

    options = Options(state_dir=Path(state_dir), timeout=timeout, max_body=max_body)
    return LocalASGI(Runtime(app, options, Reporter(json_lines=json_logs)))
