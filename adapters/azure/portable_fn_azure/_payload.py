# SPDX-License-Identifier: Apache-2.0
"""Body decoding shared by the message codecs (Storage Queue, Service Bus, Event Hubs).

Messages that portable-fn did not publish carry no CloudEvent envelope and often no content type
(Storage Queue messages never have one), so the body's own shape decides: JSON if it parses,
text if it is UTF-8, else bytes. Documented in the adapter README's mapping table.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from portable_fn.events import decode_data

JSON_TYPE = "application/json"
TEXT_TYPE = "text/plain; charset=utf-8"
BINARY_TYPE = "application/octet-stream"


def decode_body(body: bytes, content_type: str | None) -> tuple[Any, str | None]:
    """``(data, datacontenttype)`` for a message body, honouring a declared content type.
    An empty body (Service Bus allows one) is no data at all."""
    if not body:
        return None, content_type or None
    if content_type:
        return decode_data(body, content_type), content_type
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return body, BINARY_TYPE
    try:
        return json.loads(text), JSON_TYPE
    except ValueError:
        return text, TEXT_TYPE


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
