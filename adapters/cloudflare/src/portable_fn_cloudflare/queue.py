# SPDX-License-Identifier: Apache-2.0
"""Cloudflare Queues: one delivered message to a CloudEvent.

Shape: the ``Message`` of a consumer's ``MessageBatch`` (``id``, ``timestamp``, ``body``,
``attempts``, ``ack()``, ``retry()``), https://developers.cloudflare.com/queues/configuration/javascript-apis/#message
A body is whatever the producer sent with ``contentType`` json, text, bytes or v8
(https://developers.cloudflare.com/queues/configuration/javascript-apis/#queuescontenttype).

Mapping (Cloudflare mapping table, version 2, this adapter's README): a body that is a
structured-mode CloudEvent (what portable-fn publishes, as a JSON object or as text) is that
event; any other body becomes ``type=com.cloudflare.queues.message``,
``source=cloudflare:queues/<name>`` (the queue or topic the decorator names), ``id`` = message
id, ``time`` = message timestamp, ``data`` = the body.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, NamedTuple

from portable_fn._json import MAX_DEPTH, too_deep
from portable_fn.errors import EventDecodeError, InvalidCloudEventError
from portable_fn.events import CloudEvent, sniff_structured
from portable_fn_cloudflare._values import from_js, plain, utc_time

TYPE = "com.cloudflare.queues.message"
PROVIDER = "cloudflare"
# Largest integer Pyodide hands JS as a Number: it converts an int to a Number only strictly
# inside (-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER) (``JsvNum_fromDigits``, npm pyodide
# 0.28), so 2**53 - 1 itself is already a BigInt, which JSON cannot carry.
_MAX_JS_NUMBER_INT = 2**53 - 2


class QueueMessage(NamedTuple):
    """The fields of a delivered message, read once off the runtime object."""

    id: str
    timestamp: datetime | None
    body: Any
    attempts: int
    # Why the body could not be converted to Python (``body`` is then None), else None.
    unreadable: str | None = None

    @classmethod
    def read(cls, message: Any) -> QueueMessage:
        try:
            attempts = int(message.attempts)
        except (AttributeError, TypeError, ValueError, OverflowError):  # int(Infinity)
            attempts = 1
        message_id, attempts = str(message.id), max(attempts, 1)
        try:
            timestamp = utc_time(getattr(message, "timestamp", None))
        except (TypeError, ValueError, OverflowError, OSError):
            # Not a time (the runtime hands a Date): the event goes without one, as an event
            # whose time is unknown does, rather than the message going unread.
            timestamp = None
        try:
            body = plain(_read_body(message))
        except Exception as exc:
            # The SDK converts a body recursively (workers-runtime-sdk ``python_from_rpc``): one
            # nested ~1000 deep (json or v8) or a v8 value that contains itself raises
            # RecursionError, the same on every delivery. Kept apart, so this message alone is
            # dead-lettered at once (``consume``) instead of spending its retries.
            return cls(message_id, timestamp, None, attempts, f"{type(exc).__name__}: {exc}")
        return cls(message_id, timestamp, body, attempts)


def _read_body(message: Any) -> Any:
    """``message.body`` as the SDK converts it, or converted here when the SDK cannot.

    The SDK wraps the message (``_BindingWrapper``, workers-runtime-sdk ``workers/rpc.py``); an
    AttributeError inside its conversion (a body object with its own ``constructor`` key,
    ``_values.from_js``) surfaces as "no attribute body", which would read as an absent body:
    the JS value it wraps (``_binding``) is converted without the SDK instead.
    """
    try:
        return message.body
    except AttributeError:
        binding = getattr(message, "_binding", None)
        if binding is None:  # not the SDK's wrapper: a message without a body
            return None
        return from_js(binding.body)


def structured(body: Any, *, trigger: str) -> CloudEvent | None:
    """The CloudEvent a body carries in structured mode, or None; broken ones fail typed."""
    if not isinstance(body, Mapping | str | bytes):
        return None
    if not isinstance(body, Mapping) and _names_specversion(body) and too_deep(body):
        # Only text that names specversion is parsed here; refuse what would overflow the stack.
        raise EventDecodeError(
            f"body nests JSON deeper than {MAX_DEPTH} levels",
            provider=PROVIDER,
            trigger=trigger,
            field="body",
        )
    try:
        return sniff_structured(body)
    except InvalidCloudEventError as exc:
        raise EventDecodeError(
            f"structured CloudEvent is invalid: {exc}",
            provider=PROVIDER,
            trigger=trigger,
            field=exc.attribute,
        ) from exc


def _names_specversion(body: str | bytes) -> bool:
    """What ``sniff_structured`` looks for before it parses a text or bytes body."""
    if isinstance(body, str):
        return '"specversion"' in body
    return b'"specversion"' in body


def to_event(message: QueueMessage, queue: str) -> CloudEvent:
    """The CloudEvent for a message delivered from ``queue``."""
    event = structured(message.body, trigger="queue")
    if event is not None:
        return event
    body = message.body
    if isinstance(body, Mapping) and str(body.get("type", "")).startswith("cf."):
        from portable_fn_cloudflare import subscriptions  # only a product's events load it

        if subscriptions.matches(body):
            return subscriptions.to_event(message, body)
    if isinstance(body, bytes):
        content_type = "application/octet-stream"
    elif isinstance(body, str):
        content_type = "text/plain; charset=utf-8"
    else:
        content_type = "application/json"
    return CloudEvent(
        id=message.id,
        source=f"cloudflare:queues/{queue}",
        type=TYPE,
        time=message.timestamp,
        datacontenttype=content_type,
        data=body,
    )


def content_type_for(body: Any) -> Literal["bytes", "text", "json", "v8"]:
    """The ``contentType`` that sends a read body on unchanged (to a dead-letter queue).

    Without one, a Worker past compatibility date 2024-03-18 (``queues_json_messages``) sends
    JSON, which would turn bytes into ``{"0": ..}`` and a Date into text
    (https://developers.cloudflare.com/queues/configuration/javascript-apis/#queuescontenttype).
    """
    if isinstance(body, bytes):
        return "bytes"
    if isinstance(body, str):
        return "text"
    return "json" if _json_shaped(body) else "v8"


def _json_shaped(body: Any) -> bool:
    """Whether JSON carries ``body`` (a ``plain`` value) as it is; a loop, as bodies nest deep."""
    stack = [body]
    while stack:
        value = stack.pop()
        if value is None or isinstance(value, str | bool):
            continue
        if isinstance(value, Mapping):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, float):
            if not math.isfinite(value):  # JSON writes NaN and Infinity as null
                return False
        elif not isinstance(value, int) or abs(value) > _MAX_JS_NUMBER_INT:
            return False  # bytes, a datetime (a v8 Date), a BigInt
    return True
