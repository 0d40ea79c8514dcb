# SPDX-License-Identifier: Apache-2.0
"""portable-fn on Cloudflare Workers (Python Workers, which run on Pyodide).

``worker_entrypoint(app)`` is the one runtime name: the generated ``src/entry.py`` binds its
result as ``Default``. ``env()`` is the Worker's ``env`` (KV, D1, R2 and other bindings) for the
handler running; its string vars and secrets are in ``os.environ`` as on every provider.
Packaging (``portable-fn package --provider cloudflare``) goes through the adapter object
registered under the ``portable_fn.adapters`` entry point.
"""

from portable_fn_cloudflare.environment import env as env
from portable_fn_cloudflare.worker import worker_entrypoint as worker_entrypoint

__version__ = "0.1.0"
