# SPDX-License-Identifier: Apache-2.0
"""Turn values that crossed from JS (through the SDK's converters) into plain Python values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any


def plain(value: Any) -> Any:
    """Plain dict/list/bytes for a converted JS value (the SDK gives ``JsDict`` and JsProxies).

    A JS ``ArrayBuffer``/typed array (a queue message sent with ``contentType: "bytes"``) still
    reaches Python as a JsProxy; ``to_bytes`` is Pyodide's copy-out.
    """
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, datetime):  # a JS Date sent with contentType "v8"; see utc_time
        return value.astimezone(timezone.utc)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    to_bytes = getattr(value, "to_bytes", None)
    if callable(to_bytes) and not isinstance(value, int):
        return bytes(to_bytes())
    return value


def utc_time(value: Any) -> datetime | None:
    """A timezone-aware UTC datetime from a JS Date, a converted datetime or epoch milliseconds.

    The SDK converts a JS Date with ``datetime.fromtimestamp`` (naive, local time); reading it
    back with ``astimezone`` undoes exactly that, whatever the local zone is.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    get_time = getattr(value, "getTime", None)
    if callable(get_time):
        return datetime.fromtimestamp(float(get_time()) / 1000, tz=timezone.utc)
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
    return None
