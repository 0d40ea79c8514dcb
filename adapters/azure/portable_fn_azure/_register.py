# SPDX-License-Identifier: Apache-2.0
"""What every registrar shares: the trigger of a function, and its name on the FunctionApp."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import azure.functions as func
from portable_fn.app import App, Function
from portable_fn.errors import ConfigurationError

from portable_fn_azure.options import AzureOptions

__all__ = ["Registrar", "named", "trigger_of"]

Registrar = Callable[[func.FunctionApp, App, Function, AzureOptions], None]


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
