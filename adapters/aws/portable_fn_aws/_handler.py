# SPDX-License-Identifier: Apache-2.0
"""``lambda_handler(app, name)``: the Lambda ``(event, context)`` callable for one function.

The trigger is known when the handler is built, so each kind gets its own small closure and
the per-invocation path does no dispatch on the trigger; only the native shape is inferred per
call (one function may sit behind API Gateway and a function URL, or a queue and a topic).
Failure semantics per source:
- SQS: ``batchItemFailures`` with the failed message ids (FIFO: once a message of a group fails
  the rest of that group fails too, so the group's order holds);
- Kinesis / DynamoDB Streams: processing stops at the first failure and its sequence number is
  reported, as Lambda resumes the shard from there (everything after would be replayed anyway);
- SNS, S3, EventBridge (asynchronous invocations): the error is raised, so Lambda retries it and
  then sends it to the function's on-failure destination.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from portable_fn.adapter import Context, Outcome, dispatch_event, dispatch_http
from portable_fn.errors import EventDecodeError, HTTPError, PortableFnError
from portable_fn.events import CloudEvent
from portable_fn.http import Request, Response
from portable_fn.triggers import Http, Schedule, Stream
from portable_fn_aws import (
    alb,
    apigw_v1,
    apigw_v2,
    dynamodb,
    eventbridge,
    kinesis,
    s3,
    sns,
    sqs,
)
from portable_fn_aws._common import PROVIDER, decode_error

if TYPE_CHECKING:
    from portable_fn.app import App

Handler = Callable[[Any, Any], Any]


def lambda_handler(app: App, function_name: str) -> Handler:
    """The Lambda handler for ``app``'s function ``function_name`` (validated now, not per call)."""
    function = app.function(function_name)
    if app.publisher is None:
        # Cheap: no boto3 until the first publish. A publisher the caller installed wins.
        from portable_fn_aws.publisher import AwsPublisher

        app.use_publisher(AwsPublisher())
    trigger = function.trigger
    if isinstance(trigger, Http):
        return _http_handler(app, function_name)
    if isinstance(trigger, Schedule):
        return _schedule_handler(app, function_name, trigger.expression)
    return _event_handler(app, function_name, stream=isinstance(trigger, Stream))


def _context(name: str, context: Any, native: Any, attempt: int = 1) -> Context:
    try:
        # The runtime's LambdaContext (awslambdaric) keeps the deadline it was handed; reading
        # it spares a clock call and two lookups per invocation.
        request_id = context.aws_request_id
        deadline: float | None = context._epoch_deadline_time_in_ms / 1000
    except (AttributeError, TypeError):
        request_id = getattr(context, "aws_request_id", None) or "local"
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        deadline = time.time() + remaining() / 1000 if remaining is not None else None
    return Context(
        provider=PROVIDER,
        function_name=name,
        invocation_id=request_id,
        attempt=attempt,
        deadline=deadline,
        native=native,
        native_context=context,
    )


# -- HTTP ---------------------------------------------------------------------------------------


def _http_handler(app: App, name: str) -> Handler:
    v2_to, v2_from = apigw_v2.to_request, apigw_v2.from_response

    def handler(event: Any, context: Any) -> dict[str, Any]:
        to_request: Callable[[dict[str, Any]], Request]
        from_response: Callable[[Response, dict[str, Any] | None], dict[str, Any]]
        # HTTP API v2 and function URLs first: the shape the template deploys.
        if type(event) is dict and event.get("version") == "2.0":
            # Function URLs send this payload format too (function_url.py).
            to_request, from_response = v2_to, v2_from
        elif type(event) is dict and alb.matches(event):
            to_request, from_response = alb.to_request, alb.from_response
        elif type(event) is dict and apigw_v1.matches(event):
            to_request, from_response = apigw_v1.to_request, apigw_v1.from_response
        else:
            error = HTTPError("not an HTTP event for this function", status=400)
            return v2_from(Response.json(error.body(), status=400), None)
        try:
            request = to_request(event)
        except EventDecodeError as exc:
            response = Response.json(HTTPError(str(exc), status=400).body(), status=400)
            return from_response(response, event)
        response = dispatch_http(app, request, _context(name, context, event), name)
        return from_response(response, event)

    return handler


# -- events ---------------------------------------------------------------------------------------


def _schedule_handler(app: App, name: str, expression: str) -> Handler:
    def handler(event: Any, context: Any) -> None:
        _raise_on_failure(
            dispatch_event(
                app,
                name,
                eventbridge.schedule_event(event, expression),
                _context(name, context, event),
            )
        )

    return handler


