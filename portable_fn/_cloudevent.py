# SPDX-License-Identifier: Apache-2.0
"""The CloudEvent value: its context attributes, validated when built, and RFC 3339 times.

Spec: https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md
(sections "Context Attributes", "Type System" and "Extension Context Attributes").
Standard library only: this module runs in every deployed function, Pyodide included.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any, TypeVar

from portable_fn._value import Value, setters
from portable_fn.errors import InvalidCloudEventError

__all__ = [
    "EMPTY",
    "REQUIRED",
    "RESERVED",
    "SPECVERSION",
    "CloudEvent",
    "ExtensionValue",
    "format_time",
    "new_id",
    "parse_time",
    "received_extension",
]

SPECVERSION = "1.0"
REQUIRED = ("id", "source", "type")
_OPTIONAL = ("datacontenttype", "dataschema", "subject", "time")
# Names an extension may not take: the context attributes and the JSON format's data members.
RESERVED = frozenset(("specversion", *REQUIRED, *_OPTIONAL, "data", "data_base64"))
EMPTY: Mapping[str, Any] = MappingProxyType({})

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
    extensions: Mapping[str, ExtensionValue] = EMPTY

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
        extensions: Mapping[str, ExtensionValue] = EMPTY,
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
        if extensions is not EMPTY:
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
    if name in RESERVED:
        raise InvalidCloudEventError(name, "is a reserved attribute name, not an extension")
    if not isinstance(value, str | int | bool | bytes):
        raise InvalidCloudEventError(name, f"extension value of type {type(value).__name__}")
    if isinstance(value, int) and not _INT_MIN <= value <= _INT_MAX:
        # Spec "Type System": an Integer is 32-bit; other SDKs refuse a wider one on receipt,
        # so an event we build with one is refused here (one received is ``received_extension``).
        raise InvalidCloudEventError(name, f"integer {value} is outside the 32-bit range")


_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1  # spec.md "Type System": Integer
_V = TypeVar("_V")


def received_extension(value: _V) -> _V | str:
    """An extension value as received in a JSON format, one rule for every transport: an
    integer past the spec's 32-bit Integer becomes the string binary mode carries it as (the
    JavaScript SDK sends ``sequence: Date.now()`` so), and a JSON value the type system has no
    place for (a fraction, an object, an array: spec.md "Type System") its compact JSON text,
    as Event Grid's own CloudEvents hand them on. The event is not refused for either (it was
    on some transports, and the value dropped on others). Anything else as it is."""
    if isinstance(value, int) and type(value) is not bool and not _INT_MIN <= value <= _INT_MAX:
        return str(value)
    if isinstance(value, float | dict | list):
        import json  # rare: most events carry none

        try:
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        except (TypeError, ValueError, RecursionError):  # not from a JSON parser after all
            return value
    return value


def new_id() -> str:
    """A random (version 4) UUID string; cheaper to import than the uuid module."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# Patterns used off the common path are strings, compiled (and cached by ``re``) on first use:
# the cold start compiles none of them.
_FRACTION = r"\.(\d+)"
# RFC 3339 section 5.6 date-time (a space for the "T", as its section 5.6 note allows); compiled
# on the first time read, not at import. Python 3.11's fromisoformat also reads ISO 8601 forms
# that are not RFC 3339 (20240101T000000Z, 2024-W01-1T00:00Z, 2024-01-01T00Z, a ',' fraction,
# a seconds offset) and 3.10's does not: without this check the same event was valid or not
# depending on the Python it ran on.
_rfc3339: re.Pattern[str] | None = None


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 timestamp (``Z`` or an offset; any number of fraction digits)."""
    global _rfc3339
    if _rfc3339 is None:
        _rfc3339 = re.compile(
            r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
            r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"  # time-numoffset: hour, minute
        )
    if not isinstance(text, str) or _rfc3339.fullmatch(text) is None:
        raise InvalidCloudEventError("time", f"not an RFC 3339 timestamp: {text!r}")
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
    value = re.sub(_FRACTION, lambda m: "." + m.group(1)[:6].ljust(6, "0"), value, count=1)
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

