"""The real ``portable-fn dev`` against clients it was not written with: the official CloudEvents
SDK (PyPI ``cloudevents``, the ``test`` extra), ``http.client`` and raw sockets sending what
curl, Go or Node clients send.

For every request: the status, a JSON error body without a traceback, each accepted event
enqueued exactly once (its ``accepted`` record) and none for a rejected one, and the event as
the handler saw it (tests/local/apps/recorder.py writes it to a file).
Spec: https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudevents.conversion as conversion
import pytest
from cloudevents.http import CloudEvent as SdkEvent

from .devserver import ROOT, DevServer

RECORDER = str(ROOT / "tests" / "local" / "apps" / "recorder.py")


class Client:
    """One module-wide server; every test uses its own event ids."""

    def __init__(self, server: DevServer, out: Path) -> None:
        self.server, self.out = server, out

    def post(
        self, body: bytes, headers: dict[str, str | bytes] | list[tuple[str, str | bytes]],
        path: str = "/_pf/events",
    ) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        conn.putrequest("POST", path)
        for name, value in headers.items() if isinstance(headers, dict) else headers:
            conn.putheader(name, value)  # bytes go on the wire as they are
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        status, raw, ctype = resp.status, resp.read(), resp.getheader("content-type", "")
        conn.close()
        assert ctype.startswith("application/json"), (status, ctype, raw)
        assert b"Traceback" not in raw
        return status, json.loads(raw)

    def seen(self, event_id: str, timeout: float = 15) -> dict[str, Any]:
        """The event as the handler received it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.out.exists():
                for line in self.out.read_text(encoding="utf-8").splitlines():
                    record: dict[str, Any] = json.loads(line)
                    if record["id"] == event_id:
                        return record
            time.sleep(0.05)
        raise AssertionError(f"the handler never saw {event_id!r}")

    def accepted(self, event_id: str) -> int:
        """How many times the runtime committed an event with this id."""
        time.sleep(0.2)  # records are printed right after the commit
        return sum(
            1 for r in list(self.server.records)
            if r.get("event") == "accepted" and r.get("id") == event_id
        )


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    tmp = tmp_path_factory.mktemp("clients")
    server = DevServer(RECORDER, tmp / "state", env={"RECORDER_OUT": str(tmp / "seen.jsonl")})
    try:
        yield Client(server, tmp / "seen.jsonl")
    finally:
        server.stop()


def _binary(event_id: str, **more: str | bytes) -> dict[str, str | bytes]:
    return {
        "ce-specversion": "1.0", "ce-id": event_id, "ce-source": "/client", "ce-type": "test.x",
        **more,
    }


def _sdk_event(event_id: str, data: Any, **attrs: str) -> SdkEvent:
    return SdkEvent(
        {"id": event_id, "source": "https://client.example/src", "type": "test.sdk", **attrs},
        data,
    )


# -- the official SDK -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_sdk_events_reach_the_handler_with_their_attributes(client: Client, mode: str) -> None:
    event_id = f"sdk-{mode}"
    sent = _sdk_event(
        event_id, {"k": [1, 2]}, datacontenttype="application/json", subject="order 7",
        time="2026-01-02T03:04:05.123456789+02:00", partitionkey="p1",
    )
    write = conversion.to_binary if mode == "binary" else conversion.to_structured
    headers, body = write(sent)
    status, answer = client.post(body, dict(headers))
    assert (status, answer) == (202, {"id": event_id, "type": "test.sdk", "functions": ["record"]})
    seen = client.seen(event_id)
    assert seen["data"] == {"k": [1, 2]} and seen["source"] == "https://client.example/src"
    assert seen["subject"] == "order 7" and seen["extensions"] == {"partitionkey": "p1"}
    assert seen["time"] == "2026-01-02T01:04:05.123456Z"  # the same instant, in UTC
    assert client.accepted(event_id) == 1


