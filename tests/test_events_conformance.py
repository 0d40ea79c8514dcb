"""CloudEvents conformance cases and the JSON format's own examples, as tests.

- ``yaml/v1.0/v1_minimum.yaml`` and ``yaml/v1.yaml`` of https://github.com/cloudevents/conformance:
  the conformance tool sends each case in binary mode, every header value trimmed and the
  ``Data`` block (YAML ``|``, so with its final newline) as the body (``pkg/http/http.go``).
- JSON Event Format v1.0.2 section 3.2: four events, each shown in the JSON format and
  "re-encoded using HTTP Binary Content Mode".
"""

from __future__ import annotations

import base64
import json
from typing import Any

import cloudevents.conversion as conversion
import cloudevents.http as sdk
import pytest

from portable_fn.events import from_dict, from_http, to_binary, to_structured

SOURCE = "//github.com/cloudevents/cloudeventsconformance/yaml/v1.yaml"

# (id, datacontenttype, Data block, the data a handler must see)
V1_MINIMUM = [
    ("conformance-0001", "text/plain; charset=us-ascii", "Hello, World!\n", "Hello, World!\n"),
    ("conformance-0002", "text/plain; charset=utf-8", "Hello, 🌎!\n", "Hello, 🌎!\n"),
    ("conformance-0003", "application/json; charset=utf-8", '"Hello, 🌎!"\n', "Hello, 🌎!"),
    ("conformance-0004", "application/json; charset=utf-8", '{"msg":"Hello, 🌎!"}\n',
     {"msg": "Hello, 🌎!"}),
    ("conformance-0005", "application/json; charset=utf-8", '["Hello","🌎!"]\n',
     ["Hello", "🌎!"]),
    ("conformance-0006", "application/xml; charset=utf-8", "<msg>Hello, 🌎!</msg>\n",
     "<msg>Hello, 🌎!</msg>\n"),
]


def conformance_request(attributes: dict[str, str], data: str) -> tuple[dict[str, str], bytes]:
    """What ``EventToRequest`` in the conformance tool sends for a YAML case."""
    headers = {"ce-" + k: v.strip() for k, v in attributes.items() if k != "datacontenttype"}
    if "datacontenttype" in attributes:
        headers["Content-Type"] = attributes["datacontenttype"].strip()
    return headers, data.encode("utf-8")


@pytest.mark.parametrize(
    ("event_id", "content_type", "body", "expected"), V1_MINIMUM, ids=[c[0] for c in V1_MINIMUM]
)
def test_conformance_v1_minimum(
    event_id: str, content_type: str, body: str, expected: object
) -> None:
    attributes = {"specversion": "1.0", "type": "io.cloudevents.minimum", "id": event_id,
                  "source": SOURCE, "datacontenttype": content_type}
    event = from_http(*conformance_request(attributes, body))
    assert (event.id, event.type, event.source) == (event_id, "io.cloudevents.minimum", SOURCE)
    assert (event.datacontenttype, event.data) == (content_type, expected)
    # The same event in both modes, read by us and by the official SDK.
    for write in (to_binary, to_structured):
        assert from_http(*write(event)) == event
        theirs = sdk.from_http(*write(event))
        assert theirs["id"] == event_id and theirs["datacontenttype"] == content_type
        data = theirs.data  # the SDK leaves a body that is not JSON as bytes
        assert (data.decode() if isinstance(data, bytes) else data) == expected
    # And the SDK's own rendering of that event reads back the same. (Its binary mode
    # JSON-encodes str data whatever the content type: a text/plain body of '"Hello"' is,
    # per the spec, those seven characters, so only its JSON cases are compared there.)
    sdk_event = sdk.CloudEvent(dict(attributes), expected)
    assert from_http(*conversion.to_structured(sdk_event)).data == expected
    if "json" in content_type:
        assert from_http(*conversion.to_binary(sdk_event)).data == expected


def test_conformance_v1_yaml() -> None:
    attributes = {"specversion": "1.0", "type": "com.example.someevent",
                  "time": "2018-04-05T03:56:24Z", "id": "4321-4321-4321",
                  "source": "/mycontext/subcontext", "comexampleextension1": '"value"'[1:-1],
                  "comexampleextension2": '{"othervalue": 5}\n'}
    headers, body = conformance_request(attributes, '{"world":"hello"}\n')
    headers["user-agent"] = "foo"  # a TransportExtension: an HTTP header, not an attribute
    event = from_http(headers, body)
    assert event.time is not None and event.time.isoformat() == "2018-04-05T03:56:24+00:00"
    assert event.data == {"world": "hello"} and event.datacontenttype is None
    # HTTP binding 3.1.3.2: header values are first unescaped with respect to double-quoted
    # strings (RFC 7230 3.2.6), as the C# SDK's HttpUtilities.DecodeHeaderValue does.
    assert dict(event.extensions) == {"comexampleextension1": "value",
                                      "comexampleextension2": "{othervalue: 5}"}


# -- JSON Event Format v1.0.2 section 3.2: each example and its HTTP binary rendering --------

_COMMON: dict[str, Any] = {"specversion": "1.0", "type": "com.example.someevent",
                           "source": "/mycontext", "time": "2018-04-05T17:31:00Z",
                           "comexampleextension1": "value", "comexampleothervalue": 5}
_COMMON_HEADERS = {"ce-specversion": "1.0", "ce-type": "com.example.someevent",
                   "ce-source": "/mycontext", "ce-time": "2018-04-05T17:31:00Z",
                   "ce-comexampleextension1": "value", "ce-comexampleothervalue": "5"}
_THRIFT = b"\x80\x01\x00\x01\x00\x00\x00\x04ping\x00"

SPEC_EXAMPLES: dict[str, tuple[dict[str, Any], str, bytes]] = {
    "A234 binary data": (
        {"id": "A234-1234-1234", "datacontenttype": "application/vnd.apache.thrift.binary",
         "data_base64": base64.b64encode(_THRIFT).decode()},
        "application/vnd.apache.thrift.binary", _THRIFT),
    "B234 xml string": (
        {"id": "B234-1234-1234", "unsetextension": None, "datacontenttype": "application/xml",
         "data": '<much wow="xml"/>'},
        "application/xml", b'<much wow="xml"/>'),
    "C234 json object": (
        {"id": "C234-1234-1234", "subject": None, "datacontenttype": "application/json",
         "data": {"appinfoA": "abc", "appinfoB": 123, "appinfoC": True}},
        "application/json", b'{"appinfoA":"abc","appinfoB":123,"appinfoC":true}'),
    # "Note that the Content Type is explicitly set to the application/json value that was
    # implicit in JSON format. Note also that the content is quoted to indicate that it is a
    # literal JSON string."
    "D234 json string without datacontenttype": (
        {"id": "D234-1234-1234", "subject": None, "data": "I'm just a string"},
        "application/json", b'"I\'m just a string"'),
}


@pytest.mark.parametrize(
    ("members", "content_type", "body"), SPEC_EXAMPLES.values(), ids=list(SPEC_EXAMPLES)
)
def test_json_format_examples_re_encoded_in_binary_mode(
    members: dict[str, Any], content_type: str, body: bytes
) -> None:
    event = from_dict({**_COMMON, **members})
    headers, sent = to_binary(event)
    expected = {**_COMMON_HEADERS, "ce-id": members["id"], "content-type": content_type}
    assert headers == expected
    assert json.loads(sent) == json.loads(body) if content_type.endswith("json") else sent == body
    back = from_http(headers, sent)
    assert back.data == event.data and back.extensions == {**event.extensions,
                                                           "comexampleothervalue": "5"}
