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
in a module, or read it from R2 or KV): ``copy_app`` names the files that Azure and GCP would
carry and the Worker does not, in a warning. A Worker's upload is size-limited
(https://developers.cloudflare.com/workers/platform/limits/#worker-size), which the shared skip
rules (virtualenvs, tests, caches, build output, ``node_modules``, ``python_modules``, the output
folder) keep small.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from portable_fn.adapter import Finding, copy_app_source

if TYPE_CHECKING:
    from portable_fn._app_sources import AppSource
    from portable_fn.app import App

# Top-level names of src/ the Worker itself needs: its ``main`` (``entry``), the vendored
# packages, and the modules the runtime provides (the SDK, Pyodide's FFI).
RESERVED = frozenset(("entry", "portable_fn", "portable_fn_cloudflare", "workers", "js", "pyodide"))

# Data files named in the warning; the rest are counted.
_SHOWN = 8


def copy_app(app: App, app_ref: str, src: Path, out_dir: Path) -> AppSource:
    """Copy the app's modules for ``app_ref`` into ``src``; the module and attribute the entry
    imports, and what was left out that the user should know about."""
    source = copy_app_source(app, app_ref, src, provider="cloudflare", reserved=RESERVED,
                             python_only=True, out_dir=out_dir)
    left_out = _data_files(app, app_ref, out_dir)
    if not left_out:
        return source
    shown = ", ".join(left_out[:_SHOWN]) + (
        f" and {len(left_out) - _SHOWN} more" if len(left_out) > _SHOWN else "")
    return dataclasses.replace(source, findings=(*source.findings, Finding(
        None, "warning",
        f"{shown}: not uploaded with a Python Worker (wrangler uploads its *.py modules only); "
        "code that opens them fails on Cloudflare: embed the data in a module or read it from "
        "R2 or KV")))


def _data_files(app: App, app_ref: str, out_dir: Path) -> list[str]:
    """The files besides modules that the shared rules carry for the app (what Azure and GCP
    ship): copied once more, data included, to a scratch folder, so the list follows those
    rules exactly. ``requirements.txt`` is the packager's own input, not the app's data."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        copy_app_source(app, app_ref, root, provider="cloudflare", reserved=RESERVED,
                        out_dir=out_dir)
        return sorted(
            path.relative_to(root).as_posix()
            for path in root.rglob("*")
            if path.is_file() and path.suffix != ".py" and path.name != "requirements.txt"
        )
