"""CloudEvent values and their JSON format and HTTP binding (spec v1.0.2)."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import pytest

from portable_fn.errors import InvalidCloudEventError
from portable_fn.events import (
    CloudEvent,
    decode_data,
    encode_data,
    from_dict,
    from_http,
    from_json,
    http_mode,
    is_json_content_type,
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


def test_json_content_type_with_non_json_body_is_its_text() -> None:
    """As the official SDKs read it (the JavaScript SDK sends string data so): its UTF-8 text,
    else its bytes; never a refused event."""
    headers, _ = to_binary(event())
    assert from_http(headers, b"not json {").data == "not json {"
    assert from_http(headers, b"\xff{").data == b"\xff{"


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
    # No content type means JSON (JSON format 3.1.2), a str included: a JSON string.
    assert encode_data("hi", None) == (b'"hi"', "application/json")
    assert encode_data("hi", "text/plain") == (b"hi", "text/plain")
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


# -- what unseen HTTP clients send (HTTP binding v1.0.2 section 3.1.3.2, JSON format 2.2) --------

_BINARY = {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/s", "ce-type": "t"}


@pytest.mark.parametrize(
    ("sent", "attribute"),
    [
        ('"hello world"', "hello world"),  # older senders quote instead of encoding the space
        ('"say \\"hi\\""', 'say "hi"'),  # backslash escapes inside the quotes
        ('"100%25"', "100%"),  # unquoted first, then one round of percent-decoding
        ("a%22b", 'a"b'),
        ("Euro%20%e2%82%ac", "Euro €"),  # decoding accepts lower-case hex
    ],
)
def test_binary_header_values_are_unquoted_then_percent_decoded(sent: str, attribute: str) -> None:
    assert from_http({**_BINARY, "ce-subject": sent}, b"").subject == attribute


@pytest.mark.parametrize("sent", ["%C0%A0", "%FF", "ab%E2%82", "%ED%A0%80"])
def test_percent_encoded_bytes_that_are_not_utf8_are_rejected(sent: str) -> None:
    # "encoded byte sequences which are invalid in UTF-8 MUST be rejected" (%C0%A0: overlong).
    with pytest.raises(InvalidCloudEventError) as info:
        from_http({**_BINARY, "ce-subject": sent}, b"")
    assert info.value.attribute == "subject"


def test_a_lone_double_quote_is_kept_as_sent() -> None:
    # Not a quoted-string (none is closed): a sender that did not encode '"'; read leniently.
    assert from_http({**_BINARY, "ce-subject": 'a"b'}, b"").subject == 'a"b'


def test_a_null_member_in_the_json_format_is_unset() -> None:
    # JSON format 2.2: "When decoding attributes and a null value is encountered, it MUST be
    # treated as the equivalent of unset or omitted" (its own example has "unsetextension": null).
    ev = from_dict({"specversion": "1.0", "id": "1", "source": "/s", "type": "t",
                    "unsetextension": None, "subject": None, "comexampleothervalue": 5})
    assert dict(ev.extensions) == {"comexampleothervalue": 5} and ev.subject is None


@pytest.mark.parametrize(
    ("content_type", "body", "text"),
    [
        ("text/plain; charset=iso-8859-1", b"caf\xe9", "café"),
        ('text/plain; charset="ISO-8859-1"', b"caf\xe9", "café"),
        ("text/plain;charset=utf-16", "café".encode("utf-16"), "café"),
        ("text/plain", "café".encode(), "café"),
    ],
)
def test_text_data_is_read_in_its_declared_charset(
    content_type: str, body: bytes, text: str
) -> None:
    assert decode_data(body, content_type) == text
    assert decode_data(*encode_data(text, content_type)) == text
    ev = from_http({**_BINARY, "content-type": content_type}, body)
    assert (ev.data, ev.datacontenttype) == (text, content_type)


def test_text_in_an_unknown_or_wrong_charset_is_an_invalid_event() -> None:
    with pytest.raises(InvalidCloudEventError) as info:
        decode_data(b"x", "text/plain; charset=no-such-charset")
    assert info.value.attribute == "datacontenttype"
    with pytest.raises(InvalidCloudEventError) as info:
        decode_data(b"caf\xe9", "text/plain; charset=utf-8")
    assert info.value.attribute == "data"
    for codec in ("undefined", "hex", "rot13"):  # not text codecs, or ones that always fail
        with pytest.raises(InvalidCloudEventError):
            decode_data(b"x", f"text/plain; charset={codec}")
        with pytest.raises(InvalidCloudEventError):
            encode_data("x", f"text/plain; charset={codec}")
    with pytest.raises(InvalidCloudEventError) as info:
        encode_data("€", "text/plain; charset=iso-8859-1")  # not in that charset
    assert info.value.attribute == "data"


@pytest.mark.parametrize(
    ("content_type", "mode"),
    [
        ("application/cloudevents-batch+json; charset=utf-8", "batch"),
        ("Application/CloudEvents-Batch+JSON", "batch"),
        ("application/cloudevents-batch", "batch"),  # binding 3: "prefixed with"
        ("application/cloudevents-batch+avro", "batch"),
        ("application/cloudevents+json; charset=utf-8", "structured"),
        ("application/cloudevents+avro", "structured"),
        ("application/json", "binary"),
        ("", "binary"),
    ],
)
def test_http_mode_follows_the_media_type_prefixes(content_type: str, mode: str) -> None:
    assert http_mode({"Content-Type": content_type} if content_type else {}) == mode


def test_structured_mode_in_a_format_other_than_json_is_not_read_as_json() -> None:
    with pytest.raises(InvalidCloudEventError) as info:
        from_http({"content-type": "application/cloudevents+xml"}, b"<event/>")
    assert "format" in str(info.value)


def test_binary_mode_without_a_content_type_reads_json_as_the_sdks_send_it() -> None:
    """The CloudEvents SDK's ``to_binary`` sends a dict's data as JSON with no Content-Type
    and reads it back as JSON (so does functions-framework); other untyped bodies stay bytes."""
    from cloudevents.conversion import to_binary
    from cloudevents.http import CloudEvent as SdkEvent

    headers, body = to_binary(SdkEvent({"type": "t", "source": "/s"}, {"k": 1}))
    assert not any(name.lower() == "content-type" for name in headers)
    event = from_http(dict(headers), body)
    assert event.data == {"k": 1} and event.datacontenttype is None
    base = {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/s", "ce-type": "t"}
    assert from_http(base, b"\x00\xff not json").data == b"\x00\xff not json"
    assert from_http(base, b"plain words").data == b"plain words"
    assert from_http(base, b"").data is None
    assert from_http({**base, "content-type": "application/octet-stream"}, b"[1]").data == b"[1]"


# -- RFC 3339 edges, extension types, and input too deep to parse --------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # RFC 3339 section 5.6 allows a leap second (its own examples: 1990-12-31T23:59:60Z and
        # 1990-12-31T15:59:60-08:00); datetime has no second 60, so it reads as second 59.
        ("1990-12-31T23:59:60Z", datetime(1990, 12, 31, 23, 59, 59, tzinfo=timezone.utc)),
        ("1990-12-31T15:59:60-08:00", datetime(1990, 12, 31, 23, 59, 59, tzinfo=timezone.utc)),
        ("2016-12-31t23:59:60.25z", datetime(2016, 12, 31, 23, 59, 59, 250000, timezone.utc)),
    ],
)
def test_a_leap_second_is_a_valid_time(text: str, expected: datetime) -> None:
    assert parse_time(text) == expected
    assert event(time=text).time == expected


@pytest.mark.parametrize(
    "text",
    [
        "20261123T093000Z",  # ISO 8601 basic format
        "2026-W48-1T09:30:00Z",  # ISO week date
        "2026-11-23T09Z",  # no minutes or seconds
        "2026-11-23T09:30Z",  # no seconds
        "2026-11-23T09:30:00,5Z",  # comma fraction
        "2026-11-23T09:30:00+0100",  # offset without a colon
        "2026-11-23T09:30:00+01",  # offset without minutes
        "2026-11-23T09:30:00+01:00:30",  # offset with seconds
        "2026-11-23T09:30:00+05:60",  # an offset minute past 59 (read as +06:00)
        "2026-11-23T09:30:00+24:00",  # an offset hour past 23
        " 2026-11-23T09:30:00Z",
        "2026-11-23",
    ],
)
def test_iso_8601_forms_that_are_not_rfc_3339_are_refused_on_every_python(text: str) -> None:
    """Python 3.11's fromisoformat reads these and 3.10's does not: the same event must not be
    valid on one runtime and invalid on another (CloudEvents: time is RFC 3339)."""
    with pytest.raises(InvalidCloudEventError) as info:
        event(time=text)
    assert info.value.attribute == "time"
    headers = {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/s", "ce-type": "t"}
    with pytest.raises(InvalidCloudEventError):
        from_http({**headers, "ce-time": text}, b"")


def test_rfc_3339_allows_a_space_and_lower_case_t_and_z() -> None:
    expected = WHEN.replace(microsecond=0)
    for text in ("2026-11-23 09:30:00Z", "2026-11-23t09:30:00z", "2026-11-23T10:30:00+01:00"):
        assert parse_time(text) == expected


@pytest.mark.parametrize(
    "text", ["9999-12-31T23:30:00-05:00", "0001-01-01T00:30:00+01:00"]
)
def test_a_time_whose_utc_instant_is_outside_years_1_to_9999_keeps_its_offset(text: str) -> None:
    """RFC 3339 allows these; written in UTC they would fall outside what datetime holds."""
    original = event(time=text)
    assert to_dict(original)["time"] == text
    assert from_json(to_json(original)) == original
    assert from_http(*to_binary(original)) == original


@pytest.mark.parametrize("name", ["²", "a¹", "٣"])  # digits, but not ASCII's 0-9
def test_extension_names_with_non_ascii_digits_are_refused(name: str) -> None:
    with pytest.raises(InvalidCloudEventError) as info:
        event(extensions={name: "v"})
    assert info.value.attribute == name


@pytest.mark.parametrize("value", [2**31, -(2**31) - 1, 2**63])
def test_integer_extensions_must_fit_the_spec_integer_range(value: int) -> None:
    # Spec "Type System": Integer is -2,147,483,648 to +2,147,483,647 inclusive.
    with pytest.raises(InvalidCloudEventError) as info:
        event(extensions={"sequence": value})
    assert info.value.attribute == "sequence"
    # Received, such a number is kept as the string binary mode carries it as: the JavaScript
    # SDK sends ``sequence: Date.now()`` so, and the Python SDK 1.x any large int.
    obj = to_dict(event(extensions={}))
    obj["sequence"] = value
    assert from_dict(obj).extensions["sequence"] == str(value)
    for edge in (2**31 - 1, -(2**31), True):
        assert event(extensions={"sequence": edge}).extensions["sequence"] == edge


def test_received_extension_values_outside_the_type_system_are_their_json_text() -> None:
    """An object, array or fraction in a received event's extension (Event Grid passes them
    on) is its compact JSON text on every transport: it was refused here, kept by the Azure
    trigger and dropped on GCP. One the app builds is still refused."""
    obj = to_dict(event(extensions={}))
    obj.update(routing={"region": "eu", "tier": [1, 2]}, ratio=1.5)
    assert dict(from_dict(obj).extensions) == {"routing": '{"region":"eu","tier":[1,2]}',
                                               "ratio": "1.5"}
    with pytest.raises(InvalidCloudEventError):
        event(extensions={"ratio": 1.5})


def test_data_content_types_of_the_form_any_json_are_json() -> None:
    # JSON format 3.1.1: JSON content is "*/json" or "*/*+json", parameters stripped.
    assert is_json_content_type("model/json") and is_json_content_type("Example/JSON; x=1")
    assert decode_data(b'{"a": 1}', "model/json") == {"a": 1}
    assert not is_json_content_type("application/jsonl")


_DEEP = b"[" * 100_000 + b"]" * 100_000  # valid JSON, nested deeper than the parser recurses


def test_json_nested_too_deep_is_an_invalid_event_not_a_recursion_error() -> None:
    structured = (b'{"specversion": "1.0", "id": "1", "source": "/s", "type": "t", "data": '
                  + _DEEP + b"}")
    with pytest.raises(InvalidCloudEventError):
        from_json(structured)
    with pytest.raises(InvalidCloudEventError):
        from_json(_DEEP)
    with pytest.raises(InvalidCloudEventError):
        sniff_structured(structured)
    with pytest.raises(InvalidCloudEventError) as info:
        decode_data(_DEEP, "application/json")
    assert info.value.attribute == "data"
    with pytest.raises(InvalidCloudEventError):
        from_http({**_BINARY, "content-type": "application/json"}, _DEEP)


@pytest.mark.parametrize(
    ("content_type", "payload", "data"),
    [
        ("application/json", b'{"a": 1}', {"a": 1}),
        ("application/vnd.example+json; charset=utf-8", b"[1]", [1]),
        ("text/plain; charset=iso-8859-1", b"caf\xe9", "café"),
        ("application/xml", b"<a/>", "<a/>"),
        ("application/octet-stream", b"\x00\xff", b"\x00\xff"),
        (None, b'{"a": 1}', b'{"a": 1}'),  # no content type: "MUST NOT attempt to interpret"
    ],
)
def test_data_base64_is_read_by_its_content_type_as_binary_mode_reads_the_body(
    content_type: str | None, payload: bytes, data: object
) -> None:
    """JSON format 3.1.2: data_base64 decodes to bytes, which the reader "MAY further interpret
    according to the datacontenttype". Go's ``SetData(ct, []byte)`` sends JSON this way; its
    ``DataAs`` decodes by content type in either mode. Read as bytes here but as a dict from
    the same event in binary mode, a handler saw another ``data`` per transport."""
    obj: dict[str, object] = {"specversion": "1.0", "id": "1", "source": "/s", "type": "t",
                              "data_base64": base64.b64encode(payload).decode()}
    if content_type is not None:
        obj["datacontenttype"] = content_type
    structured = from_dict(obj)
    assert structured.data == data
    headers = {**_BINARY, **({"content-type": content_type} if content_type else {})}
    if content_type is not None:
        assert from_http(headers, payload).data == data  # the same event in binary mode
    assert from_dict({**obj, "data_base64": ""}).data == b""


def test_data_base64_that_its_json_content_type_cannot_read_is_its_text() -> None:
    obj = {"specversion": "1.0", "id": "1", "source": "/s", "type": "t",
           "datacontenttype": "application/json", "data_base64": "bm90IGpzb24="}  # "not json"
    assert from_dict(obj).data == "not json"


def test_a_null_data_or_data_base64_member_is_absent() -> None:
    """JSON format section 2.2: a null member is "the equivalent of unset or omitted"; the
    official Python SDK reads ``{"data": null, "data_base64": "AAE="}`` as the bytes, and
    ``{"data": {...}, "data_base64": null}`` as the JSON data. Both were refused as carrying
    data twice. Two non-null members still are (section 3.1: mutually exclusive)."""
    base = {"specversion": "1.0", "id": "1", "source": "/s", "type": "t"}
    assert from_dict({**base, "data": None, "data_base64": "AAE="}).data == b"\x00\x01"
    assert from_dict({**base, "data": {"a": 1}, "data_base64": None}).data == {"a": 1}
    assert from_dict({**base, "data": None, "data_base64": None}).data is None
    with pytest.raises(InvalidCloudEventError, match="together"):
        from_dict({**base, "data": {"a": 1}, "data_base64": "AAE="})


@pytest.mark.parametrize(("data", "content_type", "text"), [
    ({"sku": "a", "qty": 2}, "text/csv", '{"sku":"a","qty":2}'),
    (42, "text/plain", "42"),
    ([1, 2], "application/xml", "[1,2]"),
])
def test_data_under_a_content_type_that_is_not_json_is_written_as_a_string(
    data: object, content_type: str, text: str
) -> None:
    """JSON format 3.1.1: when ``datacontenttype`` is not JSON, the serializer "MUST store a
    string representation of the data value" in ``data``. It wrote the object itself, so a
    strict reader refused it, and structured mode delivered another event than binary mode
    (whose body is the JSON text)."""
    original = event(data=data, datacontenttype=content_type)
    assert to_dict(original)["data"] == text
    structured = from_http(*to_structured(original))
    binary = from_http(*to_binary(original))
    assert structured == binary and structured.data == text


def test_binary_mode_reads_a_ce_datacontenttype_sent_alone_and_refuses_ce_data() -> None:
    """Binding 3.1.1: datacontenttype travels as Content-Type. A sender that put it in
    ce-datacontenttype alone (as the Pub/Sub binding, which has no Content-Type, does) lost it:
    the text came as bytes with no type. A ce-data header was dropped without a word."""
    headers = {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/s", "ce-type": "t"}
    alone = from_http({**headers, "ce-datacontenttype": "text/plain"}, b"hello")
    assert (alone.datacontenttype, alone.data) == ("text/plain", "hello")
    both = from_http({**headers, "ce-datacontenttype": "text/plain",
                      "content-type": "application/json"}, b'{"a": 1}')
    assert (both.datacontenttype, both.data) == ("application/json", {"a": 1})
    with pytest.raises(InvalidCloudEventError) as info:
        from_http({**headers, "ce-data": "x"}, b"")
    assert info.value.attribute == "data"
