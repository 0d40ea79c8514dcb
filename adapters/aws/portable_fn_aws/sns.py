# SPDX-License-Identifier: Apache-2.0
"""Amazon SNS notifications, mapped by the CloudEvents SNS adapter.

Adapter: https://github.com/cloudevents/spec/blob/main/cloudevents/adapters/aws-sns.md
Lambda record: https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html
SQS-wrapped (non-raw delivery) body: https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html#http-notification-json
``id`` = MessageId, ``source`` = the subscription ARN, ``type`` = ``com.amazonaws.sns.`` + Type,
``subject`` = Subject, ``time`` = Timestamp. A Message that is itself an envelope (a structured
CloudEvent, an S3 notification) is unwrapped instead, and a binary-mode CloudEvent in ``ce-*``
MessageAttributes arrives as itself (``_attributes``).
"""

from __future__ import annotations

from typing import Any

from portable_fn.events import CloudEvent
from portable_fn_aws import _attributes, _nested
from portable_fn_aws._common import decode_error, require, text_payload

TRIGGER = "sns"
TYPE_PREFIX = "com.amazonaws.sns."


def matches_record(record: Any) -> bool:
    return isinstance(record, dict) and record.get("EventSource") == "aws:sns"


def from_record(record: dict[str, Any]) -> list[CloudEvent]:
    """One Lambda SNS record (``Records[i]`` with ``EventSource: aws:sns``)."""
    message = require(record, "Sns", TRIGGER)
    source = record.get("EventSubscriptionArn") or message.get("TopicArn")
    return _from_message(message, source)


def from_envelope(obj: dict[str, Any]) -> list[CloudEvent]:
    """The JSON SNS delivers to SQS and HTTP subscribers when raw delivery is off."""
    source: str | None = None
    unsubscribe = obj.get("UnsubscribeURL") or obj.get("UnsubscribeUrl")
    if isinstance(unsubscribe, str):
        # The subscription ARN is only carried inside the unsubscribe link's query. urllib.parse
        # (with ipaddress, 2 ms) loads here, not with the module: every queue and storage
        # function imports this one, and most never see an SNS envelope.
        from urllib.parse import parse_qs, urlsplit

        source = parse_qs(urlsplit(unsubscribe).query).get("SubscriptionArn", [None])[0]
    return _from_message(obj, source or obj.get("TopicArn"))


def _from_message(message: dict[str, Any], source: Any) -> list[CloudEvent]:
    text = require(message, "Message", TRIGGER)
    if not isinstance(text, str):
        raise decode_error(TRIGGER, "Message", "must be a string")
    if not isinstance(source, str) or not source:
        raise decode_error(TRIGGER, "TopicArn", "is missing")
    attributes = message.get("MessageAttributes")
    if attributes and _attributes.carries_event(attributes):
        return [_attributes.from_attributes(attributes, text, TRIGGER)]
    data, content_type = text_payload(text)
    if type(data) is dict:
        nested = _nested.from_object(data)
        if nested is not None:
            return nested
    subject = message.get("Subject")
    return [
        CloudEvent(
            id=require(message, "MessageId", TRIGGER),
            source=source,
            type=TYPE_PREFIX + str(message.get("Type") or "Notification"),
            subject=subject if subject else None,
            time=message.get("Timestamp"),
            datacontenttype=content_type,
            data=data,
        )
    ]
