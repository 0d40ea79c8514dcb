# SPDX-License-Identifier: Apache-2.0
"""What every registrar shares: the trigger of a function, its name on the FunctionApp, and the
runner that its entry builds on the function's first invocation.

Registration runs at every cold start (the host imports function_app.py to index it), and an
Azure Function App serves all its functions from one process: so a registrar checks the function
and applies the library's decorators now, but imports the codec and the invocation plumbing its
trigger needs only when the function first runs (as ``portable_fn_aws._handler`` does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import azure.functions as func
from portable_fn.app import App, Function
from portable_fn.errors import ConfigurationError

from portable_fn_azure.options import AzureOptions

__all__ = ["Deferred", "Registrar", "Runner", "named", "trigger_of"]

Registrar = Callable[[func.FunctionApp, App, Function, AzureOptions], None]
# What an entry hands its native input and the worker's context to, once built.
Runner = Callable[[Any, Any], Any]

_T = TypeVar("_T")


def trigger_of(function: Function, kind: type[_T]) -> _T:
    trigger = function.trigger
    if not isinstance(trigger, kind):  # only if REGISTRARS were miswired
        raise ConfigurationError(f"{function.name}: expected a {kind.__name__} trigger",
                                 function=function.name)
    return trigger


def named(app: func.FunctionApp, function: Function) -> Callable[[Any], Any]:
    decorate: Callable[[Any], Any] = app.function_name(name=function.name)
    return decorate


class Deferred:
    """One function's runner, built by ``build`` on its first invocation.

    An entry calls ``(deferred.run or deferred.load())(native, context)``: after the first call
    that is one slot read. Two first invocations racing on worker threads may both build; each
    runner is complete and the first one stays, so the race is harmless.
    """

    __slots__ = ("_build", "run")

    def __init__(self, build: Callable[[], Runner]) -> None:
        self._build = build
        self.run: Runner | None = None

    def load(self) -> Runner:
        if self.run is None:
            self.run = self._build()
        return self.run
