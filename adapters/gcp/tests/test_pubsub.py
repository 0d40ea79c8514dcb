# SPDX-License-Identifier: Apache-2.0
"""messagePublished envelopes: Google's samples, push-body variants, malformed messages."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from conftest import load
from portable_fn.errors import EventDecodeError
from portable_fn.events import CloudEvent, from_dict

from portable_fn_gcp import push
from portable_fn_gcp.binding import to_message
from portable_fn_gcp.pubsub import PUBLISHED, parse, unwrap

SOURCE = "//pubsub.googleapis.com/projects/my-project/topics/my-topic"


def envelope(data: Any) -> CloudEvent:
    return CloudEvent(
        id="env-1", source=SOURCE, type=PUBLISHED, data=data, datacontenttype="application/json"
    )


@pytest.mark.parametrize(
    ("fixture", "expected_data", "content_type"),
    [
        ("pubsub_text_data.json", "test message 3", "text/plain; charset=utf-8"),
        ("pubsub_binary_data.json", b"\x01\x02\x03\x04", "application/octet-stream"),
        ("pubsub_complex_data.json", "test message 3", "text/plain; charset=utf-8"),
    ],
)
def test_google_samples(fixture: str, expected_data: object, content_type: str) -> None:
    event, message = unwrap(envelope(load(fixture)), trigger="topic")
    assert message.message_id == event.id == "message-id"
    assert message.delivery_attempt is None
    assert (event.source, event.type) == (SOURCE, PUBLISHED)
    assert event.time is not None and event.time.isoformat() == "2021-02-05T04:06:14.109000+00:00"
    assert (event.data, event.datacontenttype) == (expected_data, content_type)


def test_structured_sample_without_message_wrapper() -> None:
    sample = from_dict(load("pubsub_structured.json"))
    event, message = unwrap(sample, trigger="topic")
    assert (event.id, event.data) == ("message-id", "test message 3")
    assert event.extensions["partitionkey"] == "ordering-key"
    assert message.attributes == {"attr1": "attr1-value"}


def test_json_payload_is_parsed() -> None:
    body = {"message": {"data": base64.b64encode(b'{"n": 1}').decode(), "messageId": "9"}}
    event, _ = unwrap(envelope(body), trigger="topic")
    assert (event.data, event.datacontenttype) == ({"n": 1}, "application/json")
    assert event.time is None


@pytest.mark.parametrize(
    ("data", "expected", "content_type"),
    [
        (b"42", 42, "application/json"),
        (b'\xef\xbb\xbf{"n": 1}', {"n": 1}, "application/json"),
        (b"NaN", "NaN", "text/plain; charset=utf-8"),
        (b"-Infinity", "-Infinity", "text/plain; charset=utf-8"),
    ],
)
def test_undeclared_body_reads_as_on_aws_and_azure(
    data: bytes, expected: object, content_type: str
) -> None:
    """Any JSON value is JSON, a byte order mark before it ignored (RFC 8259 section 8.1, what
    .NET's UTF-8 writers emit); NaN and Infinity are not JSON, so they stay text."""
    body = {"message": {"data": base64.b64encode(data).decode(), "messageId": "9"}}
    event, _ = unwrap(envelope(body), trigger="topic")
    assert (event.data, event.datacontenttype) == (expected, content_type)


@pytest.mark.parametrize(
    "text",
    [
        "Prix : 10\u00a0€",  # no-break space, as French number formatting writes it
        "\U0001f469\u200d\U0001f4bb shipped",  # an emoji ZWJ sequence (U+200D)
        "co\u00adoperate",  # soft hyphen
        "東京\u3000大阪",  # ideographic space
        "line 1\u2028line 2",  # line separator
    ],
)
def test_undeclared_utf8_text_is_text_whatever_its_spaces_and_joiners(text: str) -> None:
    """The mapping table (README "Event mapping": "else UTF-8 text, else bytes") and the
    portability invariant (the same body is the same data on AWS and Azure, which read any
    UTF-8 as text): format characters and separators are text, not binary. Python's
    ``str.isprintable`` is False for each of these, so such a message arrived as bytes."""
    body = {"message": {"data": base64.b64encode(text.encode()).decode(), "messageId": "9"}}
    event, _ = unwrap(envelope(body), trigger="topic")
    assert (event.data, event.datacontenttype) == (text, "text/plain; charset=utf-8")


def test_undeclared_json_nested_past_the_parser_is_text_not_a_crash() -> None:
    """Valid JSON nested deeper than the parser recurses, in a message with no content-type
    (body shape: https://cloud.google.com/pubsub/docs/push#receive_push): the parser's
    RecursionError escaped as a 500 with a traceback, for every redelivery. JSON that cannot be
    read is read as the next rule says, UTF-8 text."""
    deep = b"[" * 100_000 + b"]" * 100_000
    body = {"message": {"data": base64.b64encode(deep).decode(), "messageId": "9"}}
    event, _ = unwrap(envelope(body), trigger="topic")
    assert (event.data, event.datacontenttype) == (deep.decode(), "text/plain; charset=utf-8")


def test_content_type_attribute_wins() -> None:
    body = {
        "message": {
            "data": base64.b64encode(b"[1]").decode(),
            "messageId": "9",
            "attributes": {"content-type": "text/plain"},
        }
    }
    event, _ = unwrap(envelope(body), trigger="topic")
    assert (event.data, event.datacontenttype) == ("[1]", "text/plain")


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/json", {"status": "Hello there"}),
        ("text/plain", '{"status": "Hello there"}'),
    ],
)
def test_content_type_attribute_in_any_case_wrapped_or_unwrapped(
    content_type: str, expected: object
) -> None:
    """Google's payload-unwrapping example publishes the attribute as ``Content-Type``
    (https://cloud.google.com/pubsub/docs/payload-unwrapping): a wrapped push keeps that name,
    an unwrapped one makes it the HTTP header (read lower-cased). The same message must give
    the same data both ways, and the declared type must win over guessing.

    Body: the page's wrapped example (``push_wrapped_content_type.json``), the type varied.
    """
    body = load("push_wrapped_content_type.json")
    body["message"]["attributes"]["Content-Type"] = content_type
    wrapped, _ = unwrap(envelope(body), trigger="topic")
    headers = {
        "content-type": content_type,
        "x-goog-pubsub-message-id": body["message"]["messageId"],
        "x-goog-pubsub-subscription-name": body["subscription"],
    }
    raw = base64.b64decode(body["message"]["data"])
    unwrapped_event, _ = unwrap(push.unwrapped(headers, raw, "/"), trigger="topic")
    assert (wrapped.data, wrapped.datacontenttype) == (expected, content_type)
    assert (unwrapped_event.data, unwrapped_event.datacontenttype) == (expected, content_type)
    assert wrapped.extensions["partitionkey"] == "some-key"


