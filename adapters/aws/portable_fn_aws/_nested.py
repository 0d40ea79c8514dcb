# SPDX-License-Identifier: Apache-2.0
"""Recognise an envelope inside a message body: the same event can reach a function through
several AWS hops (S3 -> SNS -> SQS, portable-fn publish -> SNS -> SQS, EventBridge -> SQS,
SQS -> EventBridge Pipes -> SQS), each wrapping the last. Peeling them here is what makes a
published CloudEvent arrive as itself.
"""

from __future__ import annotations

from typing import Any

from portable_fn.events import CloudEvent, from_dict
from portable_fn_aws import eventbridge, s3, sns, sqs


def from_object(obj: dict[str, Any]) -> list[CloudEvent] | None:
    """The events an already-parsed JSON body stands for, or ``None`` for a plain payload.

    An empty list means "an envelope with nothing to deliver" (the S3 ``s3:TestEvent``).
    """
    if "specversion" in obj:  # a structured-mode CloudEvent (how portable-fn publishes)
        return [from_dict(obj)]
    if obj.get("Type") == "Notification" and "TopicArn" in obj and "Message" in obj:
        return sns.from_envelope(obj)
    records = obj.get("Records")
    if type(records) is list and records and s3.matches_record(records[0]):
        return s3.from_records(records)
    if obj.get("Event") == "s3:TestEvent":  # sent once when a notification is configured
        return []
    if "detail-type" in obj and "source" in obj and "id" in obj:
        return [eventbridge.to_event(obj)]
    if obj.get("eventSource") == "aws:sqs" and "body" in obj and "eventSourceARN" in obj:
        # An SQS record that an EventBridge pipe from another queue sent on as it is (no input
        # transformer): https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-sqs.html
        return sqs.from_record(obj)
    return None
