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


class Notice(list[CloudEvent]):
    """No event, and a line to log instead: a control message a service sent the queue for its
    owner, acknowledged without running the function (``sqs_batch`` writes the line)."""

    def __init__(self, level: str, message: str, **fields: str) -> None:
        super().__init__()
        self.level = level
        self.message = message
        self.fields = fields


# SNS control messages (https://docs.aws.amazon.com/sns/latest/dg/http-subscription-confirmation-json.html):
# a queue receives them when a topic of another account subscribes it, or unsubscribes it
# (https://docs.aws.amazon.com/sns/latest/dg/sns-send-message-to-sqs-cross-account.html).
_SNS_CONTROL = frozenset(("SubscriptionConfirmation", "UnsubscribeConfirmation"))


def _sns_control(obj: dict[str, Any]) -> Notice:
    topic, token = str(obj.get("TopicArn")), str(obj.get("Token"))
    fields = {"topic_arn": topic, "subscribe_url": str(obj.get("SubscribeURL", ""))}
    if obj["Type"] == "SubscriptionConfirmation":
        return Notice(
            "WARNING",
            "SNS subscription confirmation: acknowledged, not run; the topic delivers nothing "
            "to this queue while the subscription is not confirmed",
            **fields,
            confirm_with=f"aws sns confirm-subscription --topic-arn {topic} --token {token}",
        )
    return Notice(
        "INFO",
        "SNS unsubscribe confirmation: acknowledged, not run; its subscribe_url restores the "
        "subscription",
        **fields,
    )


def from_object(obj: dict[str, Any]) -> list[CloudEvent] | None:
    """The events an already-parsed JSON body stands for, or ``None`` for a plain payload.

    An empty list means "an envelope with nothing to deliver" (the S3 ``s3:TestEvent``); a
    ``Notice`` also says what to log about it (SNS subscription confirmations).
    """
    if "specversion" in obj:  # a structured-mode CloudEvent (how portable-fn publishes)
        return [from_dict(obj)]
    kind = obj.get("Type")
    if kind == "Notification" and "TopicArn" in obj and "Message" in obj:
        return sns.from_envelope(obj)
    if kind in _SNS_CONTROL and "TopicArn" in obj and "Token" in obj:
        return _sns_control(obj)
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
