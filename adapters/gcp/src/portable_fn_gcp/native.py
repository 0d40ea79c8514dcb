# SPDX-License-Identifier: Apache-2.0
"""CloudEvents as functions-framework hands them over, turned into portable ``CloudEvent`` values.

Cloud Run functions (and Eventarc) deliver every event as a CloudEvent over HTTP, in binary or
structured mode: https://cloud.google.com/eventarc/docs/cloudevents and
https://cloud.google.com/functions/docs/writing/write-event-driven-functions . functions-framework
parses it with the cloudevents 1.x SDK before calling the function; when the raw request is at
hand this module reads it again with the core's own binding instead, because the 1.x default
unmarshaller guesses JSON for every body (``text/plain`` "123" would become the int 123).

Google's structured events carry extension attributes in camelCase (``methodName``,
``recordedTime`` in the Cloud Audit Logs samples), which the spec forbids; over binary mode the
same attributes arrive lower-cased because HTTP header names are case-insensitive. Lower-casing
them here makes both modes give the same event; a name still invalid after that is dropped, in
either mode. So is an extension value that is no CloudEvents type, except an integer wider than
the spec's 32-bit Integer (the JavaScript SDK sends ``Date.now()`` so): it is kept as the string
binary mode carries it as.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Protocol

from portable_fn.errors import EventDecodeError, InvalidCloudEventError
from portable_fn.events import (
    CloudEvent,
    decode_data,
    encode_data,
    from_dict,
    from_http,
    is_json_content_type,
    received_extension,
)

from portable_fn_gcp import timestamps

__all__ = ["NativeCloudEvent", "from_native", "from_request"]

_CORE = frozenset(
    ("specversion", "id", "source", "type", "datacontenttype", "dataschema", "subject", "time")
)
_DATA = frozenset(("data", "data_base64"))
_EXTENSION = re.compile(r"[a-z0-9]{1,64}")
_STRUCTURED = "application/cloudevents"


class NativeCloudEvent(Protocol):
    """What functions-framework passes: ``cloudevents.http.CloudEvent`` (1.x), duck-typed."""

    def get_attributes(self) -> Mapping[str, Any]: ...

    def get_data(self) -> Any: ...


def from_request(headers: Mapping[str, str], body: bytes, *, trigger: str) -> CloudEvent:
    """An event from the raw HTTP request, either content mode."""
    # The binding wants a ``ce-*`` value's non-ASCII percent-encoded (HTTP binding 3.1.3.2),
    # but Go, curl and Node clients send the UTF-8 bytes as they are; the local runtime's
    # ingress reads them as UTF-8 too.
    lowered = {
        name: header_text(v) if name.startswith("ce-") else v
        for name, v in ((k.lower(), v) for k, v in headers.items())
        if not name.startswith("ce-") or _is_attribute(name[3:])
    }
    if "ce-time" in lowered:
        lowered["ce-time"] = timestamps.normalise(lowered["ce-time"])
    try:
        if lowered.get("content-type", "").lower().startswith(_STRUCTURED):
            obj = json.loads(body)
            if not isinstance(obj, dict):
                raise InvalidCloudEventError("specversion", "structured event is not an object")
            return from_dict(normalise(obj))
        return from_http(lowered, body)
    except (InvalidCloudEventError, ValueError) as exc:
        raise _decode_error(exc, trigger) from exc
    except RecursionError:  # valid JSON nested deeper than the parser recurses: still malformed
        raise _decode_error(ValueError("JSON nested too deeply to read"), trigger) from None


def _is_attribute(name: str) -> bool:
    """Whether a ``ce-`` header names an attribute; the rest are dropped, as ``normalise`` drops
    them from a structured event (the binding would refuse the whole event over one)."""
    return name in _CORE or (name not in _DATA and _EXTENSION.fullmatch(name) is not None)


def header_text(value: str) -> str:
    """A header value as the text it was sent as: WSGI hands a header's bytes over decoded as
    latin-1 (PEP 3333), so UTF-8 ``café`` reads ``cafÃ©``. A value whose bytes are not UTF-8
    is kept as it came."""
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def from_native(native: NativeCloudEvent, *, trigger: str) -> CloudEvent:
    """An event from the SDK object (used when no raw request is available)."""
    attributes = dict(native.get_attributes())
    data = native.get_data()
    content_type = attributes.get("datacontenttype")
    try:
        if isinstance(data, bytes | bytearray | str):
            raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
            data = decode_data(raw, content_type) if content_type else data
        elif data is not None and content_type and not is_json_content_type(content_type):
            # The 1.x SDK parsed a non-JSON body as JSON; its text form is what was sent.
            data = decode_data(encode_data(data, "application/json")[0], content_type)
        attributes["data"] = data
        return from_dict(normalise(attributes))
    except InvalidCloudEventError as exc:
        raise _decode_error(exc, trigger) from exc


def normalise(obj: Mapping[str, Any]) -> dict[str, Any]:
    """Core attributes as they are; extensions lower-cased, invalid ones dropped."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key == "time" and isinstance(value, str):
            out[key] = timestamps.normalise(value)
            continue
        if key in _CORE or key in _DATA:
            out[key] = value
            continue
        name = key.lower()
        if name in _CORE or name in _DATA or not _EXTENSION.fullmatch(name):
            continue
        if value is not None and name not in out:  # an object or a fraction: its JSON text
            out[name] = received_extension(value)
    return out


def _decode_error(exc: Exception, trigger: str) -> EventDecodeError:
    field = getattr(exc, "attribute", None)
    return EventDecodeError(
        f"not a valid CloudEvent: {exc}", provider="gcp", trigger=trigger, field=field
    )