def test_sdk_binary_data_in_both_modes_stays_bytes(client: Client) -> None:
    for mode, write in (("b", conversion.to_binary), ("s", conversion.to_structured)):
        sent = _sdk_event(f"bytes-{mode}", b"\x00\xff\xfe", datacontenttype="image/png")
        headers, body = write(sent)
        assert client.post(body, dict(headers))[0] == 202
        seen = client.seen(f"bytes-{mode}")
        assert (seen["data_type"], seen["data"]) == ("bytes", "00fffe")


def test_a_batch_enqueues_each_event_once_and_answers_in_batch_shape(client: Client) -> None:
    events = [conversion.to_dict(_sdk_event(f"batch-{n}", {"n": n})) for n in range(3)]
    status, answer = client.post(
        json.dumps(events).encode(),
        {"Content-Type": "application/cloudevents-batch+json; charset=utf-8"},
    )
    assert status == 202 and answer["rejected"] == []
    assert [a["id"] for a in answer["accepted"]] == ["batch-0", "batch-1", "batch-2"]
    assert [client.seen(f"batch-{n}")["data"] for n in range(3)] == [{"n": n} for n in range(3)]
    # A batch of one is still answered as a batch: a client reads one shape.
    one = [conversion.to_dict(_sdk_event("batch-one", None))]
    status, answer = client.post(
        json.dumps(one).encode(), {"content-type": "application/cloudevents-batch+json"}
    )
    assert status == 202 and answer == {
        "accepted": [{"id": "batch-one", "type": "test.sdk", "functions": ["record"]}],
        "rejected": [],
    }


# -- binary mode as other clients write it ---------------------------------------------------------


def test_header_names_in_any_case_and_content_types_with_parameters(client: Client) -> None:
    headers = {"Ce-Id": "case-1", "CE-SPECVERSION": "1.0", "Ce-Source": "/client",
               "CE-TYPE": "test.x", "Ce-MyExt": "v",
               "Content-Type": "Application/JSON; charset=UTF-8"}
    assert client.post(b'{"a": 1}', headers)[0] == 202
    seen = client.seen("case-1")
    assert (seen["data"], seen["extensions"]) == ({"a": 1}, {"myext": "v"})
    structured = {"specversion": "1.0", "id": "case-2", "source": "/c", "type": "test.x", "data": 2}
    status, _ = client.post(
        json.dumps(structured).encode(),
        {"content-type": "application/cloudevents+json; charset=utf-8"},
    )
    assert status == 202 and client.seen("case-2")["data"] == 2


@pytest.mark.parametrize(
    ("event_id", "content_type", "body", "data_type", "data"),
    [
        ("ct-none", None, b"\x00\x01", "bytes", "0001"),  # opaque without a content type
        ("ct-octet", "application/octet-stream", b"\xff\xfe", "bytes", "fffe"),
        ("ct-text", "text/plain", "héllo".encode(), "str", "héllo"),
        ("ct-latin1", "text/plain; charset=ISO-8859-1", b"h\xe9llo", "str", "héllo"),
        ("ct-empty", "application/json", b"", "NoneType", None),
    ],
)
def test_binary_mode_data_by_content_type(
    client: Client, event_id: str, content_type: str | None, body: bytes, data_type: str,
    data: Any,
) -> None:
    headers = _binary(event_id, **({"content-type": content_type} if content_type else {}))
    assert client.post(body, headers)[0] == 202
    seen = client.seen(event_id)
    assert (seen["data_type"], seen["data"], seen["datacontenttype"]) == (
        data_type, data, content_type
    )


