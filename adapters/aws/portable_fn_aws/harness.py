# SPDX-License-Identifier: Apache-2.0
"""The contract-suite harness: portable values through the native Lambda shapes and back.

Each call builds the event a deployed function would receive for that delivery path (as the
generated template wires it): HTTP API 2.0 for HTTP; an SQS batch for queues (a FIFO queue's
with its groups and sequence numbers, ``_fifo_records``); SNS -> SQS (both envelopes) for
topics; EventBridge for the event bus and schedules; an S3 notification for storage; Kinesis
for streams. Results are read back from the native response.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from portable_fn.errors import HTTPError
from portable_fn.events import CloudEvent, to_dict, to_json
from portable_fn.http import Headers, Request, Response
from portable_fn.testing import harness_function, offline
from portable_fn.triggers import Event, Http, Queue, Schedule, Storage, Stream, Topic
from portable_fn_aws import native
from portable_fn_aws._handler import lambda_handler
from portable_fn_aws._sam_events import inbox_dead_letter
from portable_fn_aws.publisher import _fifo

if TYPE_CHECKING:
    from portable_fn.app import App


class AwsHarness:
    provider = "aws"

    def http(self, app: App, request: Request) -> Response:
        with offline(app):
            function = _http_function(app, request)
            out = lambda_handler(app, function)(
                native.http_v2(request), native.InvokeContext.for_function(app, function)
            )
        pairs = list(out.get("headers", {}).items())
        pairs += [("set-cookie", cookie) for cookie in out.get("cookies", [])]
        body = out.get("body") or ""
        raw = base64.b64decode(body) if out.get("isBase64Encoded") else body.encode("utf-8")
        return Response(status=out["statusCode"], headers=Headers(pairs), body=raw)

    def deliver(self, app: App, function: str, events: Sequence[CloudEvent]) -> list[bool]:
        trigger = harness_function(app, function, "deliver").trigger
        if not events:
            return []  # no native delivery is empty (an SQS batch has 1 to 10 000 records)
        with offline(app):
            return self._deliver(app, function, trigger, events)

    def _deliver(
        self, app: App, function: str, trigger: Any, events: Sequence[CloudEvent]
    ) -> list[bool]:
        handler = lambda_handler(app, function)
        context = native.InvokeContext.for_function(app, function)  # the batch's invocation
        bodies = [to_json(e).decode("utf-8") for e in events]
        if isinstance(trigger, Queue | Topic):
            if isinstance(trigger, Topic):  # SNS -> SQS without raw delivery: two envelopes
                bodies = [
                    native.json_text(native.sns_message(b, topic=trigger.name)) for b in bodies
                ]
            if isinstance(trigger, Queue) and trigger.fifo:
                records = _fifo_records(function, bodies, events)
            else:
                records = [native.sqs_record(b, queue=function) for b in bodies]
            failed = _failed(handler({"Records": records}, context))
            return [r["messageId"] not in failed for r in records]
        if isinstance(trigger, Stream):
            records = [
                native.kinesis_record(b.encode(), stream=trigger.name, sequence=i + 1)
                for i, b in enumerate(bodies)
            ]
            failed = _failed(handler({"Records": records}, context))
            # Lambda replays the shard from the first reported record: it and all after it.
            seqs = [r["kinesis"]["sequenceNumber"] for r in records]
            first = min((seqs.index(s) for s in failed if s in seqs), default=len(seqs))
            return [i < first for i in range(len(seqs))]
        results = []
        for event in events:  # the bus delivers one event per asynchronous invocation
            native_event = native.eventbridge_event(event.type, event.source, to_dict(event))
            results.append(_succeeds(handler, native_event, app, function))
        return results

    def schedule(self, app: App, function: str, scheduled_time: datetime) -> None:
        harness_function(app, function, "schedule")
        with offline(app):
            lambda_handler(app, function)(
                native.scheduled_event(scheduled_time, function),
                native.InvokeContext.for_function(app, function),
            )

    def storage(
        self,
        app: App,
        function: str,
        *,
        bucket: str,
        key: str,
        size: int,
        etag: str,
        action: Literal["created", "deleted"],
    ) -> None:
        harness_function(app, function, "storage")
        record = native.s3_record(bucket=bucket, key=key, size=size, etag=etag, action=action)
        with offline(app):
            lambda_handler(app, function)(
                {"Records": [record]}, native.InvokeContext.for_function(app, function)
            )

    def dead_letters(self, app: App) -> dict[str, str]:
        """Each event function's dead-letter queue as ``template.yaml`` declares it: the queue's
        redrive target, a topic subscriber's own inbox DLQ, and the ``<function>-failed``
        on-failure destination of asynchronous and stream invocations (``_template``)."""
        out: dict[str, str] = {}
        for name, fn in app.functions.items():
            t = fn.trigger
            if isinstance(t, Queue):
                out[name] = t.dead_letter_name
            elif isinstance(t, Topic):
                out[name] = inbox_dead_letter(name, t)
            elif isinstance(t, Storage | Schedule | Event | Stream):
                out[name] = f"{name}-failed"
        return out

    def invoke_failure(self, app: App, function: str, result: Any) -> str | None:
        """Why ``AwsAdapter.invoke``'s native response is a failure, else None: records listed
        in ``batchItemFailures`` (Lambda returns them to the queue or stream,
        https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html) or an
        HTTP ``statusCode`` of 5xx. An asynchronous event's failure raises instead."""
        if not isinstance(result, dict):
            return None
        failures = result.get("batchItemFailures")
        if failures:
            ids = ", ".join(str(f.get("itemIdentifier")) for f in failures)
            return f"batchItemFailures: {ids}"
        status = result.get("statusCode")
        if isinstance(status, int) and status >= 500:
            return f"HTTP {status}"
        return None


def _fifo_records(
    function: str, bodies: list[str], events: Sequence[CloudEvent]
) -> list[dict[str, Any]]:
    """A FIFO queue's batch as SQS delivers it: from a ``.fifo`` queue, each message with the
    group and deduplication id ``pf.send`` gives it (``publisher._fifo``: the ``partitionkey``
    extension, else ``default``, and the event id) and increasing sequence numbers, so a failure
    holds the rest of its group as in a deployed function
    (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#sample-fifo-queues-message-event).
    """
    first = time.time_ns()
    records = []
    for i, (body, event) in enumerate(zip(bodies, events, strict=True)):
        ids = _fifo(event)
        records.append(
            native.sqs_record(
                body,
                queue=f"{function}.fifo",
                group=ids["MessageGroupId"],
                sequence=first + i,
                deduplication_id=ids["MessageDeduplicationId"],
            )
        )
    return records


def _failed(response: Any) -> set[str]:
    return {item["itemIdentifier"] for item in response["batchItemFailures"]}


def _succeeds(handler: Any, native_event: dict[str, Any], app: App, function: str) -> bool:
    try:  # one invocation each: its own request id and deadline
        handler(native_event, native.InvokeContext.for_function(app, function))
    except Exception:
        return False  # Lambda marks the asynchronous invocation failed and retries it
    return True


def _http_function(app: App, request: Request) -> str:
    """The function API Gateway would route to (its own 404/405 come from the adapter)."""
    try:
        return app.match(request.method, request.path)[0].name
    except HTTPError:
        http = [f for f in app.functions.values() if isinstance(f.trigger, Http)]
        for fn in http:
            if fn.match_path(request.path) is not None:
                return fn.name
        if not http:
            raise
        return http[0].name
