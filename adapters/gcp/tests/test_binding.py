# SPDX-License-Identifier: Apache-2.0
"""The CloudEvents Pub/Sub binding (googleapis/google-cloudevents docs/spec/pubsub.md)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from portable_fn._event_data import dumps
from portable_fn.errors import EventDecodeError
from portable_fn.events import STRUCTURED_CONTENT_TYPE, CloudEvent, is_json_content_type, to_json

from portable_fn_gcp.binding import from_message, to_message

EVENT = CloudEvent(
    id="e-1",
    source="/portable-fn/shop/create_order",
    type="com.example.order.created",
    subject="orders/1",
    dataschema="https://example.com/order.json",
    time=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc),
    datacontenttype="application/json",
    data={"id": "1", "sku": "x"},
    extensions={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
)


def test_binary_mode_attributes() -> None:
    data, attributes = to_message(EVENT)
    assert json.loads(data) == {"id": "1", "sku": "x"}
    assert attributes == {
        "ce-specversion": "1.0",
        "ce-id": "e-1",
        "ce-source": "/portable-fn/shop/create_order",
        "ce-type": "com.example.order.created",
        "ce-subject": "orders/1",
        "ce-dataschema": "https://example.com/order.json",
        "ce-time": "2026-01-02T03:04:05.678000Z",
        "ce-traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "content-type": "application/json",
    }


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ({"a": [1, 2]}, "application/json"),
        ("plain text", "text/plain; charset=utf-8"),
        (b"\x00\xffbinary", "application/octet-stream"),
        (None, None),
    ],
)
def test_round_trip(data: object, content_type: str | None) -> None:
    event = EVENT.replace(data=data, datacontenttype=content_type)
    assert from_message(*to_message(event)) == event


@pytest.mark.parametrize(
    "changes",
    [
        {"extensions": {"sequence": 7, "flag": True}},  # attributes would make them "7", "true"
        {"data": "", "datacontenttype": "text/plain"},  # an empty body reads as no data
        {"data": b"", "datacontenttype": "application/octet-stream"},
        {"data": {"a": 1}, "datacontenttype": None},  # binary mode would add a content type
    ],
)
def test_what_binary_mode_would_change_goes_structured(changes: dict[str, object]) -> None:
    event = EVENT.replace(**changes)
    data, attributes = to_message(event)
    assert attributes == {"content-type": "application/cloudevents+json; charset=utf-8"}
    assert from_message(data, attributes) == event


# The binding's own binary-mode example (section 3.1.4 of
# https://github.com/googleapis/google-cloudevents/blob/main/docs/spec/pubsub.md) maps every
# attribute to ``ce-<name>``, datacontenttype included, with no ``content-type`` attribute.
SPEC_EXAMPLE_ATTRIBUTES = {
    "ce-specversion": "1.0",
    "ce-type": "com.example.someevent",
    "ce-time": "2020-03-10T03:56:24Z",
    "ce-id": "1234-1234-1234",
    "ce-source": "/mycontext/subcontext",
    "ce-datacontenttype": "application/json; charset=utf-8",
}


@pytest.mark.parametrize(
    ("content_type", "data", "expected"),
    [
        ("application/json; charset=utf-8", b'{"a": 1}', {"a": 1}),
        ("text/plain; charset=utf-8", b"hello", "hello"),
        ("application/xml", b"<a/>", "<a/>"),
    ],
)
def test_binary_mode_ce_datacontenttype_attribute(
    content_type: str, data: bytes, expected: object
) -> None:
    attributes = {**SPEC_EXAMPLE_ATTRIBUTES, "ce-datacontenttype": content_type}
    event = from_message(data, attributes)
    assert event is not None
    assert (event.datacontenttype, event.data) == (content_type, expected)
    assert "datacontenttype" not in event.extensions


def test_binary_mode_content_type_attribute_wins_over_ce_datacontenttype() -> None:
    # Section 3.1.1: the content-type attribute, if present, MUST be used as datacontenttype.
    attributes = {**SPEC_EXAMPLE_ATTRIBUTES, "content-type": "text/plain"}
    event = from_message(b'{"a": 1}', attributes)
    assert event is not None
    assert (event.datacontenttype, event.data) == ("text/plain", '{"a": 1}')


def test_structured_mode_by_content_type() -> None:
    event = from_message(
        to_json(EVENT), {"content-type": "application/cloudevents+json; charset=UTF-8"}
    )
    assert event == EVENT


def test_structured_json_without_attributes_is_recognised() -> None:
    assert from_message(to_json(EVENT), {}) == EVENT


def test_plain_message_carries_no_event() -> None:
    assert from_message(b'{"hello": 1}', {"attr1": "x"}) is None
    assert from_message(b"test message 3", {}) is None


def test_json_content_type_over_a_body_that_is_not_json_is_its_text() -> None:
    """As the official SDKs read it (the JavaScript SDK sends string data so)."""
    attributes = {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "s", "ce-type": "t",
                  "content-type": "application/json"}
    event = from_message(b"not json", attributes, trigger="queue")
    assert event is not None and event.data == "not json"


@pytest.mark.parametrize(
    ("data", "attributes", "field"),
    [
        (b"", {"ce-specversion": "1.0", "ce-source": "s", "ce-type": "t"}, "attributes.ce-id"),
        (
            b"x",
            {"ce-specversion": "0.3", "ce-id": "1", "ce-source": "s", "ce-type": "t"},
            "attributes.ce-specversion",
        ),
        (b"{bad", {"content-type": "application/cloudevents+json"}, "attributes.ce-specversion"),
        (b'{"specversion": "1.0", "id": "1"}', {}, "attributes.ce-source"),
    ],
)
def test_malformed_is_a_typed_decode_error(
    data: bytes, attributes: dict[str, str], field: str
) -> None:
    with pytest.raises(EventDecodeError) as info:
        from_message(data, attributes, trigger="queue")
    assert (info.value.provider, info.value.trigger, info.value.field) == ("gcp", "queue", field)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("hello", "application/octet-stream"),
        ({"a": 1}, "text/plain"),
        ([1, 2], "application/xml"),
        ({"specversion": "1.0", "id": "inner", "type": "t", "source": "/s"},
         "application/cloudevents+json"),
        ("café ☃", "text/plain; charset=latin-1"),
        ({"k": "é"}, "text/plain; charset=latin-1"),
    ],
)
def test_data_its_content_type_would_not_read_back_goes_structured(
    data: object, content_type: str
) -> None:
    """DESIGN section 2: a subscriber gets the data as published, as on the other providers.
    Binary mode (https://github.com/googleapis/google-cloudevents/blob/main/docs/spec/pubsub.md)
    carries the bytes its content type reads: text under a binary type came back bytes, a dict
    under text/plain its JSON text, an ``application/cloudevents`` type was read as a whole
    event (its data, inner attributes and all), text a charset cannot hold raised on publish."""
    sent = CloudEvent(id="e-1", source="/s", type="t", datacontenttype=content_type, data=data)
    body, attributes = to_message(sent)
    assert attributes == {"content-type": STRUCTURED_CONTENT_TYPE}
    if isinstance(data, str) or is_json_content_type(content_type):
        assert from_message(body, attributes) == sent
    else:
        # JSON format 3.1.1: data under a content type that is not JSON is a string, its JSON
        # text, as in binary mode and on every provider (the core's to_json writes it so).
        assert from_message(body, attributes) == sent.replace(data=dumps(data))


def test_data_its_content_type_reads_back_stays_binary() -> None:
    for data, content_type in (({"a": 1}, "application/json"), ("hi", "text/plain"),
                               (b"\x00\x01", "image/png"), ("<a/>", "application/xml")):
        sent = CloudEvent(id="e-2", source="/s", type="t", datacontenttype=content_type, data=data)
        body, attributes = to_message(sent)
        assert attributes["ce-id"] == "e-2" and from_message(body, attributes) == sent
