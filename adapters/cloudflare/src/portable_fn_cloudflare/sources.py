# SPDX-License-Identifier: Apache-2.0
"""The app's own code a Worker carries: the Python modules only, under the Worker's own names.

A Python Worker imports the modules uploaded beside its entry, with ``src/`` as the import root
("Python workers can be split across multiple files", ``import module`` from ``src/main.py``:
https://developers.cloudflare.com/workers/languages/python/examples/#modules-in-your-worker).
The packager copies what the app can import the way it imports it locally, with the rules every
target shares (``portable_fn._app_sources``: the modules and packages beside a file app, the
outermost regular package of ``pkg.app``, namespace modules the app imported, one set of skip
rules). What is the Worker's own choice is here:

Only ``*.py`` files are copied. wrangler uploads, from the folder of a ``.py`` ``main``, the files
its module rules match, and for a Python Worker adds ``{type = "PythonModule", globs =
["**/*.py"]}`` (wrangler ``applyPythonConfig``; ``find_additional_modules``,
https://github.com/cloudflare/workers-sdk/releases/tag/wrangler%403.11.0): a package's data files
would never reach the Worker's filesystem, and its default rules would upload stray ``.txt``,
``.html``, ``.js`` or ``.bin`` files as modules.
So data an app reads with ``Path(__file__).parent / "x.json"`` does not reach a Worker (embed it
in a module, or read it from R2 or KV). A Worker's upload is size-limited
(https://developers.cloudflare.com/workers/platform/limits/#worker-size), which the shared skip
rules (virtualenvs, tests, caches, build output, ``node_modules``, ``python_modules``, the output
folder) keep small.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from portable_fn.adapter import copy_app_source

if TYPE_CHECKING:
    from portable_fn._app_sources import AppSource
    from portable_fn.app import App

# Top-level names of src/ the Worker itself needs: its ``main`` (``entry``), the vendored
# packages, and the modules the runtime provides (the SDK, Pyodide's FFI).
RESERVED = frozenset(("entry", "portable_fn", "portable_fn_cloudflare", "workers", "js", "pyodide"))


def copy_app(app: App, app_ref: str, src: Path, out_dir: Path) -> AppSource:
    """Copy the app's modules for ``app_ref`` into ``src``; the module and attribute the entry
    imports, and what was left out that the user should know about."""
    return copy_app_source(app, app_ref, src, provider="cloudflare", reserved=RESERVED,
                           python_only=True, out_dir=out_dir)
