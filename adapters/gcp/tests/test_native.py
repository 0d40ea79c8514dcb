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


def test_normalise_drops_what_cannot_be_an_extension() -> None:
    assert normalise({"id": "1", "Bad-Name": "x", "nested": {"a": 1}, "OK": "y", "none": None}) == {
        "id": "1",
        "ok": "y",
    }


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (STRUCTURED, b"[1, 2]"),
        (STRUCTURED, b"{not json"),
        ({"ce-specversion": "1.0", "ce-id": "1", "ce-type": "t"}, b""),
        (
            {
                "ce-specversion": "1.0",
                "ce-id": "1",
                "ce-type": "t",
                "ce-source": "s",
                "content-type": "application/json",
            },
            b"{nope",
        ),
    ],
)
def test_malformed_requests(headers: dict[str, str], body: bytes) -> None:
    with pytest.raises(EventDecodeError) as info:
        from_request(headers, body, trigger="event")
    assert info.value.provider == "gcp"
