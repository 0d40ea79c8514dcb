# SPDX-License-Identifier: Apache-2.0
"""Event data on a transport: the bytes a body carries for ``data``, and back, by content type.

JSON format section 3.1 (https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/formats/json-format.md)
and HTTP binding section 3.1.1 (https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md):
JSON content types carry JSON, text types text in their charset, anything else opaque bytes.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from portable_fn import _json
from portable_fn.errors import InvalidCloudEventError

__all__ = [
    "decode_data", "dumps", "encode_data", "is_json_content_type", "media_type", "undeclared",
]

# One compact encoder for event data and the JSON format, built once (json.dumps builds one
# per call).
dumps = _json.encoder()


@lru_cache(maxsize=64)
def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


@lru_cache(maxsize=64)
def _charset(content_type: str) -> str:
    """The ``charset`` parameter (RFC 9110 section 8.3.1: case-insensitive, may be quoted);
    UTF-8 when absent, the default RFC 6657 gives new ``text/*`` types."""
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            value = value.strip().strip('"').strip()
            if value:
                return value
    return "utf-8"


def is_json_content_type(content_type: str | None) -> bool:
    """True for ``*/json`` and any ``+json`` suffix (RFC 6839), as JSON format 3.1.1 says."""
    if content_type is None:
        return False
    return media_type(content_type).endswith(("/json", "+json"))


def _is_text_content_type(content_type: str) -> bool:
    media = media_type(content_type)
    return media.startswith("text/") or media in ("application/xml",) or media.endswith("+xml")


def encode_data(data: Any, content_type: str | None) -> tuple[bytes, str | None]:
    """Serialise event data for a transport body; returns the bytes and their content type.

    Data with no content type is JSON, a ``str`` included (JSON format 3.1.2: an absent
    ``datacontenttype`` means ``application/json``, set explicitly when the event is re-encoded
    in a binding: the text hi travels as the JSON string ``"hi"``), as ``to_json`` writes it."""
    if data is None:
        return b"", content_type
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data), content_type or "application/octet-stream"
    if isinstance(data, str) and content_type is not None and not is_json_content_type(
        content_type
    ):
        # The bytes must be in the charset the content type declares, or a reader that
        # honours it (decode_data) gets other text.
        return _encode_text(data, content_type), content_type
    try:
        body = dumps(data).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:  # RecursionError: data in itself
        raise InvalidCloudEventError("data", f"cannot be serialised as JSON: {exc}") from None
    return body, content_type or "application/json"


def decode_data(body: bytes, content_type: str | None) -> Any:
    """Read a transport body back into event data, as ``encode_data`` wrote it.

    JSON content types carry JSON; a body that is not JSON after all is its UTF-8 text (else its
    bytes): the JavaScript SDK's binary mode sends string data as it is under its default
    ``application/json`` (``"hello"`` arrives as ``hello``), and functions-framework (the Python
    SDK 1.x it pins) reads such a body as that text; the Python SDK 2.x hands back the bytes,
    which a handler expecting the string would not take. ``text/*`` and XML become
    ``str``; anything else, including no content type, stays ``bytes`` (the spec makes data
    opaque without a content type).
    """
    if not body:
        return None
    if is_json_content_type(content_type):
        try:
            return _declared_json(body)
        except (ValueError, UnicodeDecodeError):
            try:
                return bytes(body).decode("utf-8")
            except UnicodeDecodeError:
                return bytes(body)
        except RecursionError:  # valid JSON, nested deeper than the parser recurses
            raise InvalidCloudEventError("data", "JSON nested too deeply to read") from None
    if content_type is not None and _is_text_content_type(content_type):
        charset = _charset(content_type)
        try:
            return body.decode(charset)
        except LookupError:
            raise InvalidCloudEventError(
                "datacontenttype", f"unknown charset {charset!r} in {content_type!r}"
            ) from None
        except ValueError:  # UnicodeDecodeError, or UnicodeError from codecs like "undefined"
            raise InvalidCloudEventError(
                "data", f"content type {content_type!r} says text but the body is not {charset}"
            ) from None
    return bytes(body)


# Control characters (Unicode category Cc) other than tab and line breaks: UTF-8 that holds one
# is binary (Google's binary Pub/Sub sample, bytes 01 02 03 04; protobuf that happens to be
# valid UTF-8). Not ``str.isprintable``, which is also False for text: a no-break space, a soft
# hyphen, the joiner inside an emoji sequence. A string, compiled on first use.
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"


def _declared_json(body: bytes) -> Any:
    """A body its content type says is JSON, read as ``undeclared`` reads JSON: NaN and the
    infinities are not JSON (RFC 8259 section 6), so the same bytes are the same data with a
    content type or without (they were a float here and text there), and data a handler
    publishes again can be encoded. UTF-8, a byte order mark ignored (section 8.1); a body in
    another encoding ``json.loads`` detects is read as it reads it."""
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        return json.loads(body)
    return _json.loads(text.removeprefix("\ufeff"), strict=True)


def undeclared(body: bytes) -> tuple[Any, str | None]:
    """``(data, datacontenttype)`` of a body that declares no content type, on a transport
    that carries bytes (Pub/Sub, Service Bus, Storage Queues, Event Hubs, Kinesis): JSON when it
    parses (a leading byte order mark ignored, RFC 8259 section 8.1; NaN and the infinities are
    not JSON), else UTF-8 text unless it holds a control character, else bytes. An empty body
    is no data. One rule, so the same bytes are the same data on every provider."""
    if not body:
        return None, None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return body, "application/octet-stream"
    try:
        return _json.loads(text.removeprefix("\ufeff"), strict=True), "application/json"
    except (ValueError, RecursionError):  # RecursionError: nested deeper than it recurses
        pass
    if re.search(_CONTROL, text) is None:
        return text, "text/plain; charset=utf-8"
    return body, "application/octet-stream"


def _encode_text(data: str, content_type: str) -> bytes:
    charset = _charset(content_type)
    try:
        return data.encode(charset)
    except LookupError:
        raise InvalidCloudEventError(
            "datacontenttype", f"unknown charset {charset!r} in {content_type!r}"
        ) from None
    except ValueError:  # UnicodeEncodeError, or UnicodeError from codecs like "undefined"
        raise InvalidCloudEventError(
            "data", f"text that {charset} cannot encode, for content type {content_type!r}"
        ) from None

