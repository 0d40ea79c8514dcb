"""Find the ``App`` an ``APP`` argument names, as uvicorn finds its ASGI app.

``APP`` is ``package.module:attribute``, ``package.module`` (the one ``App`` in it),
``path/to/file.py`` (the one ``App`` in that file) or ``path/to/file.py:attribute``. The
current directory is put on ``sys.path`` first, as uvicorn does, so ``examples.shop.app:app``
works from a checkout.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from portable_fn.app import App
from portable_fn.errors import ConfigurationError


class AppLoadError(ConfigurationError):
    """``APP`` names no module, file or ``App``; the message says what was tried."""


def split_ref(ref: str) -> tuple[str, str | None]:
    """``module[:attribute]`` or ``path/to/file.py[:attribute]``, as the CLI takes ``APP``
    (a Windows drive letter's colon is not the attribute's)."""
    head, sep, tail = ref.rpartition(":")
    if sep and head and "/" not in tail and "\\" not in tail and len(head) > 1:
        return head, tail
    return ref, None


def _import_file(path: Path) -> ModuleType:
    path = path.resolve()
    # Sibling imports in the user's file work as they do under `python file.py`.
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    name = _module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise AppLoadError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:  # SystemExit: an app that calls sys.exit() at import
        sys.modules.pop(name, None)
        raise AppLoadError(f"importing {path.name} failed: {_where(exc, path)}") from exc
    return module


def _module_name(path: Path) -> str:
    """The name to import ``path`` as: the one its siblings import it by (``from app import
    app``, the folder being on ``sys.path``), so an app whose modules add functions to the App
    it makes (blueprint style) has one App, not a second that took their functions. A private
    name when that one is taken by another module (``json.py``) or is no module name."""
    stem = path.stem
    taken = sys.modules.get(stem)
    if stem.isidentifier() and (taken is None or _file_of(taken) == path):
        return stem
    return f"_portable_fn_app_{stem}"


def _file_of(module: ModuleType) -> Path | None:
    file = getattr(module, "__file__", None)
    return Path(file).resolve() if isinstance(file, str) else None


def _where(exc: BaseException, path: Path | None = None) -> str:
    """``Type: message (file, line n)``: the user's code, where it raised, in one line (the
    innermost frame in ``path``, else the innermost of all; a SyntaxError carries its own)."""
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, SyntaxError):
        return text  # its str() already names the file and line
    import traceback  # only on this error path

    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if path is not None and Path(f.filename) == path] or frames
    if mine:
        text += f" ({Path(mine[-1].filename).name}, line {mine[-1].lineno})"
    return text


def load_app(ref: str) -> App:
    target, attribute = split_ref(ref)
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    path = Path(target)
    if path.is_dir():
        raise AppLoadError(
            f"{target} is a directory; name a Python file in it or a module:ATTRIBUTE"
        )
    if target.endswith(".py") or path.is_file():
        if not path.is_file():
            raise AppLoadError(f"no such file: {target}")
        module = _import_file(path)
    else:
        try:
            module = importlib.import_module(target)
        except ModuleNotFoundError as exc:
            # The APP's own module (or a package of it) missing, not one it imports: `shop`
            # missing while importing `shopapp` is the app's error, named as such.
            if exc.name and (target == exc.name or target.startswith(exc.name + ".")):
                raise AppLoadError(f"no module {target!r} (from APP {ref!r})") from None
            raise AppLoadError(f"importing {target} failed: {_where(exc)}") from exc
        except (Exception, SystemExit) as exc:
            raise AppLoadError(f"importing {target} failed: {_where(exc)}") from exc
    named = {k: v for k, v in vars(module).items() if isinstance(v, App)}
    if attribute is not None:
        value = getattr(module, attribute, None)
        if isinstance(value, App):
            return value
        there = f"Apps there: {', '.join(named)}" if named else "no App there"
        if not hasattr(module, attribute):
            raise AppLoadError(f"{ref!r}: no attribute {attribute!r} in {target} ({there})")
        raise AppLoadError(
            f"{ref!r}: {attribute!r} is {type(value).__name__}, not an App ({there})"
        )
    apps = list(named.values())
    if len(apps) != 1:
        found = "no App" if not apps else f"{len(apps)} Apps"
        raise AppLoadError(f"{ref!r}: found {found}; name one as {target}:ATTRIBUTE")
    return apps[0]
