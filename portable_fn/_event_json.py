# SPDX-License-Identifier: Apache-2.0
"""The CloudEvents JSON format: an event as one JSON object (structured mode).

https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/formats/json-format.md
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from portable_fn._cloudevent import (
    EMPTY,
    REQUIRED,
    RESERVED,
    CloudEvent,
    format_time,
    received_extension,
)
from portable_fn._event_data import decode_data, dumps, is_json_content_type
from portable_fn.errors import InvalidCloudEventError

__all__ = [
    "b64encode", "from_dict", "from_json", "sniff_structured", "to_dict", "to_json",
]



def b64encode(value: bytes) -> str:
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
        out[name] = b64encode(value) if isinstance(value, bytes) else value
    data = event.data
    if isinstance(data, bytes | bytearray | memoryview):
        out["data_base64"] = b64encode(bytes(data))
    elif data is not None:
        content_type = event.datacontenttype
        if (
            content_type is not None
            and not isinstance(data, str)
            and not is_json_content_type(content_type)
        ):
            # JSON format 3.1.1: under a content type that is not JSON, ``data`` holds "a
            # string representation of the data value": the JSON text, which binary mode
            # sends as the body (``encode_data``), so both modes deliver the same event.
            try:
                data = dumps(data)
            except (TypeError, ValueError, RecursionError) as exc:
                raise InvalidCloudEventError(
                    "data", f"cannot be serialised as JSON: {exc}"
                ) from None
        out["data"] = data
    return out


def from_dict(obj: Mapping[str, Any]) -> CloudEvent:
    """An event from its JSON-format object; validates every attribute."""
    if not isinstance(obj, Mapping):
        raise InvalidCloudEventError("specversion", "a structured event must be a JSON object")
    if "specversion" not in obj:
        raise InvalidCloudEventError("specversion", "is required")
    for name in REQUIRED:
        if name not in obj:
            raise InvalidCloudEventError(name, "is required")
    # JSON format 2.2: a null member is unset, so a null data beside data_base64 (or the other
    # way round) is one of them, as the official SDK reads it; two values are refused (3.1).
    data: Any = obj.get("data")
    encoded = obj.get("data_base64")
    if data is not None and encoded is not None:
        raise InvalidCloudEventError("data_base64", "cannot appear together with data")
    if encoded is not None:
        if not isinstance(encoded, str):
            raise InvalidCloudEventError("data_base64", "must be a string")
        try:
            data = _b64decode(encoded)
        except ValueError:  # binascii.Error is a ValueError
            raise InvalidCloudEventError("data_base64", "is not valid base64") from None
        content_type = obj.get("datacontenttype")
        if data and type(content_type) is str:
            # JSON format 3.1.2: the bytes "MAY" be interpreted by the content type. Read as
            # binary mode reads the same body (JSON, text, else bytes), so a handler sees the
            # same data in either mode; with no content type they stay bytes ("MUST NOT").
            data = decode_data(data, content_type)
    # JSON format 2.2: a null member "MUST be treated as the equivalent of unset or omitted".
    extensions = {
        k: received_extension(v) for k, v in obj.items() if k not in RESERVED and v is not None
    }
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
        extensions=extensions or EMPTY,
    )


def to_json(event: CloudEvent) -> bytes:
    """Structured-mode JSON bytes."""
    try:
        return dumps(to_dict(event)).encode("utf-8")
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

