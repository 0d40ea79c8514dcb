# SPDX-License-Identifier: Apache-2.0
"""Each trigger's event source in the SAM template, with the resources it needs (tooling).

SAM event source types: https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-eventsource.html
Topics: each subscriber reads through its own SQS queue subscribed to the SNS topic, so topic
retries and dead letters work as a queue's do and one failing subscriber does not redeliver to
the others (SNS -> SQS without raw delivery; the adapter unwraps both envelopes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from portable_fn.adapter import Finding
from portable_fn.cors import preflight_owners
from portable_fn.errors import ConfigurationError
from portable_fn.triggers import Event, Http, Queue, Schedule, Storage, Stream, Topic
from portable_fn_aws._resources import Builder, arn, logical, ref
from portable_fn_aws._schedule_expr import aws_expression

if TYPE_CHECKING:
    from portable_fn.app import Function

_SQS_EVENT = {"FunctionResponseTypes": ["ReportBatchItemFailures"]}
# S3 notification types per storage action: S3 Lifecycle's deletions are a type of their own.
_S3_EVENTS = {
    "created": ("s3:ObjectCreated:*",),
    "deleted": ("s3:ObjectRemoved:*", "s3:LifecycleExpiration:*"),
}


def inbox_dead_letter(function: str, t: Topic) -> str:
    return t.dead_letter or f"{function}-inbox-dlq"


def _http_api(b: Builder, iam: bool) -> str:
    api = b.resources.setdefault("HttpApi", {"Type": "AWS::Serverless::HttpApi", "Properties": {}})
    if iam:
        api["Properties"]["Auth"] = {"EnableIamAuthorizer": True}
    return "HttpApi"


# Lambda reads at most 10 messages per batch from a FIFO queue ("For FIFO queues, the maximum
# is 10": https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html).
_FIFO_MAX_BATCH = 10


def _fifo_batch_finding(function: str, batch_size: int) -> Finding:
    """The FIFO queue's ``batch_size`` the template cannot give: Lambda refuses an event
    source mapping with more, so it is cut to Lambda's maximum, and the user told."""
    return Finding(
        function,
        "warning",
        f"batch_size={batch_size} on a FIFO queue: Lambda takes at most {_FIFO_MAX_BATCH} "
        f"messages per batch from a FIFO queue, so batches are of {_FIFO_MAX_BATCH}",
    )


def _existing_redrive_finding(function: str, t: Queue, timeout: int) -> Finding:
    """An existing queue's redrive policy is its own (``PORTABLE_FN_AWS_EXISTING``): the stack
    cannot set ``maxReceiveCount`` from ``max_retries``, nor its dead-letter target.
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
    Nor its visibility timeout, which Lambda requires at least the function's timeout when it
    creates the event source: https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
    """
    return Finding(
        function,
        "warning",
        f"queue {t.name!r} exists outside the stack, which cannot set its redrive policy: "
        f"max_retries={t.retry.max_retries} does not apply, the queue's own redrive policy (if "
        f"any) decides when a failing message is dead-lettered; what retrying cannot fix "
        f"still goes to {t.dead_letter_name!r}. Nor its visibility timeout: Lambda requires it "
        f"at least the function's {timeout} s (AWS advises six times)",
    )


def _existing_bucket(bucket: str) -> ConfigurationError:
    """SAM's S3 event takes only a bucket of the same template ("This field only accepts a
    reference to the S3 bucket created in this template"), and S3 keeps one notification
    configuration per bucket, which a stack would overwrite: an existing bucket's events reach
    a function through EventBridge instead (the bucket's EventBridge notifications on, and an
    ``@app.event`` rule on its ``Object Created`` events).
    https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-s3.html
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventBridge.html
    """
    return ConfigurationError(
        f"bucket {bucket!r} is an existing bucket (PORTABLE_FN_AWS_EXISTING), and SAM's S3 "
        "event takes only a bucket the stack creates: turn on the bucket's EventBridge "
        "notifications and use @app.event('Object Created', source='aws.s3') instead"
    )


def _visibility_of(b: Builder, queue: str) -> str:
    """The visibility timeout the template gives ``queue`` so far (a later reader with a longer
    timeout raises it), or an existing queue's own, which the stack does not set."""
    if queue in b.existing:
        return "the queue's own"
    return f"{b.resources[queue]['Properties']['VisibilityTimeout']} s"


def _backoff_finding(function: str) -> Finding:
    return Finding(
        function,
        "info",
        "retry backoff honoured: a failed message is hidden for Retry.delay(attempt) with "
        "ChangeMessageVisibility (at most 12 h); SQS's redrive policy counts the receives",
    )


# What an IAM route asks of its callers (GCP's plan says the same of its identity tokens):
# https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control-iam.html
_IAM_ROUTE = (
    "auth='function': callers sign requests with SigV4 (IAM); auth='anonymous' opens the route"
)