def test_header_values_percent_encoded_quoted_or_raw_utf8(client: Client) -> None:
    headers = _binary(
        "pct-1",
        **{
            "ce-source": "/client%20a",
            "ce-subject": "Euro%20%E2%82%AC%20%F0%9F%98%80",
            "ce-quoted": '"hello \\"world\\""',  # the older, quoted-string form
            "ce-raw": "caf\u00e9 \u20ac".encode(),  # raw UTF-8 bytes, as curl or Go send them
            "ce-latin": "w\u00f6rld".encode("latin-1"),  # what http.client makes of a str
        },
    )
    assert client.post(b"", headers)[0] == 202
    seen = client.seen("pct-1")
    assert seen["source"] == "/client a" and seen["subject"] == "Euro € \U0001f600"
    assert seen["extensions"] == {"quoted": 'hello "world"', "raw": "café €", "latin": "wörld"}


@pytest.mark.parametrize(
    "time_text",
    ["2026-01-02T03:04:05Z", "2026-01-02t03:04:05z", "2026-01-02T03:04:05.1Z",
     "2026-01-02T08:34:05+05:30", "2026-01-02T03:04:05-00:00"],
)
def test_time_in_rfc3339_forms(client: Client, time_text: str) -> None:
    event_id = f"time-{time_text}"
    assert client.post(b"", _binary(event_id, **{"ce-time": time_text}))[0] == 202
    assert client.seen(event_id)["time"].startswith("2026-01-02T03:04:05")


# -- rejected: 400 (or 415) with a JSON body, nothing enqueued ------------------------------------


@pytest.mark.parametrize(
    ("event_id", "headers", "body", "status", "attribute"),
    [
        ("bad-1", {"ce-specversion": "1.0", "ce-id": "bad-1", "ce-source": "/s"}, b"", 400, "type"),
        ("bad-2", {"content-type": "application/cloudevents+json"},
         b'{"specversion": "1.0", "id": "bad-2", "type": "t"}', 400, "source"),
        ("bad-3", _binary("bad-3", **{"ce-subject": "%C0%A0"}), b"", 400, "subject"),
        ("bad-4", _binary("bad-4", **{"ce-time": "yesterday"}), b"", 400, "time"),
        ("bad-6", _binary("bad-6", **{"content-type": "text/plain"}), b"\xff", 400, "data"),
        # CloudEvents 0.3: this runtime speaks 1.0 (its handlers see 1.0 attributes only).
        ("bad-7", _binary("bad-7", **{"ce-specversion": "0.3"}), b"", 400, "specversion"),
        ("bad-8", {"content-type": "application/cloudevents+json"},
         b'{"specversion": "0.3", "id": "bad-8", "source": "/s", "type": "t"}', 400,
         "specversion"),
        # A lone surrogate is valid JSON syntax but no Unicode text: it cannot be stored.
        ("bad-9", {"content-type": "application/cloudevents+json"},
         b'{"specversion": "1.0", "id": "bad-9", "source": "/s", "type": "t", "data": "\\ud800"}',
         400, "data"),
        # A format the runtime cannot read: 415 (RFC 9110 section 15.5.16), not "bad JSON".
        ("bad-10", {"content-type": "application/cloudevents+avro"}, b"\x00", 415, None),
        ("bad-11", {"content-type": "application/cloudevents-batch+xml"}, b"<a/>", 415, None),
    ],
)
def test_invalid_events_are_refused_and_nothing_is_enqueued(
    client: Client, event_id: str, headers: dict[str, str | bytes], body: bytes, status: int,
    attribute: str | None,
) -> None:
    got, answer = client.post(body, headers)
    assert got == status and answer["error"]["status"] == status
    if attribute is not None:
        assert answer["error"]["attribute"] == attribute
    assert client.accepted(event_id) == 0


def test_a_repeated_attribute_header_is_refused(client: Client) -> None:
    headers = [*_binary("dup-1").items(), ("ce-id", "dup-2")]
    status, answer = client.post(b"", headers)
    assert status == 400 and answer["error"]["attribute"] == "id"
    assert client.accepted("dup-1") == 0 and client.accepted("dup-2") == 0


