# SPDX-License-Identifier: Apache-2.0
"""CloudEvents 1.0: the value every non-HTTP handler receives, and its wire formats.

Spec: https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md
JSON format: https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/formats/json-format.md
HTTP binding: https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md

Standard library only: this module runs in every deployed function, Pyodide included.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Literal

from portable_fn import _json
from portable_fn._value import Value, setters
from portable_fn.errors import InvalidCloudEventError

__all__ = [
    "CloudEvent",
    "decode_data",
    "encode_data",
    "format_time",
    "from_dict",
    "from_http",
    "from_json",
    "is_json_content_type",
    "is_json_format",
    "new_id",
    "parse_time",
    "schedule_data",
    "sniff_structured",
    "storage_data",
    "to_binary",
    "to_dict",
    "to_json",
    "to_structured",
]

SPECVERSION = "1.0"
STRUCTURED_CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
_REQUIRED = ("id", "source", "type")
_OPTIONAL = ("datacontenttype", "dataschema", "subject", "time")
# Names an extension may not take: the context attributes and the JSON format's data members.
_RESERVED = frozenset(("specversion", *_REQUIRED, *_OPTIONAL, "data", "data_base64"))
_EMPTY: Mapping[str, Any] = MappingProxyType({})
# One compact encoder, built once (json.dumps builds one per call).
_dumps = _json.encoder()

ExtensionValue = str | int | bool | bytes


class CloudEvent(Value):
    """An event as the CloudEvents 1.0 spec defines it, validated when built.

    ``data`` holds the decoded payload: a JSON value for JSON content types, ``str`` for text,
    ``bytes`` otherwise. ``time`` is timezone-aware (a string in RFC 3339 is accepted and parsed).
    ``extensions`` maps lowercase alphanumeric names to values (spec section "Extension Context
    Attributes"); ``source`` + ``id`` identify the event for duplicate detection.
    """

    id: str
    source: str
    type: str
    specversion: str = SPECVERSION
    datacontenttype: str | None = None
    dataschema: str | None = None
    subject: str | None = None
    time: datetime | None = None
    data: Any = None
    extensions: Mapping[str, ExtensionValue] = _EMPTY

    def __init__(
        self,
        *,
        id: str,
        source: str,
        type: str,
        specversion: str = SPECVERSION,
        datacontenttype: str | None = None,
        dataschema: str | None = None,
        subject: str | None = None,
        time: datetime | str | None = None,
        data: Any = None,
        extensions: Mapping[str, ExtensionValue] = _EMPTY,
    ) -> None:
        # Written out rather than generated: one event is built per message, on the hot path.
        _CloudEvent_id(self, id)
        _CloudEvent_source(self, source)
        _CloudEvent_type(self, type)
        _CloudEvent_specversion(self, specversion)
        _CloudEvent_datacontenttype(self, datacontenttype)
        _CloudEvent_dataschema(self, dataschema)
        _CloudEvent_subject(self, subject)
        _CloudEvent_time(self, time)
        _CloudEvent_data(self, data)
        _CloudEvent_extensions(self, extensions)
        self.__post_init__()

    def __post_init__(self) -> None:
        # Hot path (one event per message): plain attribute checks, no loops over getattr.
        if not (type(self.id) is str and self.id):
            _require_text("id", self.id)
        if not (type(self.source) is str and self.source):
            _require_text("source", self.source)
        if not (type(self.type) is str and self.type):
            _require_text("type", self.type)
        if self.specversion != SPECVERSION:
            raise InvalidCloudEventError(
                "specversion", f"must be {SPECVERSION!r}, got {self.specversion!r}"
            )
        if self.datacontenttype is not None:
            _require_text("datacontenttype", self.datacontenttype)
        if self.dataschema is not None:
            _require_text("dataschema", self.dataschema)
        if self.subject is not None:
            _require_text("subject", self.subject)
        time = self.time
        if time is not None and type(time) is not datetime:
            object.__setattr__(self, "time", _coerce_time(time))
        elif time is not None and time.tzinfo is None:
            raise InvalidCloudEventError("time", "must be timezone-aware")
        extensions = self.extensions
        if extensions is not _EMPTY:
            for name, value in extensions.items():
                _check_extension(name, value)
            object.__setattr__(self, "extensions", MappingProxyType(dict(extensions)))

    @classmethod
    def create(
        cls,
        *,
        type: str,
        source: str,
        data: Any = None,
        id: str | None = None,
        time: datetime | None = None,
        **attributes: Any,
    ) -> CloudEvent:
        """Build a new event: ``id`` defaults to a random UUID, ``time`` to now (UTC)."""
        return cls(
            id=id or new_id(),
            source=source,
            type=type,
            time=time or datetime.now(timezone.utc),
            data=data,
            **attributes,
        )

    def with_extensions(self, **values: ExtensionValue | None) -> CloudEvent:
        """A copy with extensions added, changed, or (value None) removed."""
        merged = dict(self.extensions)
        for name, value in values.items():
            if value is None:
                merged.pop(name, None)
            else:
                merged[name] = value
        return self.replace(extensions=merged)


(
    _CloudEvent_id,
    _CloudEvent_source,
    _CloudEvent_type,
    _CloudEvent_specversion,
    _CloudEvent_datacontenttype,
    _CloudEvent_dataschema,
    _CloudEvent_subject,
    _CloudEvent_time,
    _CloudEvent_data,
    _CloudEvent_extensions,
) = setters(CloudEvent)


def _require_text(name: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidCloudEventError(name, "must be a non-empty string")


def _coerce_time(value: object) -> datetime:
    if isinstance(value, str):
        return parse_time(value)
    if isinstance(value, datetime):  # a subclass
        if value.tzinfo is None:
            raise InvalidCloudEventError("time", "must be timezone-aware")
        return value
    raise InvalidCloudEventError("time", "must be a datetime or an RFC 3339 string")


def _check_extension(name: object, value: object) -> None:
    # isascii first: isdigit and isalnum also take digits of other scripts ("²", "٣").
    if not isinstance(name, str) or not (name.isascii() and ((name.isalnum() and name.islower())
                                                             or name.isdigit())):
        raise InvalidCloudEventError(
            str(name), "extension names must be lowercase letters a-z and digits 0-9"
        )
    if name in _RESERVED:
        raise InvalidCloudEventError(name, "is a reserved attribute name, not an extension")
    if not isinstance(value, str | int | bool | bytes):
        raise InvalidCloudEventError(name, f"extension value of type {type(value).__name__}")
    if isinstance(value, int) and not -0x80000000 <= value <= 0x7FFFFFFF:
        # Spec "Type System": an Integer is 32-bit; other SDKs refuse a wider one on receipt.
        raise InvalidCloudEventError(name, f"integer {value} is outside the 32-bit range")


def new_id() -> str:
    """A random (version 4) UUID string; cheaper to import than the uuid module."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_FRACTION = re.compile(r"\.(\d+)")


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 timestamp (``Z`` or an offset; any number of fraction digits)."""
    try:
        parsed = datetime.fromisoformat(text)  # Python 3.11+ reads RFC 3339 as it comes
    except ValueError:
        parsed = _parse_time_slow(text)
    if parsed.tzinfo is None:
        raise InvalidCloudEventError("time", f"has no UTC offset: {text!r}")
    return parsed


def _parse_time_slow(text: str) -> datetime:
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    # Python 3.10 reads exactly 3 or 6 fraction digits: RFC 3339 allows any number.
    value = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), value, count=1)
    if value[17:19] == "60" and value[10:11] in ("T", "t", " "):
        # RFC 3339 section 5.6 allows a leap second; datetime has none, so it is read as
        # second 59 (as java.time's ISO_INSTANT reads it).
        value = value[:17] + "59" + value[19:]
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise InvalidCloudEventError("time", f"not an RFC 3339 timestamp: {text!r}") from None


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, the form every provider's examples use."""
    try:
        text = value.astimezone(timezone.utc).isoformat()
    except OverflowError:  # in UTC it would be past year 9999 or before year 1: keep the offset
        return value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# -- data codec -------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _media_type(content_type: str) -> str:
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
    return _media_type(content_type).endswith(("/json", "+json"))


def _is_text_content_type(content_type: str) -> bool:
    media = _media_type(content_type)
    return media.startswith("text/") or media in ("application/xml",) or media.endswith("+xml")


def encode_data(data: Any, content_type: str | None) -> tuple[bytes, str | None]:
    """Serialise event data for a transport body; returns the bytes and their content type."""
    if data is None:
        return b"", content_type
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data), content_type or "application/octet-stream"
    if isinstance(data, str) and not is_json_content_type(content_type):
        if content_type is None:
            return data.encode("utf-8"), "text/plain; charset=utf-8"
        # The bytes must be in the charset the content type declares, or a reader that
        # honours it (decode_data) gets other text.
        return _encode_text(data, content_type), content_type
    try:
        body = _dumps(data).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:  # RecursionError: data in itself
        raise InvalidCloudEventError("data", f"cannot be serialised as JSON: {exc}") from None
    return body, content_type or "application/json"


