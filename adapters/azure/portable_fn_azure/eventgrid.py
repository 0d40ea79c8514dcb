# SPDX-License-Identifier: Apache-2.0
"""Event Grid trigger: ``EventGridEvent`` (Event Grid schema) or ``azure.functions.CloudEvent``
(CloudEvents 1.0 schema) -> ``CloudEvent``.

Payloads: https://learn.microsoft.com/azure/event-grid/event-schema and
https://learn.microsoft.com/azure/event-grid/cloud-event-schema. Event Grid is CloudEvents-native:
a CloudEvents-schema delivery keeps every attribute and extension as sent, so an event that
``pf.publish``/``pf.emit`` sent arrives as itself. The Event Grid schema maps field for field
(``topic``->source, ``eventType``->type, ``eventTime``->time, ``id``, ``subject``, ``data``;
``dataVersion`` and ``metadataVersion`` are dropped, as Event Grid's own schema conversion does).

Extensions follow the CloudEvents JSON format
(https://github.com/cloudevents/spec/blob/main/cloudevents/formats/json-format.md): a ``null``
value is an absent attribute; a value of no CloudEvents type (an object, an array, a number with
a fraction) is kept as its JSON text rather than refused, since Event Grid delivered it.

Event Grid also delivers to Storage Queues and Service Bus
(https://learn.microsoft.com/azure/event-grid/handler-storage-queues, handler-service-bus): the
message body is then the event's JSON. ``from_schema`` reads an Event Grid-schema body the way
the trigger's event is read, so a queue handler sees the same event (a CloudEvents-schema body is
a structured CloudEvent, which the queue codecs read already).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from portable_fn.errors import EventDecodeError, InvalidCloudEventError
from portable_fn.events import CloudEvent, decode_data, received_extension

from portable_fn_azure._payload import aware

if TYPE_CHECKING:
    import azure.functions as func

__all__ = ["from_json", "from_schema", "to_event"]

TRIGGER = "eventGridTrigger"
_EXTENSION_NAME = re.compile(r"[a-z0-9]+")
# What every Event Grid-schema event has as Event Grid delivers it: the publisher's id, eventType,
# subject and eventTime, and the topic and metadataVersion that Event Grid itself writes
# (https://learn.microsoft.com/azure/event-grid/event-schema). All of them, so that a payload
# which merely uses some of these names stays a payload.
_SCHEMA_KEYS = frozenset(("id", "topic", "subject", "eventType", "eventTime", "metadataVersion"))
_OFFSET = re.compile(r"(?:[Zz]|[+-]\d\d:?\d\d)$")
# The CloudEvents-schema keys that are no extension (the library's converter uses the same set).
_CLOUDEVENT_KEYS = frozenset(("specversion", "id", "source", "type", "time", "subject",
                              "datacontenttype", "dataschema", "data"))


def to_event(native: str | bytes | func.EventGridEvent | func.CloudEvent) -> CloudEvent:
    """The event of one Event Grid delivery: its JSON text, as the generated entry receives it
    (``from_json``), or the library's ``EventGridEvent``/``CloudEvent``."""
    try:
        if isinstance(native, str | bytes):
            return from_json(native)
        # The converter picks the class from the payload (``specversion`` = CloudEvents schema).
        if hasattr(native, "specversion"):
            return _from_cloudevent(cast("func.CloudEvent", native))
        return _from_eventgrid(native)
    except InvalidCloudEventError as exc:
        raise EventDecodeError(
            f"Event Grid event {_event_id(native)!r} is not valid: {exc}",
            provider="azure", trigger=TRIGGER, field=exc.attribute,
        ) from exc


def _event_id(native: Any) -> Any:
    """The id an error names: the library object's, or the one in the delivered JSON text."""
    if not isinstance(native, str | bytes):
        return getattr(native, "id", None)
    try:
        obj = json.loads(native)
    except (ValueError, RecursionError):
        return None
    return obj.get("id") if type(obj) is dict else None


def from_schema(obj: Any) -> CloudEvent | None:
    """The event of an Event Grid-schema JSON object, or None if ``obj`` is not one;
    ``InvalidCloudEventError`` if it is one with an unusable attribute."""
    if type(obj) is not dict or "eventType" not in obj or not obj.keys() >= _SCHEMA_KEYS:
        return None
    return _from_schema_object(obj)


