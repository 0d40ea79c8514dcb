# SPDX-License-Identifier: Apache-2.0
"""Declared ``timeout=`` and ``memory=`` on Azure Functions: what host.json takes, and what is
reported.

Timeout is app-wide: host.json ``functionTimeout`` "sets the timeout duration for functions in
a function app" (one value for all of them), default 5 min and at most 10 on the Consumption
plan, default 30 min and unbounded on Flex Consumption, Premium and Dedicated (Always On), with
a 60-minute grace at scale-in on Flex Consumption and Premium; whatever it says, an HTTP
triggered function must answer within 230 s (the Azure Load Balancer's idle timeout):
https://learn.microsoft.com/azure/azure-functions/functions-scale#timeout
A value past the Consumption maximum stops the host from starting there
(https://github.com/Azure/azure-functions-host/issues/6111).

Memory is the plan's, never a function's: the instance size (Flex Consumption's instance
memory, chosen for the whole app; the Premium or Dedicated SKU; 1.5 GB on Consumption):
https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan#instance-memory,
https://learn.microsoft.com/azure/azure-functions/functions-scale#service-limits
"""

from __future__ import annotations

from portable_fn.adapter import Finding
from portable_fn.app import App
from portable_fn.triggers import Http

from portable_fn_azure.options import timespan

__all__ = ["DEFAULT_TIMEOUT", "function_timeout", "host_timeout", "limits_findings"]

# What host.json said before timeouts could be declared, and still says when none is: the
# Consumption plan's maximum, so the package starts on every plan.
DEFAULT_TIMEOUT = 600
CONSUMPTION_MAX = 600
HTTP_ANSWER_MAX = 230  # the Azure Load Balancer's idle timeout
SCALE_IN_GRACE = 3600  # Flex Consumption and Premium: what a running execution gets at scale-in


def function_timeout(app: App) -> int:
    """host.json ``functionTimeout`` in seconds: the longest of the app's functions, each its
    declared timeout or, undeclared, the ``DEFAULT_TIMEOUT`` it had before, so that no function
    is stopped sooner than it declared or than it was."""
    return max((f.limits.timeout or DEFAULT_TIMEOUT for f in app.functions.values()),
               default=DEFAULT_TIMEOUT)


def host_timeout(seconds: int) -> str:
    """host.json's ``functionTimeout``: a .NET TimeSpan of whole seconds."""
    return timespan(seconds)


def limits_findings(app: App) -> list[Finding]:
    written = function_timeout(app)
    out: list[Finding] = []
    longer = [f"{f.name} ({f.limits.timeout or DEFAULT_TIMEOUT} s)" for f in app.functions.values()
              if (f.limits.timeout or DEFAULT_TIMEOUT) != written]
    if longer:
        out.append(Finding(None, "info", (
            f"timeout is app-wide on Azure: every function gets the longest, {written} s "
            f"(host.json functionTimeout {host_timeout(written)}), so {', '.join(longer)} "
            "may run longer than declared")))
    for function in app.functions.values():
        name, timeout, memory = function.name, function.limits.timeout, function.limits.memory
        if timeout is not None and timeout > CONSUMPTION_MAX:
            grace = ("; past 60 minutes an execution can still be stopped when Flex "
                     "Consumption or Premium scale in" if timeout > SCALE_IN_GRACE else "")
            out.append(Finding(name, "warning", (
                f"timeout {timeout} s is past the Consumption plan's 10-minute maximum: run the "
                "app on the Flex Consumption, Premium or Dedicated (Always On) plan, where "
                f"functionTimeout {host_timeout(written)} is allowed; on a Consumption plan the "
                f"host refuses it and no function of the app starts{grace}")))
        if timeout is not None and timeout > HTTP_ANSWER_MAX and isinstance(function.trigger,
                                                                              Http):
            out.append(Finding(name, "warning", (
                f"timeout {timeout} s: an HTTP function must answer within 230 s on Azure "
                "whatever functionTimeout says (the Azure Load Balancer's idle timeout): the "
                "request times out before the declared timeout")))
        if memory is not None:
            out.append(Finding(name, "warning", (
                f"memory {memory} MB: Azure Functions has no per-function memory; the plan's "
                "instance size decides, shared by every function of the app (Flex Consumption: "
                "the app's instance memory; Premium, Dedicated: the plan's SKU; Consumption: "
                "1.5 GB), and the package sets none")))
    return out
