# SPDX-License-Identifier: Apache-2.0
"""What each handler publishes to, read from its source (tooling only).

Least-privilege policies need the topics and queues a function writes to; the handlers say so
in code (``pf.publish("order-events", ...)``), so their syntax tree is read, as Chalice's policy
generator reads boto3 calls. A target that is not a string literal cannot be known: the caller
reports it and grants the app's resources of that kind.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_KINDS = {"publish": "topic", "send": "queue", "emit": "bus"}
_MODULES = {"pf", "portable_fn"}


@dataclass
class Targets:
    topics: set[str] = field(default_factory=set)
    queues: set[str] = field(default_factory=set)
    bus: bool = False
    unknown: set[str] = field(default_factory=set)  # kinds with a non-literal target


def scan(handler: Callable[..., Any]) -> Targets:
    targets = Targets()
    try:
        source = textwrap.dedent(inspect.getsource(handler))
    except (OSError, TypeError):
        targets.unknown.update(("topic", "queue"))
        return targets
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute):
            # pf.publish(...) / portable_fn.send(...), not some_socket.send(...)
            owner = func.value
            name = func.attr if isinstance(owner, ast.Name) and owner.id in _MODULES else None
        else:
            name = func.id if isinstance(func, ast.Name) else None
        kind = _KINDS.get(name or "")
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
    return targets
