# SPDX-License-Identifier: Apache-2.0
"""The CloudEvents Pub/Sub protocol binding, both ways.

Spec: https://github.com/googleapis/google-cloudevents/blob/main/docs/spec/pubsub.md
(listed by cloudevents/spec ``proprietary-specs.md``).

- Binary mode: the message data is the event data as is; every attribute is a message attribute
  ``ce-<name>``; the Pub/Sub ``content-type`` attribute carries ``datacontenttype``.
- Structured mode: attribute ``content-type: application/cloudevents+json; charset=UTF-8`` and
  the whole JSON event in the message data.
- A receiver picks structured mode when ``content-type`` starts with ``application/cloudevents``,
  else binary mode when ``ce-specversion`` is present.
- In binary mode the ``content-type`` attribute, if present, is ``datacontenttype`` (section
  3.1.1); the binding's own example (3.1.4) sends it as ``ce-datacontenttype`` instead, as 3.1.3
  maps every attribute, so that is read when there is no ``content-type``.

portable-fn publishes in binary mode (the binding's first form, and the one Eventarc itself
uses), except for the events binary mode cannot carry as they are, which go in structured mode
so that a subscriber sees the event as published, as on every other provider: one with an
Integer or Boolean extension (attributes are strings, and a reader cannot tell ``7`` from
``"7"``); one with data but no ``datacontenttype`` or with data that is an empty string or
empty bytes (binary mode would give it a content type, or read the empty body as no data); one
whose ``datacontenttype`` is ``application/cloudevents...`` (a receiver reads the message as a
structured event); and one whose data its content type does not read back as it was (text under
``application/octet-stream`` comes back bytes, a dict under ``text/plain`` its JSON text).
Both modes are read, and so is a structured JSON event with no attributes at all, which is
how the other adapters' structured-mode publishers would land on Pub/Sub.
"""

from __future__ import annotations

from collections.abc import Mapping

from portable_fn.errors import EventDecodeError, InvalidCloudEventError
from portable_fn.events import (
    STRUCTURED_CONTENT_TYPE,
    CloudEvent,
    decode_data,
    encode_data,
    from_http,
    from_json,
    sniff_structured,
    to_binary,
    to_json,
)

__all__ = ["from_message", "to_message"]

_CONTENT_TYPE = "content-type"
_CE_CONTENT_TYPE = "ce-datacontenttype"
_STRUCTURED = "application/cloudevents"


def to_message(event: CloudEvent) -> tuple[bytes, dict[str, str]]:
    """Binary mode: ``(message data, attributes)`` for ``PublisherClient.publish``; structured
    mode for an event binary mode would change (module docstring).

    Pub/Sub attribute values are strings (google.pubsub.v1.PubsubMessage.attributes is
    ``map<string,string>``).
    """
    if _changed_by_binary_mode(event):
        return to_json(event), {_CONTENT_TYPE: STRUCTURED_CONTENT_TYPE}
    # The HTTP binding's ce-* attributes, written as they are (Pub/Sub attributes are not
    # HTTP headers, so nothing is percent-encoded) and with content-type beside them.
    attrs, data = to_binary(event, percent_encode=False)
    return data, attrs


def from_message(
    data: bytes, attributes: Mapping[str, str], *, trigger: str = "topic"
) -> CloudEvent | None:
    """The CloudEvent a Pub/Sub message carries, or None when it carries none.

    Raises ``EventDecodeError`` when the message claims to be a CloudEvent but is not a valid one.
    """
    content_type = attributes.get(_CONTENT_TYPE)
    try:
        if content_type is not None and content_type.lower().startswith(_STRUCTURED):
            return from_json(data)
        if "ce-specversion" in attributes:
            declared = attributes.get(_CE_CONTENT_TYPE)
            if declared is not None and not _has_content_type(attributes):
                # The HTTP reader takes datacontenttype from content-type alone.
                attributes = {**attributes, _CONTENT_TYPE: declared}
            return from_http(attributes, data, percent_encoded=False)
        return sniff_structured(data) if data[:1] == b"{" else None
    except InvalidCloudEventError as exc:
        raise EventDecodeError(
            f"Pub/Sub message is not a valid CloudEvent: {exc}",
            provider="gcp",
            trigger=trigger,
            field=f"attributes.ce-{exc.attribute}",
        ) from exc


def _has_content_type(attributes: Mapping[str, str]) -> bool:
    # from_http reads the headers case-insensitively, so any spelling counts.
    return any(name.lower() == _CONTENT_TYPE for name in attributes)


def _changed_by_binary_mode(event: CloudEvent) -> bool:
    data = event.data
    if data is not None and (event.datacontenttype is None or data == "" or data == b""):
        return True  # content-type would be invented, or the empty body read as no data
    if any(type(value) is not str for value in event.extensions.values()):
        return True
    if data is None:
        return False
    content_type = event.datacontenttype or ""
    if content_type.lower().startswith(_STRUCTURED):
        return True  # a receiver reads such a message as a whole structured event
    # Binary mode carries the data as its content type reads it back: text under a binary type
    # came back bytes, a dict under text/plain its JSON text, text a charset cannot hold not
    # at all. The JSON format carries any of them as it is.
    try:
        body, _ = encode_data(data, content_type)
        back = decode_data(body, content_type)
    except InvalidCloudEventError:
        return True
    return type(back) is not type(data) or back != data