def test_string_data_the_javascript_sdk_sends_as_json_is_read_as_its_text(
    client: Client,
) -> None:
    """The JavaScript SDK's ``HTTP.binary`` sends string data as it is under its default
    ``application/json`` (a body of ``hello``, not ``"hello"``); its Python SDK and
    functions-framework read such a body as that text. So does this ingress: it was a 400."""
    status, _ = client.post(b"hello {", _binary("js-1", **{"content-type": "application/json"}))
    assert status == 202 and client.seen("js-1")["data"] == "hello {"


def test_a_null_extension_is_unset(client: Client) -> None:
    structured = {"specversion": "1.0", "id": "null-1", "source": "/s", "type": "test.x",
                  "unsetextension": None, "n": 5}
    status, _ = client.post(
        json.dumps(structured).encode(), {"content-type": "application/cloudevents+json"}
    )
    assert status == 202 and client.seen("null-1")["extensions"] == {"n": 5}


def test_a_batch_with_an_unstorable_event_commits_the_rest_once(client: Client) -> None:
    batch = (
        b'[{"specversion": "1.0", "id": "sur-1", "source": "/s", "type": "t"},'
        b' {"specversion": "1.0", "id": "sur-2", "source": "/s", "type": "t", "data": "\\udfff"}]'
    )
    status, answer = client.post(batch, {"content-type": "application/cloudevents-batch+json"})
    assert status == 202
    assert [a["id"] for a in answer["accepted"]] == ["sur-1"]
    assert [(r["index"], r["attribute"]) for r in answer["rejected"]] == [(1, "data")]
    assert client.accepted("sur-1") == 1 and client.accepted("sur-2") == 0


# -- plain HTTP clients ----------------------------------------------------------------------------