def events(b: Builder, fn: Function) -> dict[str, Any]:
    t = fn.trigger
    if isinstance(t, Http):
        api = _http_api(b, t.auth == "function")
        if t.auth == "function":
            b.findings.append(Finding(fn.name, "info", _IAM_ROUTE))
        events = {}
        # API Gateway routes by method, and answers a HEAD no route declares with its own 404.
        for method in t.served_methods:
            props: dict[str, Any] = {"ApiId": ref(api), "Path": t.path, "Method": method}
            if t.auth == "function":
                props["Auth"] = {"Authorizer": "AWS_IAM"}
            events[logical(method.lower())] = {"Type": "HttpApi", "Properties": props}
        if preflight_owners(b.app.functions.values()).get(t.path) == fn.name:
            # One per path (API Gateway refuses two routes with one key), without authorizer: a
            # browser's preflight carries no credentials, and the core answers it without
            # running a handler. The API has no CorsConfiguration, so API Gateway passes OPTIONS
            # through (else it answers and drops ours: apigateway developerguide/http-api-cors).
            events["Preflight"] = {
                "Type": "HttpApi",
                "Properties": {"ApiId": ref(api), "Path": t.path, "Method": "OPTIONS"},
            }
        return events
    if isinstance(t, Queue):
        queue = b.queue(
            t.name,
            fifo=t.fifo,
            dlq=t.dead_letter_name,
            receives=t.retry.max_attempts,
            reader_timeout=b.timeout(fn),
            reader=(fn.name, t.retry),
        )
        if queue in b.existing:
            b.findings.append(_existing_redrive_finding(fn.name, t, b.timeout(fn)))
        props = {
            "Queue": b.arn_of(queue),
            "BatchSize": min(t.batch_size, _FIFO_MAX_BATCH) if t.fifo else t.batch_size,
            **_SQS_EVENT,
        }
        if t.batch_size > 10 and not t.fifo:  # SQS requires a window above 10 messages
            props["MaximumBatchingWindowInSeconds"] = 1
        if not t.fifo:
            b.findings.append(_backoff_finding(fn.name))
        if t.fifo and t.batch_size > _FIFO_MAX_BATCH:
            b.findings.append(_fifo_batch_finding(fn.name, t.batch_size))
        if t.fifo:
            b.findings.append(
                Finding(
                    fn.name,
                    "info",
                    "FIFO: a failed message is redelivered after the visibility timeout "
                    f"({_visibility_of(b, queue)}), not with backoff, so its group keeps order",
                )
            )
        return {"Queue": {"Type": "SQS", "Properties": props}}
    if isinstance(t, Topic):
        b.findings.append(_backoff_finding(fn.name))
        return {
            "Topic": {
                "Type": "SQS",
                "Properties": {
                    "Queue": arn(_topic_inbox(b, fn, t)),
                    "BatchSize": 10,
                    **_SQS_EVENT,
                },
            }
        }
    if isinstance(t, Storage):
        if logical(t.bucket, "Bucket") in b.existing:  # reported; package refuses
            b.refuse(fn.name, _existing_bucket(t.bucket))
            return {}
        clash = _overlapping_notification(b, fn.name, t)
        if clash is not None:  # reported with the other findings; package refuses
            b.refuse(fn.name, clash)
            return {}
        props = {
            "Bucket": ref(b.bucket(t.bucket)),
            "Events": [event for action in t.on for event in _S3_EVENTS[action]],
        }
        rules = [
            {"Name": n, "Value": _s3_filter_value(v)}
            for n, v in (("prefix", t.prefix), ("suffix", t.suffix))
            if v
        ]
        if rules:
            props["Filter"] = {"S3Key": {"Rules": rules}}
        return {"Storage": {"Type": "S3", "Properties": props}}
    if isinstance(t, Schedule):
        try:
            expression = aws_expression(t)
        except ConfigurationError as exc:  # reported with the other findings; package refuses
            b.refuse(fn.name, exc)
            return {}
        return {"Schedule": {"Type": "Schedule", "Properties": {"Schedule": expression}}}
    if isinstance(t, Event):
        kind: Any = [{"prefix": t.type[:-1]}] if t.type.endswith("*") else [t.type]
        pattern: dict[str, Any] = {"detail-type": kind}
        if t.source is not None:
            pattern["source"] = [t.source]
        return {"Bus": {"Type": "EventBridgeRule", "Properties": {"Pattern": pattern}}}
    return _stream_event(b, fn, t)


def _s3_filter_value(text: str) -> str:
    """A key prefix or suffix as S3 compares it: against the URL-encoded key, a space as ``+``
    and other special characters percent-encoded (the S3 codec decodes keys the same way,
    ``unquote_plus``). S3's safe characters stay as they are.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-filtering.html
    """
    from urllib.parse import quote_plus

    return quote_plus(text, safe="/!*'()")


