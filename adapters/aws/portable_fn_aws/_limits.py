# SPDX-License-Identifier: Apache-2.0
"""Each function's timeout and memory as Lambda takes them (tooling only; never shipped).

A function's own ``timeout=`` / ``memory=`` (``Function.limits``, over the app's) is written on
its ``AWS::Serverless::Function``, which overrides the template's Globals, where the defaults
stay (``Settings``: 30 s, 256 MB). SAM's override rule:
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-specification-template-anatomy-globals.html
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from portable_fn.adapter import Finding
from portable_fn.errors import ConfigurationError
from portable_fn.triggers import Http

if TYPE_CHECKING:
    from portable_fn.app import Function
    from portable_fn.triggers import Limits
    from portable_fn_aws._resources import Builder

# What the template gives a function that declares neither (the Globals', as before).
DEFAULT_TIMEOUT = 30
DEFAULT_MEMORY = 256
# "up to a maximum value of 900 seconds (15 minutes)":
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html
MAX_TIMEOUT = 900
# "between 128 MB and 10,240 MB in 1-MB increments" (the core checks the 128):
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
MAX_MEMORY = 10_240
# The HTTP API (AWS::Serverless::HttpApi, the template's only API) waits at most 30 s for its
# integration, a quota that cannot be raised; the caller then gets API Gateway's own 5xx:
# https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
# https://repost.aws/knowledge-center/api-gateway-504-errors
HTTP_API_TIMEOUT = 30


def timeout_of(limits: Limits, default: int = DEFAULT_TIMEOUT) -> int:
    """The seconds Lambda gives an invocation of a function with these limits."""
    return default if limits.timeout is None else limits.timeout


def memory_of(limits: Limits, default: int = DEFAULT_MEMORY) -> int:
    """The MB Lambda gives a function with these limits."""
    return default if limits.memory is None else limits.memory


def properties(b: Builder, fn: Function) -> dict[str, Any]:
    """The function's own ``Timeout`` and ``MemorySize``, those it declares; past Lambda's
    ceilings a refusal (``inspect`` shows it, ``package`` raises it), and an HTTP timeout past
    the API's 30 s a warning."""
    limits = fn.limits
    out: dict[str, Any] = {}
    for field, key, value, ceiling, unit in (
        ("timeout", "Timeout", limits.timeout, MAX_TIMEOUT, "seconds"),
        ("memory", "MemorySize", limits.memory, MAX_MEMORY, "MB"),
    ):
        if value is None:
            continue
        if value > ceiling:
            b.refuse(fn.name, ConfigurationError(
                f"{field}={value}: Lambda takes at most {ceiling} {unit}", function=fn.name))
        else:
            out[key] = value
    if (
        isinstance(fn.trigger, Http)
        and limits.timeout is not None
        and limits.timeout > HTTP_API_TIMEOUT
    ):
        b.findings.append(Finding(
            fn.name,
            "warning",
            f"timeout={limits.timeout}: the HTTP API waits at most {HTTP_API_TIMEOUT} s for "
            f"the function and then answers 503/504 itself, while the function runs on",
        ))
    return out