def _from_schema_object(obj: dict[str, Any]) -> CloudEvent:
    """An Event Grid-schema event (https://learn.microsoft.com/azure/event-grid/event-schema):
    ``id``, ``topic`` as source, ``eventType`` as type, ``subject``, ``eventTime``, ``data``;
    a missing attribute is refused by the CloudEvent it would be."""
    return CloudEvent(
        id=obj.get("id", ""),
        source=obj.get("topic", ""),
        type=obj.get("eventType", ""),
        subject=obj.get("subject") or None,
        time=_utc_if_naive(obj.get("eventTime")),
        datacontenttype="application/json",
        data=obj.get("data"),
    )


def from_json(text: str | bytes) -> CloudEvent:
    """The event of one delivered event's JSON text, read as the library's
    ``EventGridEventInConverter`` reads it (``specversion``: the CloudEvents schema, else the
    Event Grid schema), except the time: any RFC 3339 offset, where the library's UTC-only
    formats raise before the function runs (``azure/functions/meta.py`` ``_parse_datetime``)
    and Event Grid retries the event until it dead-letters it. ``InvalidCloudEventError`` if it
    is no event."""
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise InvalidCloudEventError("data", "the delivered event is not JSON") from exc
    except RecursionError:  # valid JSON nested deeper than the parser recurses: malformed too
        raise InvalidCloudEventError("data", "JSON nested too deeply to read") from None
    if type(obj) is not dict:
        raise InvalidCloudEventError("data", "the delivered event is not a JSON object")
    if "specversion" in obj:
        return _cloudevent(
            {name: obj.get(name) for name in _CLOUDEVENT_KEYS},
            time=_utc_if_naive(obj.get("time")), data=obj.get("data"),
            extensions={k: v for k, v in obj.items() if k not in _CLOUDEVENT_KEYS})
    return _from_schema_object(obj)


def _utc_if_naive(moment: Any) -> Any:
    """Documented samples omit the offset, and Event Grid writes UTC (as ``aware`` reads the
    library's naive times)."""
    if isinstance(moment, str) and not _OFFSET.search(moment):
        return moment + "Z"
    return moment


def _from_eventgrid(native: func.EventGridEvent) -> CloudEvent:
    return CloudEvent(
        id=native.id,
        source=native.topic,
        type=native.event_type,
        subject=native.subject or None,
        time=aware(native.event_time),
        datacontenttype="application/json",
        data=native.get_json(),
    )


def _from_cloudevent(native: func.CloudEvent) -> CloudEvent:
    attributes = {name: getattr(native, name) for name in _CLOUDEVENT_KEYS if name != "data"}
    return _cloudevent(attributes, time=aware(native.time), data=native.get_json(),
                       extensions=dict(native.extension_attrs))


def _cloudevent(attributes: Mapping[str, Any], *, time: Any, data: Any,
                extensions: dict[str, Any]) -> CloudEvent:
    """A CloudEvents-schema event from its context attributes (every name of
    ``_CLOUDEVENT_KEYS``, None where absent), time, data and extensions."""
    encoded = extensions.pop("data_base64", None)
    if encoded is not None and data is not None:
        # Mutually exclusive (JSON format 3.1.1): which of the two is the event's data cannot
        # be told, as the core's from_dict refuses them on every other transport.
        raise InvalidCloudEventError("data_base64", "cannot appear together with data")
    if encoded is not None:  # binary data travels base64 in the JSON format (spec 3.1)
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, TypeError) as exc:
            raise InvalidCloudEventError("data_base64", "is not base64") from exc
        content_type = attributes["datacontenttype"]
        if data and content_type:
            # Read by its content type, as the core reads data_base64 on every other transport
            # and binary mode the same body (JSON format 3.1.2); with none it stays bytes.
            data = decode_data(data, content_type)
    return CloudEvent(
        id=attributes["id"],
        source=attributes["source"],
        type=attributes["type"],
        specversion=attributes["specversion"],
        subject=attributes["subject"],
        time=time,
        datacontenttype=attributes["datacontenttype"],
        dataschema=attributes["dataschema"],
        data=data,
        extensions={
            name: _extension_value(name, v) for name, v in extensions.items() if v is not None
        },
    )


def _extension_value(name: str, value: Any) -> str | int | bool:
    if not _EXTENSION_NAME.fullmatch(name):
        raise InvalidCloudEventError(name, "extension names are lowercase letters and digits")
    # An int past 32 bits, an object, a fraction: text, as on every transport.
    return received_extension(value)
