# SPDX-License-Identifier: Apache-2.0
"""Event function handlers: queue, topic, storage, event bus, schedule and stream triggers.

Failure semantics per source:
- SQS: ``batchItemFailures`` with the failed message ids (FIFO: once a message of a group fails
  the rest of that group fails too, so the group's order holds);
- Kinesis / DynamoDB Streams: processing stops at the first failure and its sequence number is
  reported, as Lambda resumes the shard from there (everything after would be replayed anyway);
- SNS, S3, EventBridge (asynchronous invocations): the error is raised, so Lambda retries it and
  then sends it to the function's on-failure destination; a failure retrying cannot fix
  (``pf.NonRetryable``, an undecodable event) goes to that destination at once (``_redelivery``)
  and the invocation succeeds, its retries unspent.
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from portable_fn.adapter import OK, Context, Outcome, run_event
from portable_fn.errors import EventDecodeError, PortableFnError
from portable_fn.events import CloudEvent
from portable_fn.triggers import Retry
from portable_fn_aws import _batches, eventbridge, s3, sns, sqs
from portable_fn_aws._batches import Adapt
from portable_fn_aws._common import MALFORMED, decode_error, malformed
from portable_fn_aws._handler import Handler, context_for
from portable_fn_aws._redelivery import Redelivery

if TYPE_CHECKING:
    from portable_fn.app import App


def schedule_handler(app: App, name: str, expression: str) -> Handler:
    fn = app.function(name)
    redelivery = Redelivery(None)

    def handler(event: Any, context: Any) -> None:
        ctx = context_for(name, context, event)
        try:
            scheduled = eventbridge.schedule_event(
                event, expression, getattr(context, "aws_request_id", None)
            )
        except MALFORMED as exc:
            _undecodable(exc, event, context, ctx, redelivery)
            return
        _settle(run_event(app, fn, scheduled, ctx), event, context, ctx, redelivery)

    return handler


def _settle(
    outcome: Outcome, native: Any, context: Any, ctx: Context, redelivery: Redelivery
) -> None:
    """End an asynchronous invocation: return when it succeeded, or when retrying cannot help
    and the event is now in the dead-letter queue; otherwise raise the handler's own error, so
    Lambda records its type and retries the event."""
    if outcome.ok:
        return
    if not outcome.retryable and redelivery.dead_letter_invocation(
        native, context, outcome.error, ctx
    ):
        return
    raise outcome.error or decode_error("lambda", "event", "handler failed")


def _undecodable(
    exc: BaseException, native: Any, context: Any, ctx: Context, redelivery: Redelivery
) -> None:
    """End an asynchronous invocation whose event cannot be decoded: the same bytes will not
    decode on Lambda's retries, so it is dead-lettered at once as an undecodable SNS or S3
    record is (``_run_async``), else raised as the typed ``EventDecodeError``."""
    error = malformed(eventbridge.TRIGGER, exc)
    error.__cause__ = exc
    ctx.logger.exception("could not decode the event", exc=error)
    _settle(Outcome(False, error, False), native, context, ctx, redelivery)


def _declared_bucket(declared: str, function: str) -> Adapt:
    """Storage events name the bucket as the app declared it (``uploads``), not as the template
    named it (``uploads-<stack uuid>``), so handlers see the same on every provider.

    The function is subscribed to its one bucket only, so whatever bucket an event names is
    that bucket. The native name stays in the event's ``source`` and in ``ctx.native``, and the
    template passes it in ``BUCKET_<NAME>`` (``_resources.bucket_name``), as GCP's deploy does.

    An event that is no S3 event at all (an SQS message or SNS notification whose body is no
    S3 notification, a bus event from another source) fails for good (``_foreign``).
    """

    def adapt(event: CloudEvent) -> CloudEvent:
        # Told by where it comes from, not by the shape of its data: a misrouted message whose
        # JSON happens to hold an "action" is no S3 event either.
        if not event.source.startswith(_S3_SOURCES):
            raise _foreign(function, event)
        data = event.data
        if type(data) is dict and "action" in data and data.get("bucket") != declared:
            return event.replace(data={**data, "bucket": declared})
        return event  # S3's own other events (restore, tagging): the trigger skips them

    return adapt


# CloudEvent sources of S3's own events: notifications (``aws:s3.<region>.<bucket>``) and
# EventBridge's ``aws.s3`` (restore, tagging, CloudTrail...), which a storage function skips.
_S3_SOURCES = ("aws:s3", "aws.s3")


def _foreign(function: str, event: CloudEvent) -> EventDecodeError:
    """The error for an event that reached a storage function and is no S3 event: a
    misconfigured source (another queue's messages, a topic's notifications). It fails that
    message for good instead of being acknowledged unrun: an SQS message goes to the
    dead-letter queue at once (``PF_DEAD_LETTER_URL``, else the queue's redrive policy moves it
    there: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html),
    an asynchronous invocation to the on-failure queue, where it waits to be seen."""
    return EventDecodeError(
        f"not an S3 object notification (type {event.type!r}, source {event.source!r}): the "
        f"storage function {function!r} does not run it; check what invokes it",
        provider="aws",
        trigger="storage",
        field="source",
    )


def event_handler(
    app: App,
    name: str,
    *,
    stream: bool,
    bucket: str | None = None,
    retry: Retry | None = None,
) -> Handler:
    redelivery = Redelivery(retry)
    adapt = _declared_bucket(bucket, name) if bucket is not None else None
    fn = app.function(name)

    def dispatch(event: CloudEvent, ctx: Context) -> Outcome:
        if adapt is not None:
            try:
                event = adapt(event)
            except PortableFnError as exc:  # not for this function: fails for good (Adapt)
                ctx.logger.exception("the event is not for this function", exc=exc)
                return Outcome(False, exc, False)
        return run_event(app, fn, event, ctx)

    def handler(event: Any, context: Any) -> Any:
        records = event.get("Records") if type(event) is dict else _piped(event)
        if type(records) is list and records:
            first = records[0]
            if sqs.matches_record(first):
                return _batches.sqs_batch(app, fn, records, context, event, redelivery, adapt)
            source = first.get("eventSource") if type(first) is dict else None
            if source == "aws:kinesis" or source == "aws:dynamodb":
                # Stream codecs load (and ship, see target.py) only for stream functions.
                from portable_fn_aws import dynamodb, kinesis

                codec = kinesis if source == "aws:kinesis" else dynamodb
                return _windowed(
                    event,
                    _batches.stream_batch(app, fn, records, context, event, codec, redelivery),
                )
            if sns.matches_record(first) or s3.matches_record(first):
                ctx = context_for(fn.name, context, event)
                outcome = _run_async(records, ctx, dispatch)
                _settle(outcome, event, context, ctx, redelivery)
                return None
        if eventbridge.matches(event):
            ctx = context_for(name, context, event)
            try:
                decoded = eventbridge.to_event(event)
            except MALFORMED as exc:  # EventDecodeError and InvalidCloudEventError among them
                _undecodable(exc, event, context, ctx, redelivery)
                return None
            _settle(dispatch(decoded, ctx), event, context, ctx, redelivery)
            return None
        if records == [] and "isFinalInvokeForWindow" in event:
            # A tumbling window's last invocation (Kinesis, DynamoDB Streams) brings no records,
            # only the window's state: nothing to run, no failure to report.
            # https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-windows.html
            return _windowed(event, sqs.batch_response([]))
        # Unknown shape: fail loudly (Lambda logs it and dead-letters after its retries).
        raise decode_error(
            "lambda", "event", f"not an event shape this adapter knows: {_shape(event)}"
        )

    return handler


def _windowed(event: Any, response: sqs.BatchResponse) -> sqs.BatchResponse | dict[str, Any]:
    """The response to a stream batch, with the ``state`` a tumbling window's invocations must
    return: without it Lambda counts the invocation as failed, retrying the batch and, on the
    window's final invocation, holding the shard until one succeeds
    (https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-windows.html,
    https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-windows.html). A portable
    handler keeps no window state: the state passes through as it came (``{}`` at first)."""
    if type(event) is dict and "window" in event:
        state = event.get("state")
        return {**response, "state": state if type(state) is dict else {}}
    return response


def _piped(event: Any) -> list[Any] | None:
    """The records of an EventBridge Pipes batch, as an event source mapping lays them out.

    Pipes invokes a Lambda target with a JSON array of its source's records, even of one
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-batching-concurrency.html),
    and reads ``batchItemFailures`` back as an event source mapping does. SQS and DynamoDB
    records are the mapping's own; a Kinesis record has its ``kinesis`` fields at the top level
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-kinesis.html), which the
    record itself then stands for.
    """
    if type(event) is not list:
        return None
    return [
        {**record, "kinesis": record}
        if type(record) is dict
        and record.get("eventSource") == "aws:kinesis"
        and "kinesis" not in record
        else record
        for record in event
    ]


def _shape(event: Any) -> str:
    """What an event of an unknown shape looks like, for the error: its keys, never values."""
    if type(event) is list:
        first = event[0] if event else None
        keys = sorted(map(str, first))[:8] if type(first) is dict else type(first).__name__
        return f"a JSON array of {len(event)} (first: {keys})"
    if type(event) is dict:
        return f"an object with keys {sorted(map(str, event))[:8]}"
    return f"a JSON {type(event).__name__}"


def _decode_record(record: Any) -> list[CloudEvent]:
    if sns.matches_record(record):
        return sns.from_record(record)
    if s3.matches_record(record):
        return [s3.from_record(record)]
    raise decode_error("lambda", "Records", "mixed record sources in one event")


def _run_async(
    records: list[Any], ctx: Context, dispatch: Callable[[CloudEvent, Context], Outcome]
) -> Outcome:
    """SNS / S3 direct invocations (one record, as a rule): every event runs, and the
    invocation's outcome is the first failure, retryable if any failure is (a retry runs them
    all again), so that only an invocation whose every failure is final is dead-lettered."""
    failed: Outcome | None = None
    retryable = False
    for record in records:
        try:
            events = _decode_record(record)
        except (PortableFnError, *MALFORMED) as exc:
            error = exc if isinstance(exc, PortableFnError) else malformed("lambda", exc)
            outcomes = [Outcome(False, error, False)]
            ctx.logger.exception("could not decode the record", exc=error)
        else:
            outcomes = [dispatch(decoded, ctx) for decoded in events]
        for outcome in outcomes:
            if not outcome.ok:
                failed = failed or outcome
                retryable = retryable or outcome.retryable
    if failed is None:
        return OK
    return Outcome(False, failed.error, retryable)