def decode_data(body: bytes, content_type: str | None) -> Any:
    """Read a transport body back into event data, as ``encode_data`` wrote it.

    JSON content types must carry JSON (else ``InvalidCloudEventError('data')``); ``text/*`` and
    XML become ``str``; anything else, including no content type, stays ``bytes`` (the spec
    makes data opaque without a content type).
    """
    if not body:
        return None
    if is_json_content_type(content_type):
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise InvalidCloudEventError(
                "data", f"content type {content_type!r} says JSON but the body is not JSON"
            ) from None
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


# -- JSON format --------------------------------------------------------------------------------


def _b64encode(value: bytes) -> str:
    import binascii  # C module; base64 itself is more than needed here

    return binascii.b2a_base64(value, newline=False).decode("ascii")


def _b64decode(text: str) -> bytes:
    import base64

    return base64.b64decode(text, validate=True)


def to_dict(event: CloudEvent) -> dict[str, Any]:
    """The JSON-format object of an event (``data_base64`` for binary data)."""
    out: dict[str, Any] = {
        "specversion": event.specversion,
        "id": event.id,
        "source": event.source,
        "type": event.type,
    }
    if event.datacontenttype is not None:
        out["datacontenttype"] = event.datacontenttype
    if event.dataschema is not None:
        out["dataschema"] = event.dataschema
    if event.subject is not None:
        out["subject"] = event.subject
    if event.time is not None:
        out["time"] = format_time(event.time)
    for name, value in event.extensions.items():
        out[name] = _b64encode(value) if isinstance(value, bytes) else value
    data = event.data
    if isinstance(data, bytes | bytearray | memoryview):
        out["data_base64"] = _b64encode(bytes(data))
    elif data is not None:
        out["data"] = data
    return out


