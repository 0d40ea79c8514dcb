# SPDX-License-Identifier: Apache-2.0
"""Timestamps the adapter reads itself, read the same on every supported Python.

The host serialises .NET ``DateTime``/``DateTimeOffset`` values: the round-trip form has 7
fraction digits (ticks), Json.NET's default drops trailing zeros (so 0 to 7 digits), and UTC is
written ``Z`` or ``+00:00``. Python 3.10's ``datetime.fromisoformat`` reads neither a ``Z`` nor a
fraction of other than 3 or 6 digits, and 3.11+ reads ISO 8601 forms that are not RFC 3339, so
the fraction is cut or padded to 6 digits first (as the GCP adapter's ``timestamps`` does) and
the core's RFC 3339 ``parse_time`` reads the rest. Times the library parses (``insertion_time``,
``enqueued_time_utc``, ``event_time``) go through its ``strptime`` formats, which do not vary.
"""

from __future__ import annotations

import re
from datetime import datetime

from portable_fn.errors import InvalidCloudEventError
from portable_fn.events import parse_time

__all__ = ["parse"]

_FRACTION = re.compile(r"\.(\d+)")
_OFFSET = re.compile(r"(?:[Zz]|[+-]\d\d:\d\d)$")


def parse(value: object, *, naive_is_utc: bool = False) -> datetime | None:
    """A timezone-aware datetime, or None when ``value`` is not an RFC 3339 timestamp (one
    without an offset is UTC if ``naive_is_utc``, else None)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if naive_is_utc and not _OFFSET.search(text):
        text += "Z"
    text = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text, count=1)
    try:
        return parse_time(text)
    except InvalidCloudEventError:
        return None
