# SPDX-License-Identifier: Apache-2.0
"""Batch sources: SQS (standard and FIFO) and the streams (Kinesis, DynamoDB Streams).

SQS: https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
Streams: https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from portable_fn.adapter import OK, Batch, Context, Outcome
from portable_fn.errors import EventDecodeError, PortableFnError
from portable_fn.events import CloudEvent
from portable_fn_aws import sqs
from portable_fn_aws._common import MALFORMED, decode_error, malformed
from portable_fn_aws._handler import context_for, with_xray
from portable_fn_aws._nested import Notice
from portable_fn_aws._redelivery import Redelivery

if TYPE_CHECKING:
    from portable_fn.app import App, Function

# What a function's events go through before it sees them (storage: the declared bucket name).
# It raises a PortableFnError for an event the function cannot take at all (storage: one that
# is no S3 event), which fails that message for good: to the dead-letter queue, not retried.
Adapt = Callable[[CloudEvent], CloudEvent]


class StreamCodec(Protocol):
    """How ``stream_batch`` reads a shard's records: the ``kinesis`` or ``dynamodb`` module."""

    def from_record(self, record: dict[str, Any], /) -> list[CloudEvent]: ...

    def sequence_number(self, record: dict[str, Any], /) -> str: ...


def sqs_batch(
    app: App,
    fn: Function,
    records: list[Any],
    context: Any,
    native: Any,
    redelivery: Redelivery,
    adapt: Adapt | None = None,
) -> sqs.BatchResponse:
    for record in records:
        # A message without an id cannot be reported failed on its own, and acknowledging it
        # unprocessed would lose it: fail the whole batch before running any of it.
        if type(record) is not dict or type(record.get("messageId")) is not str:
            raise decode_error(sqs.TRIGGER, "messageId", "record without a message id")
    failed: list[str] = []
    failed_groups: set[str] = set()
    # One context per receive count, keyed by the count as sent: most batches need one.
    contexts: dict[Any, Context] = {}
    if not records:
        return sqs.batch_response(failed)
    first = context_for(fn.name, context, native, sqs.attempt(records[0]))
    contexts[_receive_count(records[0])] = first
    message = sqs.message
    # A batch comes from one queue. Only a FIFO queue orders its groups: a standard queue's
    # MessageGroupId (fair queues) names a tenant, and its messages fail or back off alone.
    fifo = str(records[0].get("eventSourceARN", "")).endswith(".fifo")
    with Batch(app, fn, first) as batch:
        run = batch.run
        for record in records:
            attributes = record.get("attributes")
            if type(attributes) is dict:
                group = attributes.get("MessageGroupId")
                count = attributes.get("ApproximateReceiveCount")
                xray = attributes.get("AWSTraceHeader")
            else:
                group = count = xray = None
            if group is not None:
                if type(group) is not str:
                    group = str(group)  # malformed, but still the ordering key it claims
                if fifo and group in failed_groups:
                    failed.append(record["messageId"])  # FIFO: keep the group's order
                    continue
            if type(count) is not str:
                count = str(count)  # absent or malformed: sqs.attempt reads it as the first
            ctx = contexts.get(count)
            if ctx is None:
                ctx = contexts[count] = context_for(fn.name, context, native, sqs.attempt(record))
            if xray is not None and type(xray) is str:  # the producer's X-Ray trace
                ctx = with_xray(ctx, xray)  # this message's own context
            outcome: Outcome
            try:
                decoded = message(record, attributes)
            except (PortableFnError, *MALFORMED) as exc:
                error = exc if isinstance(exc, PortableFnError) else malformed(sqs.TRIGGER, exc)
                outcome = batch.undecodable(
                    ctx, error, "could not decode SQS message", message_id=record["messageId"]
                )
            else:
                try:  # only ``adapt`` raises here: ``run`` returns every outcome
                    if not isinstance(decoded, list):  # one event: a plain message
                        outcome = run(decoded if adapt is None else adapt(decoded), ctx)
                        if outcome is OK:
                            continue
                    elif type(decoded) is Notice:  # a control message: a line, no run
                        ctx.logger.log(decoded.level, decoded.message,
                                       event_id=record["messageId"], **decoded.fields)
                        continue
                    else:  # what an envelope carried: almost always exactly one
                        outcome = OK
                        for event in decoded:
                            outcome = run(event if adapt is None else adapt(event), ctx)
                            if not outcome.ok:
                                break
                except PortableFnError as exc:  # not for this function (see Adapt)
                    outcome = batch.undecodable(
                        ctx, exc, "the message is not for this function",
                        message_id=record["messageId"],
                    )
            if outcome.ok:
                continue
            # Retrying cannot help (NonRetryable, undecodable, invalid): straight to the
            # dead-letter queue, keeping the retries unspent, when the template named one.
            if not outcome.retryable:
                if redelivery.dead_letter(record, outcome.reason or "failed", group, ctx):
                    continue
            elif not fifo or group is None:  # FIFO groups keep their order: no delays there
                redelivery.back_off(record, ctx.attempt, ctx)
            failed.append(record["messageId"])
            if fifo and group is not None:
                failed_groups.add(group)
    return sqs.batch_response(failed)


