# SPDX-License-Identifier: Apache-2.0
"""``lambda_handler(app, name)``: the Lambda ``(event, context)`` callable for one function.

The function and its trigger are checked when the handler is made (at import of the generated
entry); the codecs its trigger needs are imported on its first invocation, so a process that
serves one HTTP function never loads the queue, stream or storage codecs (Lambda runs one
function per process). Each trigger kind then gets its own closure (``_http_handler``,
``_event_handler``): the per-invocation path does no dispatch on the trigger.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from portable_fn._trace import from_xray
from portable_fn._value import setters
from portable_fn.adapter import Context
from portable_fn.context import context_view
from portable_fn.triggers import Http, Schedule, Storage, Stream
from portable_fn_aws._common import PROVIDER

if TYPE_CHECKING:
    from portable_fn.app import App

Handler = Callable[[Any, Any], Any]


def lambda_handler(app: App, function_name: str) -> Handler:
    """The Lambda handler for ``app``'s function ``function_name`` (validated now, not per call)."""
    trigger = app.function(function_name).trigger
    if app.publisher is None:
        # Cheap: no boto3 until the first publish. A publisher the caller installed wins.
        from portable_fn_aws.publisher import AwsPublisher

        app.use_publisher(AwsPublisher())
    built: list[Handler] = []

    def handler(event: Any, context: Any) -> Any:
        if not built:
            built.append(_build(app, function_name, trigger))
        return built[0](event, context)

    handler.__name__ = handler.__qualname__ = function_name
    return handler


def _build(app: App, name: str, trigger: Any) -> Handler:
    if isinstance(trigger, Http):
        from portable_fn_aws._http_handler import http_handler

        return http_handler(app, name)
    from portable_fn_aws import _event_handler

    if isinstance(trigger, Schedule):
        return _event_handler.schedule_handler(app, name, trigger.expression)
    return _event_handler.event_handler(
        app,
        name,
        stream=isinstance(trigger, Stream),
        bucket=trigger.bucket if isinstance(trigger, Storage) else None,
        retry=getattr(trigger, "retry", None),
    )


class LambdaInvocation(Context, view=True):
    """The portable ``Context`` of one Lambda invocation, read from the runtime's context object.

    Built on every invocation (every SQS receive count), so only the slots that vary are set
    (the deadline read from awslambdaric's ``_epoch_deadline_time_in_ms``, the one it was
    handed); the request id is read from the runtime's LambdaContext when asked.
    https://docs.aws.amazon.com/lambda/latest/dg/python-context.html
    """

    provider = PROVIDER

    @property  # type: ignore[misc]
    def invocation_id(self) -> str:
        return getattr(self.native_context, "aws_request_id", None) or "local"

    @property  # type: ignore[misc]
    def traceparent(self) -> str | None:
        """The W3C trace context Lambda hands the invocation in its client context, which
        awslambdaric 4.2 and later give as ``context.w3c()``
        (https://github.com/aws/aws-lambda-python-runtime-interface-client/releases/tag/4.2.0),
        as Azure's host hands its trace context: read when asked (a log line or a publish),
        None on an older runtime or when the invocation carries none."""
        w3c = getattr(self.native_context, "w3c", None)
        try:
            value = w3c().get("traceparent") if w3c is not None else None
        except Exception:  # a context object that only looks like awslambdaric's
            return None
        return value if isinstance(value, str) and value else None


class XRayMessageInvocation(LambdaInvocation, view=True):
    """A ``LambdaInvocation`` for one SQS message that carries its producer's X-Ray trace
    (``attributes.AWSTraceHeader``, which SQS sets when the sender was traced):
    https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html and, for the
    header, https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader

    Its ``traceparent`` is that trace, so the message logs and publishes under its producer's
    trace rather than the batch's invocation (a W3C ``traceparent`` the event carries itself
    still wins, as the core reads the event first). Converted when first read, since most
    messages never log; a malformed header is None, and the invocation's own trace applies.
    """

    __slots__ = ("_xray",)
    _xray: str

    @property  # type: ignore[misc]
    def traceparent(self) -> str | None:
        return from_xray(self._xray)


(_set_xray,) = setters(XRayMessageInvocation, "_xray")


def with_xray(ctx: Context, header: str) -> Context:
    """``ctx`` for one message whose ``AWSTraceHeader`` is ``header``."""
    traced = context_view(
        XRayMessageInvocation,
        ctx.function_name,
        ctx.attempt,
        ctx.deadline,
        ctx.native,
        ctx.native_context,
    )
    _set_xray(traced, header)
    return traced


def context_for(name: str, context: Any, native: Any, attempt: int = 1) -> Context:
    return context_view(LambdaInvocation, name, attempt, _deadline(context), native, context)


def _deadline(context: Any) -> float | None:
    """The epoch second Lambda stops the invocation, fixed when the invocation starts."""
    try:
        return float(context._epoch_deadline_time_in_ms) / 1000
    except (AttributeError, TypeError, ValueError):
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        try:
            return time.time() + float(remaining()) / 1000 if remaining is not None else None
        except (TypeError, ValueError):
            return None
