"""CloudEvent values and their JSON format and HTTP binding (spec v1.0.2)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from portable_fn.errors import InvalidCloudEventError, PortableFnError
from portable_fn.events import (
    CloudEvent,
    decode_data,
    encode_data,
    from_dict,
    from_http,
    from_json,
    parse_time,
    sniff_structured,
    to_binary,
    to_dict,
    to_json,
    to_structured,
)

WHEN = datetime(2026, 11, 23, 9, 30, 0, 123456, tzinfo=timezone.utc)


def event(**changes: object) -> CloudEvent:
    base: dict[str, object] = {
        "id": "A234-1234-1234",
        "source": "https://example.com/orders",
        "type": "com.example.order.created",
        "time": WHEN,
        "subject": "order/7",
        "datacontenttype": "application/json",
        "data": {"sku": "a", "qty": 2, "note": "naïve ☃"},
        "extensions": {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
    }
    base.update(changes)
    return CloudEvent(**base)  # type: ignore[arg-type]


ROUND_TRIP_CASES = {
    "json": {},
    "text": {"datacontenttype": "text/plain; charset=utf-8", "data": "hello, wörld"},
    "binary": {"datacontenttype": "image/png", "data": b"\x89PNG\r\n\x1a\n\x00\xff"},
    "no data": {"data": None, "datacontenttype": None},
    "cloudevents+json data": {"datacontenttype": "application/vnd.x+json", "data": [1, 2]},
    "int and bool extensions": {"extensions": {"sequence": "42", "partitionkey": "k 1%"}},
}


@pytest.mark.parametrize("changes", ROUND_TRIP_CASES.values(), ids=list(ROUND_TRIP_CASES))
def test_json_format_round_trip(changes: dict[str, object]) -> None:
    original = event(**changes)
    assert from_json(to_json(original)) == original
    assert from_dict(to_dict(original)) == original


@pytest.mark.parametrize("changes", ROUND_TRIP_CASES.values(), ids=list(ROUND_TRIP_CASES))
def test_http_binary_and_structured_round_trip(changes: dict[str, object]) -> None:
    original = event(**changes)
    assert from_http(*to_structured(original)) == original
    headers, body = to_binary(original)
    assert headers["ce-id"] == original.id
    assert from_http(headers, body) == original


def test_binary_headers_are_percent_encoded_and_case_insensitive() -> None:
    original = event(subject='a "quoted" 100% ☃ subject')
    headers, body = to_binary(original)
    assert headers["ce-subject"] == "a%20%22quoted%22%20100%25%20%E2%98%83%20subject"
    shouted = {k.upper(): v for k, v in headers.items()}
    assert from_http(shouted, body).subject == original.subject


def test_binary_data_travels_as_data_base64() -> None:
    obj = to_dict(event(datacontenttype="application/octet-stream", data=b"\x00\x01"))
    assert obj["data_base64"] == "AAE="
    assert "data" not in obj


def test_time_keeps_its_instant_and_prints_in_utc() -> None:
    offset = datetime(2026, 11, 23, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    assert to_dict(event(time=offset))["time"] == "2026-11-23T09:30:00Z"
    assert parse_time("2026-11-23T09:30:00.123456789Z") == datetime(
        2026, 11, 23, 9, 30, 0, 123456, tzinfo=timezone.utc
    )
    assert event(time="2026-11-23T09:30:00+00:00").time == WHEN.replace(microsecond=0)
    # RFC 3339 allows any number of fraction digits (Python 3.10 alone reads only 3 or 6)
    assert parse_time("2026-11-23T09:30:00.5Z") == WHEN.replace(microsecond=500000)
    assert parse_time("2026-11-23T09:30:00.12+00:00") == WHEN.replace(microsecond=120000)


def test_create_fills_id_and_time() -> None:
    first = CloudEvent.create(type="t", source="/s", data=1)
    second = CloudEvent.create(type="t", source="/s", data=1)
    assert first.id != second.id and len(first.id) == 36 and first.id[14] == "4"
    assert first.time is not None and first.time.tzinfo is not None


def test_extensions_are_read_only_and_replaceable() -> None:
    original = event()
    with pytest.raises(TypeError):
        original.extensions["x"] = "y"  # type: ignore[index]
    changed = original.with_extensions(partitionkey="p", traceparent=None)
    assert dict(changed.extensions) == {"partitionkey": "p"}
    assert "partitionkey" not in original.extensions


# -- invalid events name the attribute -------------------------------------------------------

MISSING = ["id", "source", "type"]


@pytest.mark.parametrize("attribute", MISSING)
def test_missing_required_attribute_in_json(attribute: str) -> None:
    obj = to_dict(event())
    del obj[attribute]
    with pytest.raises(InvalidCloudEventError) as info:
        from_dict(obj)
    assert info.value.attribute == attribute


@pytest.mark.parametrize("attribute", MISSING)
def test_missing_required_attribute_in_binary_http(attribute: str) -> None:
    headers, body = to_binary(event())
    del headers[f"ce-{attribute}"]
    with pytest.raises(InvalidCloudEventError) as info:
        from_http(headers, body)
    assert info.value.attribute == attribute


@pytest.mark.parametrize("attribute", MISSING)
def test_empty_required_attribute(attribute: str) -> None:
    with pytest.raises(InvalidCloudEventError) as info:
        event(**{attribute: ""})
    assert info.value.attribute == attribute


@pytest.mark.parametrize("version", ["0.3", "2.0", ""])
def test_wrong_specversion(version: str) -> None:
    obj = to_dict(event())
    obj["specversion"] = version
    with pytest.raises(InvalidCloudEventError) as info:
        from_dict(obj)
    assert info.value.attribute == "specversion"
    headers, body = to_binary(event())
    headers["ce-specversion"] = version or "x"
    with pytest.raises(InvalidCloudEventError, match="specversion"):
        from_http(headers, body)


def test_no_specversion_at_all_over_http() -> None:
    with pytest.raises(InvalidCloudEventError) as info:
        from_http({"content-type": "application/json"}, b'{"a": 1}')
    assert info.value.attribute == "specversion"


@pytest.mark.parametrize("name", ["TraceParent", "my-ext", "ext_1", "é", ""])
def test_bad_extension_names(name: str) -> None:
    with pytest.raises(InvalidCloudEventError) as info:
        event(extensions={name: "v"})
    assert info.value.attribute == name
    headers, body = to_binary(event(extensions={}))
    headers[f"ce-{name}"] = "v"
    if name and name.lower() != name:
        return  # header names fold case on the wire: TraceParent arrives as a valid name
    with pytest.raises(InvalidCloudEventError):
        from_http(headers, body)


@pytest.mark.parametrize("name", ["data", "data_base64", "specversion"])
def test_extension_cannot_take_a_reserved_name(name: str) -> None:
    with pytest.raises(InvalidCloudEventError) as info:
        event(extensions={name: "v"})
    assert info.value.attribute == name


def test_json_content_type_with_non_json_body() -> None:
    headers, _ = to_binary(event())
    with pytest.raises(InvalidCloudEventError) as info:
        from_http(headers, b"not json {")
    assert info.value.attribute == "data"
    assert isinstance(info.value, ValueError) and isinstance(info.value, PortableFnError)


def test_bad_base64_and_bad_time_and_non_object() -> None:
    obj = to_dict(event(datacontenttype="image/png", data=b"\x00"))
    obj["data_base64"] = "***"
    with pytest.raises(InvalidCloudEventError, match="data_base64"):
        from_dict(obj)
    with pytest.raises(InvalidCloudEventError) as info:
        event(time="yesterday")
    assert info.value.attribute == "time"
    with pytest.raises(InvalidCloudEventError):
        from_json(b"[1, 2]")
    with pytest.raises(InvalidCloudEventError):
        from_json(b"{not json")


def test_batch_mode_is_refused_for_one_event() -> None:
    with pytest.raises(InvalidCloudEventError):
        from_http({"Content-Type": "application/cloudevents-batch+json"}, b"[]")


# -- data codec and sniffing ------------------------------------------------------------------


def test_data_codec() -> None:
    assert encode_data({"a": 1}, None) == (b'{"a":1}', "application/json")
    assert encode_data("hi", None) == (b"hi", "text/plain; charset=utf-8")
    assert encode_data("hi", "application/json") == (b'"hi"', "application/json")
    assert decode_data(b"<a/>", "application/xml") == "<a/>"
    assert decode_data(b"\x00", None) == b"\x00"
    assert decode_data(b"", "application/json") is None
    with pytest.raises(InvalidCloudEventError):
        decode_data(b"\xff\xfe", "text/plain")
    with pytest.raises(InvalidCloudEventError):
        encode_data({"a": object()}, None)


def test_data_that_contains_itself_is_an_invalid_event() -> None:
    """The shared encoder has no circular-reference check: the error must still be the
    attribute-naming one, as it was with json's ``ValueError``."""
    data: dict[str, object] = {}
    data["self"] = data
    with pytest.raises(InvalidCloudEventError) as info:
        encode_data(data, None)
    assert info.value.attribute == "data"
    with pytest.raises(InvalidCloudEventError):
        to_json(event().replace(data=[data]))


def test_sniff_structured() -> None:
    original = event()
    assert sniff_structured(to_json(original)) == original
    assert sniff_structured(to_json(original).decode()) == original
    assert sniff_structured(to_dict(original)) == original
    assert sniff_structured(b'{"sku": "a"}') is None
    assert sniff_structured("plain text") is None
    assert sniff_structured(b"\xff\xfe") is None
    assert sniff_structured(None) is None
    with pytest.raises(InvalidCloudEventError):
        sniff_structured(b'{"specversion": "1.0", "id": "1", "type": "t"}')
