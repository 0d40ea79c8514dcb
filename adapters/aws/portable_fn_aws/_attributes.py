# SPDX-License-Identifier: Apache-2.0
"""CloudEvents in binary mode on SQS and SNS message attributes.

CloudEvents defines no binding for SQS or SNS (``cloudevents/spec`` proprietary-specs.md lists
none; cloudevents/sdk-go#377). Producers that send CloudEvents there in binary mode follow the
one binding a message service has, Google's Pub/Sub binding
(https://github.com/googleapis/google-cloudevents/blob/main/docs/spec/pubsub.md), which the
project's mapping adopts for SQS and SNS: every context attribute is a message attribute
``ce-<name>`` (``ce_<name>`` is read too: SDKs and infrastructure tools that build attribute
names from identifiers use the underscore, and SQS and SNS accept both), ``content-type`` carries
``datacontenttype``, and the message body is the data. ``content-type:
application/cloudevents+json`` means the body is the whole event (structured mode).

Attribute shapes (names are case-sensitive on both services; CloudEvents names are lower case):
- SQS record: ``messageAttributes: {name: {"stringValue", "binaryValue", "dataType"}}``
  https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#example-standard-queue-message-event
- SNS record and SNS envelope: ``MessageAttributes: {name: {"Type", "Value"}}``
  https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portable_fn.errors import InvalidCloudEventError
from portable_fn.events import CloudEvent, from_http
from portable_fn_aws._common import decode_error, text_payload

__all__ = ["carries_event", "from_attributes"]

_STRUCTURED = "application/cloudevents+json"


def carries_event(attributes: Any) -> bool:
    """Whether message attributes hold a binary-mode CloudEvent (or declare a structured one).

    A few dictionary lookups: codecs call it for every message whose attributes are not empty.
    """
    if not attributes or type(attributes) is not dict:
        return False
    if "ce-specversion" in attributes or "ce_specversion" in attributes:
        return True
    # Structured mode only: batch mode (application/cloudevents-batch+json) has no place in
    # a message that is one event, so such a message stays a plain one (its JSON array body).
    content_type = _value(attributes.get("content-type"))
    return content_type is not None and content_type.lower().startswith(_STRUCTURED)


def from_attributes(attributes: Mapping[str, Any], body: str, trigger: str) -> CloudEvent:
    """The event that ``attributes`` (either service's shape) and the message ``body`` carry.

    Raises ``EventDecodeError`` naming the attribute when they claim an event but break the spec.
    """
    headers: dict[str, str] = {}
    for name, attribute in attributes.items():
        if type(name) is not str:
            continue
        lowered = name.lower()
        if lowered.startswith("ce_"):
            lowered = "ce-" + lowered[3:]
        if lowered.startswith("ce-") or lowered == "content-type":
            value = _value(attribute)
            if value is not None:
                headers[lowered] = value
    content_type = headers.get("content-type")
    try:
        if content_type is None:
            # No declared content type: the body reads as any SQS or SNS body does (JSON when
            # it parses, else text), and datacontenttype stays absent as the producer left it.
            event = from_http(headers, b"", percent_encoded=False)
            data, _ = text_payload(body)
            return event.replace(data=data)
        return from_http(headers, body.encode("utf-8"), percent_encoded=False)
    except InvalidCloudEventError as exc:
        name = "content-type" if exc.attribute in ("data", "datacontenttype") else exc.attribute
        field = name if name == "content-type" else f"ce-{name}"
        raise decode_error(
            trigger, f"messageAttributes.{field}", f"not a valid CloudEvent: {exc}"
        ) from exc


def _value(attribute: Any) -> str | None:
    """An attribute's text: SQS ``stringValue`` (String and Number types), SNS ``Value``.
    Binary-typed attributes carry no CloudEvents attribute (they are all strings): skipped."""
    if type(attribute) is not dict:
        return None
    value = attribute.get("stringValue")
    if value is None:
        value = attribute.get("Value")
        kind = attribute.get("Type")
        if isinstance(kind, str) and kind.startswith("Binary"):
            return None
    return value if type(value) is str else None
