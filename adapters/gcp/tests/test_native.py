# SPDX-License-Identifier: Apache-2.0
"""CloudEvents as functions-framework delivers them: raw request and the cloudevents 1.x object."""

from __future__ import annotations

import json
from urllib.parse import unquote

import pytest
from cloudevents.http import CloudEvent as SdkEvent
from cloudevents.http import from_http as sdk_from_http
from conftest import binary_headers, load, raw
from portable_fn.errors import EventDecodeError

from portable_fn_gcp.native import from_native, from_request, normalise

STRUCTURED = {"Content-Type": "application/cloudevents+json; charset=utf-8"}


def test_structured_audit_sample_camel_case_extensions() -> None:
    event = from_request(STRUCTURED, raw("audit_structured_bigquery.json"), trigger="event")
    assert dict(event.extensions) == {
        "methodname": "jobservice.jobcompleted",
        "recordedtime": "2021-11-25T21:56:00.276607Z",
        "resourcename": "projects/test-project/jobs/sample-job",
        "servicename": "bigquery.googleapis.com",
    }
    assert event.datacontenttype == "application/json; charset=utf-8"
    assert event.dataschema is not None and event.dataschema.endswith("LogEntryData.json")


def test_binary_and_structured_give_the_same_event() -> None:
    headers = binary_headers("audit_pubsub_create_topic_data.json")
    binary = from_request(headers, raw("audit_pubsub_create_topic_data.json"), trigger="event")
    # Binary-mode header values are percent-encoded (HTTP binding 3.1.3.2): "%2F" is "/".
    structured_body = {
        **{k[3:]: unquote(v) for k, v in headers.items() if k.startswith("ce-")},
        "datacontenttype": headers["content-type"],
        "data": load("audit_pubsub_create_topic_data.json"),
    }
    structured = from_request(STRUCTURED, json.dumps(structured_body).encode(), trigger="event")
    assert binary == structured


def test_sdk_object_path_matches_raw_path() -> None:
    headers = binary_headers("storage_simple_data.json")
    body = raw("storage_simple_data.json")
    sdk = sdk_from_http(headers, body)
    assert from_native(sdk, trigger="storage") == from_request(headers, body, trigger="storage")


def test_sdk_object_text_data_is_not_reparsed() -> None:
    # cloudevents 1.x parses "123" as the int 123 whatever the content type says.
    sdk = SdkEvent({"id": "1", "source": "s", "type": "t", "datacontenttype": "text/plain"}, 123)
    assert from_native(sdk, trigger="topic").data == "123"
    sdk_bytes = SdkEvent({"id": "1", "source": "s", "type": "t"}, b"\x00\x01")
    assert from_native(sdk_bytes, trigger="topic").data == b"\x00\x01"


def test_normalise_drops_what_cannot_name_an_extension() -> None:
    """A value the type system has no place for is its JSON text, as on every transport (it
    was dropped here and refused or kept elsewhere); a name that cannot be one is dropped."""
    assert normalise({
        "id": "1", "Bad-Name": "x", "nested": {"a": 1}, "OK": "y", "none": None, "ratio": 1.5,
    }) == {"id": "1", "nested": '{"a":1}', "ok": "y", "ratio": "1.5"}


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (STRUCTURED, b"[1, 2]"),
        (STRUCTURED, b"{not json"),
        # Valid JSON nested deeper than the parser recurses: a 400, not a crash (500, retried)
        # on the schedule functions, which read the request before functions-framework does.
        (STRUCTURED, b'{"specversion": "1.0", "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        ({"ce-specversion": "1.0", "ce-id": "1", "ce-type": "t"}, b""),
    ],
)
def test_malformed_requests(headers: dict[str, str], body: bytes) -> None:
    with pytest.raises(EventDecodeError) as info:
        from_request(headers, body, trigger="event")
    assert info.value.provider == "gcp"


_BINARY = {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/s", "ce-type": "t"}


def test_binary_headers_that_cannot_name_an_extension_are_dropped_as_in_structured_mode() -> None:
    """HTTP binding 3.1.3.1 maps every ``ce-`` header to an attribute, and spec.md "Attribute
    Naming Convention" allows only a-z and 0-9; a header such as ``ce-my-ext`` (or
    ``ce-my_ext``, which WSGI hands over as ``ce-my-ext``) is dropped, as the same attribute is in
    structured mode (``normalise``), instead of refusing the whole event.
    (https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md#3131-http-header-names)
    """
    binary = from_request({**_BINARY, "ce-my-ext": "x", "ce-ok": "y"}, b"", trigger="event")
    structured = from_request(
        STRUCTURED,
        json.dumps({"specversion": "1.0", "id": "1", "source": "/s", "type": "t",
                    "my-ext": "x", "ok": "y"}).encode(),
        trigger="event",
    )
    assert dict(binary.extensions) == dict(structured.extensions) == {"ok": "y"}


def test_structured_integer_extension_wider_than_32_bits_reads_as_binary_mode_reads_it() -> None:
    """The JavaScript SDK (npm ``cloudevents``, strict mode) sends ``sequence: Date.now()`` as a
    JSON number (JSON format 2.2 maps Integer to a number), wider than the spec's 32-bit
    Integer; in binary mode it is the header ``ce-sequence: 1796584559464``. Read as that
    string in both modes rather than refusing the event over an extension."""
    body = {"specversion": "1.0", "id": "1", "source": "/s", "type": "t",
            "sequence": 1796584559464, "small": 7}
    structured = from_request(STRUCTURED, json.dumps(body).encode(), trigger="event")
    binary = from_request({**_BINARY, "ce-sequence": "1796584559464"}, b"", trigger="event")
    assert structured.extensions["sequence"] == binary.extensions["sequence"] == "1796584559464"
    assert structured.extensions["small"] == 7