def _raise_on_failure(outcome: Outcome) -> None:
    if not outcome.ok:
        # Re-raise the handler's own error: Lambda records its type and retries the event.
        raise outcome.error or decode_error("lambda", "event", "handler failed")


def _event_handler(app: App, name: str, *, stream: bool) -> Handler:
    def handler(event: Any, context: Any) -> Any:
        records = event.get("Records") if type(event) is dict else None
        if type(records) is list and records:
            first = records[0]
            if sqs.matches_record(first):
                return _sqs_batch(app, name, records, context, event)
            if kinesis.matches_record(first):
                return _stream_batch(app, name, records, context, event, kinesis)
            if dynamodb.matches_record(first):
                return _stream_batch(app, name, records, context, event, dynamodb)
            if sns.matches_record(first) or s3.matches_record(first):
                _run_async(app, name, records, context, event)
                return None
        if eventbridge.matches(event):
            decoded = eventbridge.to_event(event)
            if decoded is not None:
                _raise_on_failure(
                    dispatch_event(app, name, decoded, _context(name, context, event))
                )
            return None
        # Unknown shape: fail loudly (Lambda logs it and dead-letters after its retries).
        raise decode_error("lambda", "event", "not an event shape this adapter knows")

    return handler


def _decode_record(record: Any) -> list[CloudEvent]:
    if sns.matches_record(record):
        return sns.from_record(record)
    if s3.matches_record(record):
        event = s3.from_record(record)
        return [] if event is None else [event]
    raise decode_error("lambda", "Records", "mixed record sources in one event")


def _run_async(app: App, name: str, records: list[Any], context: Any, native: Any) -> None:
    """SNS / S3 direct invocations: one event usually; any failure fails the invocation."""
    ctx = _context(name, context, native)
    first_error: BaseException | None = None
    for record in records:
        try:
            events = _decode_record(record)
        except PortableFnError as exc:
            first_error = first_error or exc
            continue
        for decoded in events:
            outcome = dispatch_event(app, name, decoded, ctx)
            if not outcome.ok and first_error is None:
                first_error = outcome.error
    if first_error is not None:
        raise first_error


def _sqs_batch(
    app: App, name: str, records: list[Any], context: Any, native: Any
) -> sqs.BatchResponse:
    failed: list[str] = []
    failed_groups: set[str] = set()
    contexts: dict[int, Context] = {}  # one per receive count: most batches need one
    for record in records:
        message_id = record.get("messageId") if type(record) is dict else None
        if not isinstance(message_id, str):
            continue  # no id to report: nothing Lambda could redeliver selectively
        attributes = record.get("attributes")
        group = attributes.get("MessageGroupId") if type(attributes) is dict else None
        if group is not None and group in failed_groups:
            failed.append(message_id)  # FIFO: keep the group's order behind its failure
            continue
        attempt = sqs.attempt(record)
        ctx = contexts.get(attempt)
        if ctx is None:
            ctx = contexts[attempt] = _context(name, context, native, attempt)
        try:
            decoded = sqs.from_record(record)
            if len(decoded) == 1:  # the common case: one message, one event
                ok = dispatch_event(app, name, decoded[0], ctx).ok
            else:
                ok = all(dispatch_event(app, name, e, ctx).ok for e in decoded)
        except PortableFnError as exc:
            ctx.logger.exception("could not decode SQS message", exc=exc)
            ok = False
        if not ok:
            failed.append(message_id)
            if group is not None:
                failed_groups.add(group)
    return sqs.batch_response(failed)


def _stream_batch(
    app: App, name: str, records: list[Any], context: Any, native: Any, codec: Any
) -> sqs.BatchResponse:
    ctx = _context(name, context, native)
    for record in records:
        try:
            ok = dispatch_event(app, name, codec.from_record(record), ctx).ok
        except PortableFnError as exc:
            ctx.logger.exception("could not decode stream record", exc=exc)
            ok = False
        if not ok:
            try:
                return sqs.batch_response([codec.sequence_number(record)])
            except PortableFnError:
                # No sequence number to resume from: fail the whole batch (Lambda retries it).
                raise exc_for(record) from None
    return sqs.batch_response([])


def exc_for(record: Any) -> EventDecodeError:
    return decode_error(
        "stream", "sequenceNumber", f"record without a sequence number: {record!r:.200}"
    )
