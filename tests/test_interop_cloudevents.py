"""Interop with the CloudEvents Python SDK (PyPI ``cloudevents``), both HTTP modes both ways.

The project's ``test`` extra installs the SDK (1.x, the line functions-framework pins).
"""

from __future__ import annotations

from datetime import datetime, timezone

import cloudevents.conversion as conversion  # the "test" extra installs the SDK
import cloudevents.http as sdk
import pytest

from portable_fn.events import CloudEvent, from_http, to_binary, to_structured

ATTRS = {
    "id": "evt-1",
    "source": "https://example.com/orders",
    "type": "com.example.order.created",
    "subject": "order/7",
    "time": "2026-11-23T09:30:00.123456Z",
    "datacontenttype": "application/json",
    "partitionkey": "customer-9",
}
DATA = {"sku": "a", "note": "naïve ☃"}


def ours() -> CloudEvent:
    return CloudEvent(
        id="evt-1", source="https://example.com/orders", type="com.example.order.created",
        subject="order/7", time=datetime(2026, 11, 23, 9, 30, 0, 123456, tzinfo=timezone.utc),
        datacontenttype="application/json", data=DATA,
        extensions={"partitionkey": "customer-9"},
    )


@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_sdk_reads_what_we_write(mode: str) -> None:
    headers, body = (to_binary if mode == "binary" else to_structured)(ours())
    theirs = sdk.from_http(headers, body)
    for name, value in ATTRS.items():
        assert theirs[name] == value, name
    assert theirs.data == DATA


@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_we_read_what_the_sdk_writes(mode: str) -> None:
    theirs = sdk.CloudEvent(dict(ATTRS), DATA)
    write = conversion.to_binary if mode == "binary" else conversion.to_structured
    headers, body = write(theirs)
    assert from_http(headers, body) == ours()


def test_binary_data_both_ways() -> None:
    payload = b"\x00\x01\xff"
    theirs = sdk.CloudEvent({"id": "b", "source": "/s", "type": "t",
                             "datacontenttype": "application/octet-stream"}, payload)
    for write in (conversion.to_binary, conversion.to_structured):
        assert from_http(*write(theirs)).data == payload
    mine = CloudEvent(id="b", source="/s", type="t", datacontenttype="application/octet-stream",
                      data=payload)
    for headers, body in (to_binary(mine), to_structured(mine)):
        assert sdk.from_http(headers, body).data == payload


def test_we_read_the_sdks_binary_mode_with_integer_and_boolean_extensions() -> None:
    """The SDK's ``to_binary`` leaves an Integer or Boolean extension as the Python value in its
    header dict; read as the canonical string forms, as HTTP would carry them."""
    theirs = sdk.CloudEvent(
        {"id": "e", "source": "/s", "type": "t", "comexampleothervalue": 5, "flag": True}, None
    )
    headers, body = conversion.to_binary(theirs)
    event = from_http(headers, body)
    assert dict(event.extensions) == {"comexampleothervalue": "5", "flag": "true"}


def test_str_data_without_a_content_type_is_a_json_string_in_binary_mode() -> None:
    """JSON format 3.1.2: data with no datacontenttype is JSON; re-encoded in another binding
    the implied ``application/json`` "SHOULD be set explicitly" (the spec's example D234 sends
    ``"I'm just a string"`` quoted). Sent as text/plain instead, the SDK read "123" as 123."""
    mine = CloudEvent(id="s", source="/s", type="t", data="123")
    headers, body = to_binary(mine)
    assert (headers["content-type"], body) == ("application/json", b'"123"')
    assert sdk.from_http(headers, body).data == "123"
    assert from_http(headers, body).data == "123"
