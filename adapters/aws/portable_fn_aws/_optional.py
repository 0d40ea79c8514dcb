# SPDX-License-Identifier: Apache-2.0
"""Which optional parts of the core an ``app.zip`` leaves out (packaging tooling only).

The idempotency stores, the middleware module and the validation modules are imported when a
function is registered that uses them (``_pipeline.build_call``, ``App.middleware``): an app
that registers none never imports them, and its zip is smaller without them (the shop's by
about 9 kB). The event loop module (``_loop``) is imported by the first async handler to run:
an app without one leaves it out too (3 kB). Importing the entry imports every module shipped
beside the app, and any ``App`` those define registers its functions too, so every ``App`` at
the top level of a module loaded from the app's folder counts, not only the one packaged.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

from portable_fn._app_sources import app_origin, app_root
from portable_fn._pipeline import validates, wrapped
from portable_fn.app import App, Function

__all__ = ["left_out"]


def left_out(app: App, app_ref: str) -> tuple[str, ...]:
    """The ``portable_fn`` files and packages no app shipped with ``app`` imports."""
    apps = shipped_apps(app, app_ref)
    functions = [fn for each in apps for fn in each.functions.values()]
    out: tuple[str, ...] = ()
    if not any(fn.options.get("idempotent") for fn in functions):
        out += ("idempotency", "_sqlite.py")  # SQLite serves only the idempotency store
    if not any(each.middlewares for each in apps):
        out += ("_middleware.py",)
    if not any(validates(fn.handler) for fn in functions):
        out += ("_validation.py", "_converters.py", "_models.py")
    if not any(_awaits(fn) for fn in functions):
        out += ("_loop.py",)  # the event loop async handlers run on (``run_sync``)
    return out


def _awaits(fn: Function) -> bool:
    """Whether the sync dispatch may get an awaitable from ``fn``, and so import ``_loop``: an
    ``async def`` handler or middleware, or a plain wrapper (``functools.wraps``) around an
    ``async def``, as a decorator that is not async-aware makes one."""
    return fn.is_async or any(
        inspect.iscoroutinefunction(getattr(inner, "__func__", inner))
        for inner in wrapped(fn.handler)
    )


def shipped_apps(app: App, app_ref: str) -> list[App]:
    """``app`` and every ``App`` at the top level of a loaded module under the app's root."""
    origin, module = app_origin(app_ref)
    root = app_root(origin, module).resolve()
    found = [app]
    for loaded in list(sys.modules.values()):
        file = getattr(loaded, "__file__", None)
        if not isinstance(file, str):
            continue
        try:
            inside = Path(file).resolve().is_relative_to(root)
        except (OSError, ValueError):
            continue
        if inside:
            found += [
                value for value in list(vars(loaded).values())
                if isinstance(value, App) and all(value is not seen for seen in found)
            ]
    return found