def from_dict(obj: Mapping[str, Any]) -> CloudEvent:
    """An event from its JSON-format object; validates every attribute."""
    if not isinstance(obj, Mapping):
        raise InvalidCloudEventError("specversion", "a structured event must be a JSON object")
    if "specversion" not in obj:
        raise InvalidCloudEventError("specversion", "is required")
    for name in _REQUIRED:
        if name not in obj:
            raise InvalidCloudEventError(name, "is required")
    if "data" in obj and "data_base64" in obj:
        raise InvalidCloudEventError("data_base64", "cannot appear together with data")
    data: Any = obj.get("data")
    if "data_base64" in obj:
        encoded = obj["data_base64"]
        if not isinstance(encoded, str):
            raise InvalidCloudEventError("data_base64", "must be a string")
        try:
            data = _b64decode(encoded)
        except ValueError:  # binascii.Error is a ValueError
            raise InvalidCloudEventError("data_base64", "is not valid base64") from None
    # JSON format 2.2: a null member "MUST be treated as the equivalent of unset or omitted".
    extensions = {k: v for k, v in obj.items() if k not in _RESERVED and v is not None}
    return CloudEvent(
        id=obj["id"],
        source=obj["source"],
        type=obj["type"],
        specversion=obj["specversion"],
        datacontenttype=obj.get("datacontenttype"),
        dataschema=obj.get("dataschema"),
        subject=obj.get("subject"),
        time=obj.get("time"),
        data=data,
        extensions=extensions or _EMPTY,
    )