def _raw(client: Client, request: bytes) -> bytes:
    """One request on a fresh socket, read until the server closes it."""
    with socket.create_connection(("127.0.0.1", client.server.port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_http10_without_host_and_head_without_body(client: Client) -> None:
    answer = _raw(client, b"GET /echo?a=1 HTTP/1.0\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and json.loads(body)["query"] == [["a", "1"]]
    answer = _raw(client, b"HEAD /echo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and body == b""


def test_expect_continue_chunked_and_keep_alive(client: Client) -> None:
    big = b'{"k": "' + b"x" * 3_000_000 + b'"}'
    conn = http.client.HTTPConnection("127.0.0.1", client.server.port, timeout=30)
    conn.request("POST", "/json", body=big, headers={"Expect": "100-continue",
                                                     "Content-Type": "application/json"})
    resp = conn.getresponse()
    assert (resp.status, json.loads(resp.read())) == (200, {"keys": ["k"]})
    conn.request("POST", "/echo", body=iter([b"ab", b"cde"]), encode_chunked=True,
                 headers={"Transfer-Encoding": "chunked"})
    resp = conn.getresponse()
    assert json.loads(resp.read())["length"] == 5
    for path, status in (("/echo?x=1&x=2", 200), ("/nowhere", 404), ("/items/a%20b", 200)):
        conn.request("GET", path)  # the same connection, kept alive
        resp = conn.getresponse()
        assert resp.status == status and resp.getheader("content-type") == "application/json"
        body = json.loads(resp.read())
    assert body == {"name": "a b"}
    conn.close()


def test_query_paths_and_errors(client: Client) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", client.server.port, timeout=30)
    conn.request("GET", "/echo?tag=a&tag=b&blank=&sp=a+b%20c&u=caf%C3%A9")
    assert json.loads(conn.getresponse().read())["query"] == [
        ["tag", "a"], ["tag", "b"], ["blank", ""], ["sp", "a b c"], ["u", "café"]
    ]
    conn.request("GET", "/items/caf%C3%A9")
    assert json.loads(conn.getresponse().read()) == {"name": "café"}
    conn.request("DELETE", "/echo")
    resp = conn.getresponse()
    assert resp.status == 405 and set(resp.getheader("allow", "").split(", ")) >= {"GET", "POST"}
    assert json.loads(resp.read())["error"]["status"] == 405
    conn.request("POST", "/json", body=b'{"a": ', headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    raw = resp.read()
    assert resp.status == 400 and b"Traceback" not in raw and json.loads(raw)["error"]
    conn.request("OPTIONS", "/_pf/events")
    resp = conn.getresponse()
    assert (resp.status, resp.getheader("allow")) == (405, "POST")
    assert json.loads(resp.read())["error"]["status"] == 405
    conn.close()


def test_204_205_and_304_carry_no_body_and_the_connection_stays_usable(client: Client) -> None:
    """RFC 9110 sections 15.3.5, 15.3.6 and 15.4.5: no content after a 204, 205 or 304, no
    Content-Length on a 204 or 304 and a 205's framed as 0. A body written anyway would be read
    as the next response."""
    conn = http.client.HTTPConnection("127.0.0.1", client.server.port, timeout=10)
    for code, length in ((204, None), (205, "0"), (304, None)):
        conn.request("GET", f"/status/{code}")
        resp = conn.getresponse()
        assert (resp.status, resp.read(), resp.getheader("content-length")) == (code, b"", length)
    conn.request("GET", "/status/200")  # the same connection, kept alive
    resp = conn.getresponse()
    assert (resp.status, json.loads(resp.read())) == (200, {"sent": True})
    conn.close()


@pytest.mark.parametrize("code", [100, 101, 103])
def test_an_interim_status_from_a_handler_is_a_json_500(client: Client, code: int) -> None:
    """RFC 9110 section 15.2: a 1xx is interim, never the final answer. Sent as one, the client
    read it as a preamble and waited for a response that never came (a hang; ``101`` switched
    the connection to nothing). The client gets the JSON 500 the Cloudflare adapter answers
    for a status a Worker cannot send, and the connection stays usable."""
    conn = http.client.HTTPConnection("127.0.0.1", client.server.port, timeout=5)
    conn.request("GET", f"/status/{code}")
    resp = conn.getresponse()
    assert (resp.status, resp.getheader("content-type")) == (500, "application/json")
    assert json.loads(resp.read()) == {"error": {"status": 500, "message": "internal server error"}}
    conn.request("GET", "/status/200")
    resp = conn.getresponse()
    assert (resp.status, json.loads(resp.read())) == (200, {"sent": True})
    conn.close()


def test_a_head_answered_without_a_body_keeps_the_handlers_content_length(
    client: Client,
) -> None:
    """RFC 9110 sections 8.6 and 9.3.2: a HEAD response's Content-Length, when sent, is that of
    the GET response. A handler that answers HEAD from metadata (a file's size) set it; the
    server replaced it with 0, the length of a body a HEAD never has."""
    conn = http.client.HTTPConnection("127.0.0.1", client.server.port, timeout=10)
    conn.request("HEAD", "/download")
    resp = conn.getresponse()
    assert (resp.status, resp.getheader("content-length"), resp.read()) == (200, "11", b"")
    conn.request("GET", "/download")  # the same connection: nothing spilled
    resp = conn.getresponse()
    assert (resp.getheader("content-length"), resp.read()) == ("11", b"hello world")
    conn.request("HEAD", "/echo")  # a GET route serving HEAD: the GET body's length
    resp = conn.getresponse()
    length = resp.getheader("content-length")
    assert resp.read() == b"" and length is not None and int(length) > 0
    conn.close()


def test_a_handlers_framing_headers_are_replaced_by_the_servers(client: Client) -> None:
    """Transfer-Encoding and Content-Length copied from an upstream response: the body goes out
    whole, framed once (RFC 9112 section 6.3: never both headers)."""
    head, _, body = _raw(
        client, b"GET /proxied HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    ).partition(b"\r\n\r\n")
    lines = head.lower().split(b"\r\n")
    assert b"content-length: 5" in lines and b"x-up: 1" in lines
    assert not any(line.startswith(b"transfer-encoding") for line in lines)
    assert body == b"hello"


@pytest.mark.parametrize(
    "value", ["%E6%97%A5%E6%9C%AC", "a%0D%0Ax-injected:%201", "a%00b"], ids=["cjk", "crlf", "nul"]
)
def test_a_response_header_http_cannot_carry_is_a_json_500(client: Client, value: str) -> None:
    """Outside Latin-1, or a line break (header injection): the client gets the JSON 500 every
    failure gets, not the server's plain-text page or a dropped connection; the log says why."""
    conn = http.client.HTTPConnection("127.0.0.1", client.server.port, timeout=10)
    conn.request("GET", f"/header?v={value}")
    resp = conn.getresponse()
    raw = resp.read()
    assert (resp.status, resp.getheader("content-type")) == (500, "application/json")
    assert resp.getheader("x-value") is None and resp.getheader("x-injected") is None
    assert json.loads(raw) == {"error": {"status": 500, "message": "internal server error"}}
    client.server.wait_for(
        lambda r: r.get("event") == "error" and "x-value" in r.get("message", "")
    )
    conn.request("GET", "/header?v=caf%C3%A9")  # Latin-1 is fine, on the same connection
    resp = conn.getresponse()
    assert (resp.status, resp.getheader("x-value"), resp.read()) == (200, "café", b"ok")
    conn.close()


def test_expect_continue_to_a_missing_route_is_answered_without_the_body(client: Client) -> None:
    """RFC 9110 section 10.1.1: a final status instead of 100 Continue, so a client never
    uploads a body nobody will read."""
    with socket.create_connection(("127.0.0.1", client.server.port), timeout=10) as sock:
        sock.sendall(b"PUT /nowhere HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n"
                     b"Expect: 100-continue\r\n\r\n")
        answer = b""
        while b"}" not in answer:  # the JSON error, whole
            chunk = sock.recv(65536)
            assert chunk, answer
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 404") and b"100 Continue" not in answer
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["error"]["status"] == 404
    conn = http.client.HTTPConnection("127.0.0.1", client.server.port, timeout=10)
    conn.request("POST", "/nowhere", body=b"x" * 1_000_000)  # sent whole, never read
    resp = conn.getresponse()
    assert (resp.status, json.loads(resp.read())["error"]["status"]) == (404, 404)
    conn.request("GET", "/status/200")  # the unread body does not spill into the next request
    assert conn.getresponse().status == 200
    conn.close()


_BODY = b'{"sku": "a"}'
_FRAMINGS = {
    "content-length": f"Content-Length: {len(_BODY)}\r\n\r\n".encode() + _BODY,
    # ``curl --http2 -T file``, or ``-H 'Transfer-Encoding: chunked'``: no length to compare.
    "chunked": b"Transfer-Encoding: chunked\r\n\r\nc\r\n" + _BODY + b"\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("framing", list(_FRAMINGS))
def test_a_body_sent_with_an_upgrade_request_is_never_acted_on_in_part(
    client: Client, framing: str
) -> None:
    """``curl --http2`` over http:// asks to upgrade (RFC 7540 section 3.2: ``Upgrade: h2c``)
    and sends its body in HTTP/1.1. The server may ignore the upgrade (RFC 9110 section 7.8),
    but uvicorn's httptools parser stops at it and the request arrived without its body: a
    handler ran on an empty body, an event posted that way was accepted with its data gone.
    A body that came whole is served; one that did not is a JSON 400 that names the upgrade,
    and no handler runs on part of a body."""
    event_id = f"h2c-{framing}"
    for path, headers in (
        ("/echo", b"Content-Type: application/json\r\n"),
        ("/_pf/events", f"ce-specversion: 1.0\r\nce-id: {event_id}\r\nce-source: /c\r\n"
                        "ce-type: test.x\r\nContent-Type: application/json\r\n".encode()),
    ):
        answer = _raw(
            client,
            f"POST {path} HTTP/1.1\r\nHost: localhost\r\n".encode()
            + b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
            + b"HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n"
            + headers
            + _FRAMINGS[framing],
        )
        head, _, raw = answer.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        if status == 400:  # the body was lost on the way: said so
            assert b"Upgrade" in raw and json.loads(raw)["error"]["status"] == 400, answer
        elif path == "/echo":  # or the body came whole
            assert status == 200 and json.loads(raw)["length"] == len(_BODY), answer
        else:
            assert status == 202 and client.seen(event_id)["data"] == {"sku": "a"}, answer
    assert client.accepted(event_id) <= 1


_UNPARSABLE = {
    "garbage request line": b"NOT-HTTP\r\n\r\n",
    "raw UTF-8 in the query": "GET /echo?q=café HTTP/1.1\r\nHost: localhost\r\n\r\n".encode(),
    "non-UTF-8 path": b"GET /caf\xe9 HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "space in a header name": b"GET /echo HTTP/1.1\r\nHost: localhost\r\nBad Name: x\r\n\r\n",
}


def test_a_url_past_the_head_limit_is_a_json_431(client: Client) -> None:
    """A URL over 64 KB was the parser's 400; the limit on the request line and headers (10240
    bytes, as on an API Gateway HTTP API) refuses it first, as a 431 that says why."""
    answer = _raw(client, b"GET /echo?q=" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n")
    head, _, raw = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 "), answer[:300]
    assert json.loads(raw)["error"]["status"] == 431


@pytest.mark.parametrize("request_bytes", list(_UNPARSABLE.values()), ids=list(_UNPARSABLE))
def test_a_request_the_parser_refuses_is_answered_with_a_json_400(
    client: Client, request_bytes: bytes
) -> None:
    """What the HTTP parser refuses before any app code (RFC 9112 section 3: a request line or
    header field it cannot read) is a 400 like every other error here: a JSON body, no
    traceback. uvicorn's own answer was ``text/plain`` "Invalid HTTP request received."."""
    answer = _raw(client, request_bytes)
    head, _, raw = answer.partition(b"\r\n\r\n")
    if head.startswith(b"HTTP/1.1 200"):  # a parser may read it after all: then it is served
        assert json.loads(raw)["path"], answer
        return
    assert head.startswith(b"HTTP/1.1 400"), answer[:300]
    assert b"content-type: application/json" in head.lower(), head
    assert json.loads(raw) == {"error": {"status": 400, "message": "invalid HTTP request"}}


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /echo HTTP/1.1\r\nConnection: close\r\n\r\n",
        b"GET /echo HTTP/1.1\r\nHost: localhost\r\nHost: other.example\r\n"
        b"Connection: close\r\n\r\n",
        b"POST /_pf/events HTTP/1.1\r\nHost: localhost\r\nHost: localhost\r\n"
        b"ce-specversion: 1.0\r\nce-id: host-2\r\nce-source: /c\r\nce-type: test.x\r\n"
        b"Content-Length: 0\r\n"
        b"Connection: close\r\n\r\n",
    ],
    ids=["no Host", "two Hosts", "two Hosts to the ingress"],
)
def test_an_http11_request_without_one_host_is_a_json_400(
    client: Client, request_bytes: bytes
) -> None:
    """RFC 9112 section 3.2: a server MUST answer 400 to an HTTP/1.1 request without a Host
    header or with more than one. uvicorn's h11 parser does (a JSON 400 here); its httptools
    parser, the one installed with CPython, served the request: the same client got 200 or
    400 by which parser was installed, and the loopback guard read only the first Host. Now
    both answer the JSON 400 of every request the parser refuses."""
    head, _, raw = _raw(client, request_bytes).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), head
    assert b"content-type: application/json" in head.lower()
    assert json.loads(raw) == {"error": {"status": 400, "message": "invalid HTTP request"}}
    assert client.accepted("host-2") == 0
    # HTTP/1.0 has no Host requirement (test_http10_without_host_and_head_without_body).
