"""``Request.form()`` and ``Request.files()`` on bodies real clients build: ``requests`` and
``urllib3`` (installed with the ``test`` extra's moto and boto3), the standard library's
``urlencode``, and a browser's body written as the WHATWG HTML standard's "multipart/form-data
encoding algorithm" and Chrome send it (raw UTF-8 filename, ``"`` escaped as ``%22``).
Specs: RFC 7578, RFC 2046 section 5.1.1, https://url.spec.whatwg.org/#application/x-www-form-urlencoded
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
import requests
from urllib3 import encode_multipart_formdata

import portable_fn as pf
from portable_fn import Headers, Request
from portable_fn.errors import BadRequest, HTTPError


def _request(body: bytes, content_type: str | None) -> Request:
    headers = Headers({} if content_type is None else {"content-type": content_type})
    return Request(method="POST", path="/form", headers=headers, body=body)


def _prepared(**kwargs: object) -> Request:
    prepared = requests.Request("POST", "http://127.0.0.1/form", **kwargs).prepare()
    body = prepared.body
    assert isinstance(body, bytes | str)
    raw = body if isinstance(body, bytes) else body.encode()
    return _request(raw, prepared.headers["Content-Type"])


def test_a_urlencoded_form_from_requests_keeps_order_repeats_and_blanks() -> None:
    req = _prepared(data=[("tag", "a b"), ("tag", "c&d"), ("note", ""), ("name", "café €")])
    form = req.form()
    assert form.getall("tag") == ["a b", "c&d"]
    assert form["note"] == "" and form["name"] == "café €"
    assert req.files() == []


def test_a_slack_style_webhook_body_parses() -> None:
    # Slack slash commands and Twilio webhooks post urlencoded forms; `+` is a space there.
    body = urlencode({"command": "/deploy", "text": "api v1.2+hotfix", "payload": '{"a": 1}'})
    form = _request(body.encode(), "application/x-www-form-urlencoded").form()
    assert form["text"] == "api v1.2+hotfix" and form["payload"] == '{"a": 1}'
    assert _request(b"text=a+b", "application/x-www-form-urlencoded").form()["text"] == "a b"


def test_raw_utf8_in_a_urlencoded_body_reads_as_utf8() -> None:
    # `curl -d 'name=café'` sends the bytes unescaped; the WHATWG parser reads them as UTF-8.
    req = _request("name=café&x=%E2%82%AC".encode(), "application/x-www-form-urlencoded")
    assert req.form().to_dict() == {"name": "café", "x": "€"}


def test_a_multipart_form_from_requests_gives_fields_and_files_byte_exact() -> None:
    payload = bytes(range(256)) + b"\r\n--not-the-boundary\r\n\n\r" * 3
    req = _prepared(
        data={"title": "Cat picture", "tags": ["a", "b"]},
        files=[
            ("photo", ("cat.bin", payload, "image/png")),
            ("photo", ("empty.txt", b"", "text/plain")),
        ],
    )
    assert req.form().to_multi() == {"title": ["Cat picture"], "tags": ["a", "b"]}
    photo, empty = req.files()
    assert (photo.field, photo.filename, photo.content_type) == ("photo", "cat.bin", "image/png")
    assert photo.data == payload
    assert (empty.filename, empty.data) == ("empty.txt", b"")


def test_a_multipart_form_from_urllib3_with_a_unicode_filename() -> None:
    body, content_type = encode_multipart_formdata(
        [("note", "über"), ("doc", ("résumé.pdf", b"%PDF-1.7\n", "application/pdf"))]
    )
    req = _request(body, content_type)
    assert req.form()["note"] == "über"
    (doc,) = req.files()
    assert (doc.filename, doc.data) == ("résumé.pdf", b"%PDF-1.7\n")


def test_a_browser_body_with_escaped_quotes_and_a_part_without_content_type() -> None:
    boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="say %22hi%22"\r\n\r\n'
        "hello\r\n"
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="upload"; filename="naïve %22q%22.txt"\r\n\r\n'
        "line one\r\nline two\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    req = _request(body, f"multipart/form-data; boundary={boundary}")
    assert req.form()['say "hi"'] == "hello"
    (upload,) = req.files()
    assert upload.filename == 'naïve "q".txt'
    assert upload.content_type == "application/octet-stream"  # RFC 7578 section 4.4
    assert upload.data == b"line one\r\nline two"


def test_charset_of_a_part_and_the_charset_field() -> None:
    # RFC 7578 section 4.6: a `_charset_` field names the default charset of the text fields.
    body = (
        b"preamble text\r\n--XyZ\r\n"
        b'Content-Disposition: form-data; name="_charset_"\r\n\r\niso-8859-1\r\n'
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="a"\r\n\r\ncaf\xe9\r\n'
        b"--XyZ  \r\n"  # transport padding after a delimiter
        b'Content-Disposition: form-data; name="b"\r\n'
        b"Content-Type: text/plain; charset=utf-8\r\n\r\ncaf\xc3\xa9\r\n"
        b"--XyZ--\r\nepilogue"
    )
    form = _request(body, 'multipart/form-data; boundary="XyZ"').form()
    assert form["a"] == "café" and form["b"] == "café"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "says"),
    [
        (b'{"a": 1}', "application/json", 415, "expected application/x-www-form-urlencoded"),
        (b"a=1", None, 415, "untyped"),
        (b"--x\r\n", "multipart/form-data", 400, "boundary"),
        (b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1", "multipart/form-data; "
         "boundary=x", 400, "closing boundary"),
        (b"--x\r\nContent-Type: text/plain\r\n\r\n1\r\n--x--", "multipart/form-data; boundary=x",
         400, "Content-Disposition"),
        (b"nothing here", "multipart/form-data; boundary=x", 400, "does not contain"),
        (b"a=%FF", "application/x-www-form-urlencoded", 400, "not valid utf-8"),
        (b"a=1", "application/x-www-form-urlencoded; charset=nope", 400, "unknown charset"),
    ],
)
def test_a_body_that_is_no_form_is_a_clear_client_error(
    body: bytes, content_type: str | None, status: int, says: str
) -> None:
    req = _request(body, content_type)
    with pytest.raises(HTTPError) as raised:
        req.form()
    assert raised.value.status == status and says in raised.value.message
    if status == 400:
        assert isinstance(raised.value, BadRequest)


def test_a_handler_reading_a_bad_form_answers_json_400() -> None:
    import json

    from portable_fn.testing import http_request, invoke

    app = pf.App("forms")

    @app.http("/upload", methods=["POST"])
    def upload(req: pf.Request) -> dict[str, object]:
        return {"fields": req.form().to_dict(), "files": [f.filename for f in req.files()]}

    form = {"content-type": "application/x-www-form-urlencoded"}
    ok = invoke(app, "upload", http_request("POST", "/upload", body="a=1&b=2", headers=form))
    assert ok.status == 200
    assert json.loads(ok.body) == {"fields": {"a": "1", "b": "2"}, "files": []}
    bad = invoke(app, "upload", http_request(
        "POST", "/upload", body=b"--x\r\n", headers={"content-type": "multipart/form-data"}))
    assert bad.status == 400 and "boundary" in json.loads(bad.body)["error"]["message"]
