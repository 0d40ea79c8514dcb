# SPDX-License-Identifier: Apache-2.0
"""Body decoding shared by the message codecs (Storage Queue, Service Bus, Event Hubs).

Messages that portable-fn did not publish carry no CloudEvent envelope and often no content type
(Storage Queue messages never have one), so the body's own shape decides: JSON if it parses,
text if it is UTF-8 without control characters, else bytes (``portable_fn.adapter.undeclared``,
the rule of every provider). Documented in the adapter README's mapping table.

A leading UTF-8 byte order mark is not part of the JSON: RFC 8259 section 8.1 lets a parser
ignore one, .NET writers given ``Encoding.UTF8`` (``StreamWriter``, ``File.WriteAllText``) emit
one, and ``decode_data`` (a body declared ``application/json``) and the core's ``Request.json()``
already ignore it. So a JSON body is JSON data, and a structured CloudEvent that event, with or
without one (``without_bom`` for the structured sniff). Text and bytes keep it: the body as sent.

JSON nested deeper than the parser recurses is text too: it does not parse here.

``sequence_text`` writes the ``sequence`` extension of Service Bus and Event Hubs messages.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from portable_fn.adapter import undeclared
from portable_fn.events import decode_data

_UTF8_BOM = b"\xef\xbb\xbf"
# Digits of the largest unsigned 64-bit number: Service Bus and Event Hubs sequence numbers are
# 64-bit integers (a partitioned Service Bus entity keeps the partition in the top 16 bits).
_SEQUENCE_DIGITS = 20


def decode_body(body: bytes, content_type: str | None) -> tuple[Any, str | None]:
    """``(data, datacontenttype)`` for a message body, honouring a declared content type;
    without one, JSON, else UTF-8 text without control characters, else bytes (``undeclared``,
    the rule of every provider: a protobuf body that happens to be valid UTF-8 is bytes, as on
    Pub/Sub). An empty body (Service Bus allows one) is no data at all."""
    if not body:
        return None, content_type or None
    if content_type:
        return decode_data(body, content_type), content_type
    return undeclared(body)


def without_bom(body: bytes) -> bytes:
    """The body as a JSON reader sees it: without a leading UTF-8 byte order mark."""
    return body[3:] if body.startswith(_UTF8_BOM) else body


def as_bytes(body: bytes | str | None) -> bytes:
    if body is None:
        return b""
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def aware(moment: datetime | None) -> datetime | None:
    """A timezone-aware time: the library returns naive values for offset-less strings, which
    the host writes in UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def sequence_text(number: int) -> str:
    """A 64-bit sequence number as the CloudEvents ``sequence`` extension: zero-padded to 20
    digits, since the spec compares sequence values as strings and requires them to be
    lexicographically orderable ("padding the values with leading zeros",
    https://github.com/cloudevents/spec/blob/main/cloudevents/extensions/sequence.md): unpadded,
    ``"10"`` would sort before ``"9"``."""
    return f"{number:0{_SEQUENCE_DIGITS}d}"
