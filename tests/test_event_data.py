# SPDX-License-Identifier: Apache-2.0
"""``undeclared``: the data of a message body that declares no content type, one rule for
every transport that carries bytes (Pub/Sub, Service Bus, Storage Queues, Event Hubs, Kinesis)."""

from __future__ import annotations

from typing import Any

import pytest

from portable_fn._event_data import decode_data
from portable_fn.adapter import undeclared

TEXT = "text/plain; charset=utf-8"
BINARY = "application/octet-stream"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"sku": "book"}', ({"sku": "book"}, "application/json")),
        (b"\xef\xbb\xbf[1, 2]", ([1, 2], "application/json")),  # RFC 8259 8.1: BOM ignored
        (b" 42", (42, "application/json")),
        (b"hello\tworld\r\n", ("hello\tworld\r\n", TEXT)),
        ("café, no-break\u00a0space, emoji 👩\u200d💻".encode(), (
            "café, no-break\u00a0space, emoji 👩\u200d💻", TEXT)),
        (b"NaN", ("NaN", TEXT)),  # not JSON (RFC 8259 section 6): text
        # Google's binary Pub/Sub sample (googleapis/google-cloudevents, MessagePublishedData
        # -binary.json): valid UTF-8, but control characters mean bytes.
        (b"\x01\x02\x03\x04", (b"\x01\x02\x03\x04", BINARY)),
        # A protobuf message that happens to be valid UTF-8: field 1 "hello", field 2 = 1.
        (b"\n\x05hello\x10\x01", (b"\n\x05hello\x10\x01", BINARY)),
        (b"\x00", (b"\x00", BINARY)),
        ("\u0085".encode(), ("\u0085".encode(), BINARY)),  # C1 control
        (b"\xff\xfe", (b"\xff\xfe", BINARY)),  # not UTF-8
        (b"", (None, None)),
    ],
)
def test_json_else_text_else_bytes(body: bytes, expected: tuple[Any, str | None]) -> None:
    assert undeclared(body) == expected


@pytest.mark.parametrize(
    ("body", "data"),
    [
        (b'{"a": NaN}', '{"a": NaN}'),  # not JSON (RFC 8259 section 6): text, as undeclared
        (b"[1e999]", "[1e999]"),  # past a float: would be inf
        (b"\xef\xbb\xbf{\"a\": 1}", {"a": 1}),
        ('{"a": 1}'.encode("utf-16"), {"a": 1}),  # an encoding json.loads detects
        (b"hello", "hello"),
        (b"\xff", b"\xff"),
    ],
)
def test_a_body_declared_json_is_read_by_the_same_rule(body: bytes, data: Any) -> None:
    """The same bytes are the same data with ``application/json`` declared (Service Bus's
    ContentType, a Pub/Sub message's attribute) or without: NaN was a float with it and text
    without, and a handler publishing it again failed."""
    assert decode_data(body, "application/json") == data