def _overlapping_notification(b: Builder, function: str, t: Storage) -> ConfigurationError | None:
    """Why S3 would refuse this function's notification, if it would: an earlier function's on
    the same bucket takes one of its event types, and one key can match both filters (each
    prefix begins the other's or is empty, each suffix ends the other's or is empty). S3 then
    fails the stack with "Configuration is ambiguously defined": it sends an event to one
    destination only. https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-filtering.html
    """
    for other in b.app.functions.values():
        if other.name == function:
            return None  # only the functions before it: the first of two keeps its notification
        o = other.trigger
        if (
            isinstance(o, Storage)
            and o.bucket == t.bucket
            and set(o.on) & set(t.on)
            and (o.prefix.startswith(t.prefix) or t.prefix.startswith(o.prefix))
            and (o.suffix.endswith(t.suffix) or t.suffix.endswith(o.suffix))
        ):
            return ConfigurationError(
                f"S3 sends an object event to one function only: {other.name} and {function} "
                f"both take {sorted(set(o.on) & set(t.on))} events of bucket {t.bucket!r} for "
                "keys both filters match (give them disjoint prefixes or suffixes, or one "
                "function)"
            )
    return None


# The stream keeps records a day (Kinesis' default, said here so the age below stays under it).
STREAM_RETENTION_HOURS = 24
# Records older than this go to the failed queue instead of being retried on: Lambda's default
# (-1) "doesn't discard records", so one it cannot invoke the function with (throttling) is
# retried until the stream's retention deletes it, and no failed-queue message says so. Half the
# retention leaves the other half to read discarded records back from the shard.
# https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-parameters.html,
# https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html
STREAM_MAX_RECORD_AGE = STREAM_RETENTION_HOURS * 3600 // 2


def _stream_event(b: Builder, fn: Function, t: Stream) -> dict[str, Any]:
    stream_id = logical(t.name, "Stream")
    b.resources.setdefault(
        stream_id,
        {
            "Type": "AWS::Kinesis::Stream",
            "Properties": {
                "StreamModeDetails": {"StreamMode": "ON_DEMAND"},
                "RetentionPeriodHours": STREAM_RETENTION_HOURS,
                # Encrypted at rest with Kinesis' own key, which needs no IAM permission of its
                # readers or writers (unlike a customer key's kms:Decrypt / GenerateDataKey):
                # https://docs.aws.amazon.com/streams/latest/dev/permissions-user-key-KMS.html
                "StreamEncryption": {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"},
            },
        },
    )
    failed = f"{fn.name}-failed"
    dlq = b.dead_letter_queue(failed)
    b.findings.append(
        Finding(
            fn.name,
            "warning",
            f"a record still failing after {t.retry.max_retries} retries (or not processed "
            f"within {STREAM_MAX_RECORD_AGE // 3600} h) is skipped, and the queue {failed!r} "
            "gets a description of its batch (shard, sequence numbers), not the records: read "
            f"them back from the stream within its {STREAM_RETENTION_HOURS} h retention",
        )
    )
    return {
        "Stream": {
            "Type": "Kinesis",
            "Properties": {
                "Stream": arn(stream_id),
                "StartingPosition": "LATEST" if t.start == "latest" else "TRIM_HORIZON",
                "BatchSize": t.batch_size,
                "MaximumRetryAttempts": t.retry.max_retries,
                "MaximumRecordAgeInSeconds": STREAM_MAX_RECORD_AGE,
                "DestinationConfig": {"OnFailure": {"Type": "SQS", "Destination": arn(dlq)}},
                **_SQS_EVENT,
            },
        }
    }


def _topic_inbox(b: Builder, fn: Function, t: Topic) -> str:
    function = fn.name
    topic = b.topic(t.name)
    inbox = b.queue(
        f"{function}-inbox",
        dlq=t.dead_letter or f"{function}-inbox-dlq",
        receives=t.retry.max_attempts,
        reader_timeout=b.timeout(fn),
        reader=(fn.name, t.retry),
    )
    b.resources[logical(function, "InboxPolicy")] = {
        "Type": "AWS::SQS::QueuePolicy",
        "Properties": {
            "Queues": [ref(inbox)],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "sns.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": arn(inbox),
                        "Condition": {"ArnEquals": {"aws:SourceArn": b.ref_of(topic)}},
                    }
                ],
            },
        },
    }
    b.resources[logical(function, "Subscription")] = {
        "Type": "AWS::SNS::Subscription",
        "Properties": {"TopicArn": b.ref_of(topic), "Protocol": "sqs", "Endpoint": arn(inbox)},
    }
    return inbox