def to_json(event: CloudEvent) -> bytes:
    """Structured-mode JSON bytes."""
    try:
        return _dumps(to_dict(event)).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:  # RecursionError: data in itself
        raise InvalidCloudEventError("data", f"cannot be serialised as JSON: {exc}") from None


def from_json(text: bytes | str) -> CloudEvent:
    """An event from structured-mode JSON."""
    try:
        obj = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise InvalidCloudEventError("specversion", "structured event is not valid JSON") from None
    except RecursionError:  # valid JSON, nested deeper than the parser recurses
        raise InvalidCloudEventError(
            "specversion", "structured event nests JSON too deeply to read"
        ) from None
    return from_dict(obj)


def sniff_structured(body: bytes | str | Mapping[str, Any] | None) -> CloudEvent | None:
    """The event if ``body`` is a structured-mode CloudEvent, else ``None``.

    This is how every adapter recovers an event that portable-fn published through a transport
    with no CloudEvents binding of its own (SQS, SNS, Storage Queues, Cloudflare Queues). A body
    that claims ``specversion`` but breaks the spec raises ``InvalidCloudEventError``.
    """
    if body is None:
        return None
    if isinstance(body, Mapping):
        return from_dict(body) if "specversion" in body else None
    if isinstance(body, bytes | bytearray):
        head = bytes(body[:1024])
        if b'"specversion"' not in head and b'"specversion"' not in body:
            return None
    elif '"specversion"' not in body:
        return None
    first = body.lstrip()[:1]
    if first not in (b"{", "{"):
        return None
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    except RecursionError:  # it names specversion, but cannot be read: fail typed
        raise InvalidCloudEventError(
            "specversion", "structured event nests JSON too deeply to read"
        ) from None
    if not isinstance(obj, dict) or "specversion" not in obj:
        return None
    return from_dict(obj)


# -- HTTP binding ---------------------------------------------------------------------------------

# Characters the HTTP binding (section 3.1.3.2) requires percent-encoded in ce- header values.
_HEADER_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"%')


def _header_value(value: ExtensionValue | datetime, percent_encode: bool = True) -> str:
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return _b64encode(value)
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
    media = _media_type(content_type) if content_type else ""
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
    media = _media_type(content_type) if content_type else ""
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
        if attr in _RESERVED:
            attrs[attr] = decoded
        else:
            extensions[attr] = decoded
    for name in _REQUIRED:
        if name not in attrs:
            raise InvalidCloudEventError(name, f"is required (header ce-{name})")
    content_type = lowered.get("content-type")
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
        extensions=extensions or _EMPTY,
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


# -- portable payload shapes ----------------------------------------------------------------------


def storage_data(
    *,
    bucket: str,
    key: str,
    size: int | None,
    etag: str | None,
    action: Literal["created", "deleted"],
    content_type: str | None = None,
) -> dict[str, Any]:
    """The portable storage payload every provider's storage event carries (DESIGN section 2)."""
    data: dict[str, Any] = {
        "bucket": bucket,
        "key": key,
        "size": size,
        "etag": etag,
        "action": action,
    }
    if content_type is not None:
        data["content_type"] = content_type
    return data


def schedule_data(*, expression: str, scheduled_time: datetime) -> dict[str, Any]:
    """The portable schedule payload: the trigger's expression and when this run was due."""
    return {"expression": expression, "scheduled_time": format_time(scheduled_time)}
