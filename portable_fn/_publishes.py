# SPDX-License-Identifier: Apache-2.0
"""What each handler publishes to, read from its source (tooling only: no target ships it).

The targets need the topics and queues a function writes to: AWS for least-privilege policies,
GCP so ``deploy.sh`` creates a topic the app only publishes to (a publish to one that does not
exist fails NOT_FOUND, https://cloud.google.com/pubsub/docs/reference/error-codes). The handlers
say so in code (``pf.publish("order-events", ...)``), so their syntax tree is read, as Chalice's
policy generator reads boto3 calls. A target that is not a string literal cannot be known: the
caller reports it (and AWS grants the app's resources of that kind).

Names are looked up where the handler runs (its globals and closure), so
``from portable_fn import publish as pub`` and ``import portable_fn as p`` count, and the app's
own functions that the handler calls (``notify(order)``, ``utils.notify(order)``) are read in turn:
a function that publishes through a helper needs the same grant, or its first publish is denied.
"""

from __future__ import annotations

import ast
import inspect
import sysconfig
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FunctionType, ModuleType
from typing import Any

from portable_fn import _publish

_KINDS = {"publish": "topic", "send": "queue", "emit": "bus"}
_MODULES = {"pf", "portable_fn"}
_PUBLISHERS: dict[Any, str] = {
    _publish.publish: "topic",
    _publish.send: "queue",
    _publish.emit: "bus",
}
# Where the standard library and installed packages live: their functions are not the app's.
_LIBRARIES = tuple(
    sorted({sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")})
)
_MISSING = object()


@dataclass
class Targets:
    topics: set[str] = field(default_factory=set)
    queues: set[str] = field(default_factory=set)
    bus: bool = False
    unknown: set[str] = field(default_factory=set)  # kinds with a non-literal target


def scan(handler: Callable[..., Any]) -> Targets:
    targets = Targets()
    _scan(handler, targets, set())
    return targets


def _scan(function: Callable[..., Any], targets: Targets, seen: set[Any]) -> None:
    function = inspect.unwrap(function)
    code = getattr(function, "__code__", function)
    if code in seen:  # recursion, or a helper called twice
        return
    seen.add(code)
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        targets.unknown.update(("topic", "queue"))
        return
    names = _namespace(function)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        kind, callee = _resolve(node.func, names)
        if callee is not None:
            _scan(callee, targets, seen)
        if kind is None:
            continue
        if kind == "bus":
            targets.bus = True
            continue
        first = node.args[0] if node.args else None
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            (targets.topics if kind == "topic" else targets.queues).add(first.value)
        else:
            targets.unknown.add(kind)


def _namespace(function: Callable[..., Any]) -> dict[str, Any]:
    """The names a function's body sees besides its locals: its globals, then its closure."""
    names = dict(getattr(function, "__globals__", {}))
    code = getattr(function, "__code__", None)
    cells = getattr(function, "__closure__", None) or ()
    for name, cell in zip(code.co_freevars if code else (), cells, strict=False):
        try:
            names[name] = cell.cell_contents
        except ValueError:  # a cell not filled yet
            continue
    return names


def _resolve(func: ast.expr, names: dict[str, Any]) -> tuple[str | None, Any]:
    """(kind of publish, or None; the app's own function called, to read in turn, or None)."""
    if isinstance(func, ast.Name):
        value = names.get(func.id, _MISSING)
        if value is _MISSING:  # a local or an unresolvable name: judged by its name
            return _KINDS.get(func.id), None
    elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        # pf.publish(...) / portable_fn.send(...) / utils.notify(...), not some_socket.send(...)
        owner = names.get(func.value.id, _MISSING)
        if owner is _MISSING:
            return (_KINDS.get(func.attr) if func.value.id in _MODULES else None), None
        if not isinstance(owner, ModuleType):
            return None, None
        value = getattr(owner, func.attr, None)
    else:
        return None, None
    try:
        kind = _PUBLISHERS.get(value)
    except TypeError:  # unhashable
        return None, None
    return kind, (value if kind is None and _is_app_code(value) else None)


def _is_app_code(value: Any) -> bool:
    """A plain function of the app's own, not portable-fn's, a library's or the stdlib's."""
    if not isinstance(value, FunctionType):
        return False
    top = (value.__module__ or "").split(".")[0]
    if top == "portable_fn" or top.startswith("portable_fn_"):  # the framework, an adapter
        return False
    return not value.__code__.co_filename.startswith(_LIBRARIES)
