# SPDX-License-Identifier: Apache-2.0
"""The CloudEvents HTTP binding: an event as an HTTP message, binary or structured mode.

https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from portable_fn import _json
from portable_fn._cloudevent import (
    EMPTY,
    REQUIRED,
    RESERVED,
    CloudEvent,
    ExtensionValue,
    format_time,
)
from portable_fn._event_data import decode_data, encode_data, media_type
from portable_fn._event_json import b64encode, from_json, to_json
from portable_fn.errors import InvalidCloudEventError

__all__ = ["STRUCTURED_CONTENT_TYPE", "from_http", "http_mode", "is_json_format", "to_binary",
           "to_structured"]

STRUCTURED_CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"


# Characters the HTTP binding (section 3.1.3.2) requires percent-encoded in ce- header values.
_HEADER_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"%')


def _header_value(value: ExtensionValue | datetime, percent_encode: bool = True) -> str:
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return b64encode(value)
    text = str(value)
    if not percent_encode or (
        text.isascii() and text.isprintable() and " " not in text and '"' not in text
        and "%" not in text
    ):
        return text  # nothing to encode: the common case, without importing urllib
    from urllib.parse import quote

    return quote(text, safe=_HEADER_SAFE)


def to_binary(
    event: CloudEvent, *, percent_encode: bool = True
) -> tuple[dict[str, str], bytes]:
    """Binary mode: attributes as ``ce-`` headers, data as the body.

    ``percent_encode=False`` writes values as they are, for bindings whose attributes are not
    HTTP headers (Google's Pub/Sub binding: ``ce-*`` message attributes, any UTF-8 string).
    """
    body, content_type = encode_data(event.data, event.datacontenttype)
    text = _header_value
    headers = {
        "ce-specversion": event.specversion,
        "ce-id": text(event.id, percent_encode),
        "ce-source": text(event.source, percent_encode),
        "ce-type": text(event.type, percent_encode),
    }
    if event.subject is not None:
        headers["ce-subject"] = text(event.subject, percent_encode)
    if event.dataschema is not None:
        headers["ce-dataschema"] = text(event.dataschema, percent_encode)
    if event.time is not None:
        headers["ce-time"] = format_time(event.time)
    for name, value in event.extensions.items():
        headers["ce-" + name] = text(value, percent_encode)
    if content_type is not None:
        headers["content-type"] = content_type
    return headers, body


def to_structured(event: CloudEvent) -> tuple[dict[str, str], bytes]:
    """Structured mode: the whole event as ``application/cloudevents+json``."""
    return {"content-type": STRUCTURED_CONTENT_TYPE}, to_json(event)


def http_mode(headers: Mapping[str, str]) -> Literal["structured", "binary", "batch"]:
    """The content mode, from the Content-Type's prefix (binding section 1.3): the media type
    ``application/cloudevents-batch...`` is batched, ``application/cloudevents...`` structured,
    anything else binary. ``is_json_format`` says whether the format is one this module reads."""
    content_type = _lower_keys(headers).get("content-type", "")
    media = media_type(content_type) if content_type else ""
    if media.startswith("application/cloudevents-batch"):
        return "batch"
    if media.startswith("application/cloudevents"):
        return "structured"
    return "binary"


def is_json_format(headers: Mapping[str, str]) -> bool:
    """True unless a structured or batched message names an event format other than JSON
    (``application/cloudevents+avro``...): JSON is the one format every receiver must read
    (binding section 1.4). A bare ``application/cloudevents`` is read as JSON."""
    content_type = _lower_keys(headers).get("content-type", "")
    media = media_type(content_type) if content_type else ""
    if not media.startswith("application/cloudevents"):
        return True
    return media in _JSON_FORMATS


_JSON_FORMATS = frozenset((
    "application/cloudevents",
    "application/cloudevents+json",
    "application/cloudevents-batch",
    "application/cloudevents-batch+json",
))


def _lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


_percent_run: re.Pattern[str] | None = None  # compiled on the first encoded header, not at import


def _header_text(attribute: str, value: str) -> str:
    """An attribute from its HTTP header value (binding section 3.1.3.2): double-quoted strings
    unescaped first (older senders quoted rather than encoded), then one round of
    percent-decoding in which the decoded bytes must be UTF-8."""
    if '"' in value:
        value = _unquote_string(value)
    if "%" not in value:
        return value

    def decode(match: re.Match[str]) -> str:
        try:
            return bytes.fromhex(match.group().replace("%", "")).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidCloudEventError(
                attribute, f"percent-encoded bytes {match.group()!r} are not UTF-8"
            ) from None

    global _percent_run
    if _percent_run is None:
        _percent_run = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
    # A '%' not followed by two hex digits is left as it is: lenient toward senders that did
    # not encode a literal percent sign, and it cannot be mistaken for an encoding.
    return _percent_run.sub(decode, value)


def _unquote_string(value: str) -> str:
    """Remove RFC 9110 section 5.6.4 quoted-strings (``"a \\"b\\""`` -> ``a "b"``)."""
    out: list[str] = []
    quoted = escaped = False
    for char in value:
        if escaped:
            out.append(char)
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        else:
            out.append(char)
    if quoted:
        # A lone '"' is no quoted-string but a sender that did not encode it: keep the value.
        return value
    return "".join(out)


def from_http(
    headers: Mapping[str, str], body: bytes, *, percent_encoded: bool = True
) -> CloudEvent:
    """Read an event from an HTTP message in either mode (binding section 3).

    ``percent_encoded=False`` reads ``ce-*`` values as they are: Google's Pub/Sub binding uses
    the same attribute names in message attributes, which are not HTTP headers.
    """
    lowered = _lower_keys(headers)
    mode = http_mode(lowered)
    if mode == "batch":
        raise InvalidCloudEventError("datacontenttype", "batch mode carries many events, not one")
    if mode == "structured":
        if not is_json_format(lowered):
            raise InvalidCloudEventError(
                "specversion",
                f"unsupported event format {lowered['content-type']!r}; this reader reads "
                "application/cloudevents+json",
            )
        return from_json(body)
    if "ce-specversion" not in lowered:
        raise InvalidCloudEventError(
            "specversion", "missing: neither a ce-specversion header nor a structured body"
        )
    attrs: dict[str, Any] = {}
    extensions: dict[str, str] = {}
    for name, value in lowered.items():
        if not name.startswith("ce-"):
            continue
        attr = name[3:]
        if type(value) is not str:  # the SDK's to_binary leaves an int or bool extension as is
            value = _header_value(value, percent_encode=False)
        decoded = _header_text(attr, value) if percent_encoded else value
        if attr in RESERVED:
            attrs[attr] = decoded
        else:
            extensions[attr] = decoded
    for name in REQUIRED:
        if name not in attrs:
            raise InvalidCloudEventError(name, f"is required (header ce-{name})")
    if "data" in attrs:
        raise InvalidCloudEventError("data", "travels as the body in binary mode, not as ce-data")
    # Binding 3.1.1: datacontenttype is the Content-Type, and no ce-datacontenttype may be
    # sent beside it. A sender that put it in ce-datacontenttype alone still said what the
    # body is (the Pub/Sub binding, which has no Content-Type, reads it so): kept, not lost.
    content_type = lowered.get("content-type") or attrs.get("datacontenttype")
    return CloudEvent(
        id=attrs["id"],
        source=attrs["source"],
        type=attrs["type"],
        specversion=attrs["specversion"],
        datacontenttype=content_type,
        dataschema=attrs.get("dataschema"),
        subject=attrs.get("subject"),
        time=attrs.get("time"),
        data=decode_data(body, content_type) if content_type else _untyped_data(body),
        extensions=extensions or EMPTY,
    )


def _untyped_data(body: bytes) -> Any:
    """Binary-mode data with no Content-Type: its JSON value when the body is JSON, else the
    bytes. The CloudEvents SDKs send a dict's data so (``to_binary`` sets no content type) and
    read it back as JSON, as functions-framework does; the spec leaves such data opaque, so
    what is not JSON stays bytes."""
    if not body:
        return None
    try:
        return _json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return bytes(body)