def _receive_count(record: dict[str, Any]) -> str:
    """The key ``sqs_batch`` files a record's context under: its receive count as sent."""
    attributes = record.get("attributes")
    count = attributes.get("ApproximateReceiveCount") if type(attributes) is dict else None
    return count if type(count) is str else str(count)


def stream_batch(
    app: App,
    fn: Function,
    records: list[Any],
    context: Any,
    native: Any,
    codec: StreamCodec,
    redelivery: Redelivery | None = None,
) -> sqs.BatchResponse:
    """Run a shard's records in order up to the first failure, and report its sequence number:
    Lambda checkpoints before that record and delivers it again, first in the next batch.

    A record that retrying cannot fix (``pf.NonRetryable``, undecodable) is written to the
    function's on-failure queue (``PF_DEAD_LETTER_URL``, as the record itself, JSON) and the
    shard goes on: reported, it would be retried ``MaximumRetryAttempts`` times, the shard
    blocked all along, and then discarded with the rest of its batch. Without that queue, or
    when writing to it fails, it is reported as any failure.

    A Kinesis record that a KPL producer aggregated is several events sharing the record's
    sequence number. They run in order, and at the first that fails the record's sequence number
    is reported, the finest position Lambda can checkpoint. The redelivery runs the user records
    before the failing one again: delivery is at least once per user record, as it is per record
    across a failed batch, so a handler of an aggregated stream must be idempotent (each user
    record's event ``id`` is the same on every delivery for that).
    """
    ctx = context_for(fn.name, context, native)
    with Batch(app, fn, ctx) as batch:
        for record in records:
            try:
                decoded = codec.from_record(record)
            except (PortableFnError, *MALFORMED) as exc:
                error = exc if isinstance(exc, PortableFnError) else malformed("stream", exc)
                outcome = batch.undecodable(
                    ctx, error, "could not decode stream record", **_located(codec, record)
                )
                ok = _set_aside(record, outcome, redelivery, ctx)
            else:
                ok = True
                for event in decoded:  # one, except the user records of a KPL aggregate
                    outcome = batch.run(event, ctx)
                    if not outcome.ok and not _set_aside(record, outcome, redelivery, ctx):
                        ok = False
                        break
            if not ok:
                try:
                    return sqs.batch_response([codec.sequence_number(record)])
                except (PortableFnError, *MALFORMED):
                    # No sequence number to resume from: fail the whole batch (Lambda retries).
                    raise exc_for(record) from None
    return sqs.batch_response([])


def _located(codec: StreamCodec, record: Any) -> dict[str, str]:
    """What names a stream record in a log line, as far as the record says: its sequence
    number (where the shard resumes) and its ``eventID``, the id its event takes (Kinesis:
    shard and sequence number; DynamoDB: the change's own id)."""
    where: dict[str, str] = {}
    try:
        where["sequence_number"] = codec.sequence_number(record)
    except (PortableFnError, *MALFORMED):
        pass
    event_id = record.get("eventID") if type(record) is dict else None
    if type(event_id) is str:
        where["event_id"] = event_id
    return where


def _set_aside(
    record: Any, outcome: Outcome, redelivery: Redelivery | None, ctx: Context
) -> bool:
    """True when a failed record need not stop the shard: retrying cannot fix it and it is now
    in the on-failure queue."""
    if outcome.retryable or redelivery is None:
        return False
    return redelivery.dead_letter_record(record, outcome.reason or "failed", ctx)


def exc_for(record: Any) -> EventDecodeError:
    return decode_error(
        "stream", "sequenceNumber", f"record without a sequence number: {record!r:.200}"
    )