def test_push_snake_case_fields_and_delivery_attempt() -> None:
    body = {
        "message": {"data": "", "message_id": "m-7", "publish_time": "2026-01-01T00:00:00Z"},
        "subscription": "projects/p/subscriptions/s",
        "deliveryAttempt": 4,
    }
    message = parse(envelope(body), trigger="queue")
    assert (message.message_id, message.publish_time, message.delivery_attempt) == (
        "m-7",
        "2026-01-01T00:00:00Z",
        4,
    )
    event, _ = unwrap(envelope(body), trigger="queue")
    assert (event.id, event.data) == ("m-7", None)


def test_carried_event_is_returned_as_published() -> None:
    original = CloudEvent.create(
        type="com.example.x", source="/src", data={"k": "v"}, datacontenttype="application/json"
    )
    data, attributes = to_message(original)
    body = {
        "message": {
            "data": base64.b64encode(data).decode(),
            "attributes": attributes,
            "messageId": "m-1",
        }
    }
    event, _ = unwrap(envelope(body), trigger="topic")
    assert event == original


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"subscription": "s"}, "data.message"),
        ("not an object", "data.message"),
        ({"message": {"data": "***", "messageId": "1"}}, "data.message.data"),
        (
            {"message": {"data": "", "messageId": "1", "attributes": {"a": 1}}},
            "data.message.attributes",
        ),
        ({"message": {"data": "", "messageId": "1", "publishTime": "yesterday"}}, "data.message"),
    ],
)
def test_malformed_envelopes(data: Any, field: str) -> None:
    with pytest.raises(EventDecodeError) as info:
        unwrap(envelope(data), trigger="topic")
    assert info.value.field == field
