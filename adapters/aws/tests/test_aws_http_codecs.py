# SPDX-License-Identifier: Apache-2.0
"""HTTP shapes in and out: API Gateway v1 (REST and HTTP API 1.0), v2, function URL, ALB."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from portable_fn.http import Headers, Response
from portable_fn_aws import alb, apigw_v1, apigw_v2, function_url

from aws_fixtures import load


@pytest.mark.parametrize(
    ("fixture", "codec", "method", "path", "query", "body", "client_ip", "cookies"),
    [
        (
            "sam_apigw_v1.json",
            apigw_v1,
            "GET",
            "/orders/42",
            [("foo", "bar")],
            b'{"test":"body"}',
            "127.0.0.1",
            {},
        ),
        (
            "http_api_v1.json",
            apigw_v1,
            "POST",
            "/orders",
            [("dry", "true")],
            b'{"sku": "book", "quantity": 2}',
            "192.0.2.1",
            {"session": "abc123"},
        ),
        (
            "sam_apigw_v2.json",
            apigw_v2,
            "POST",
            "/path/to/resource",
            [("parameter1", "value1"), ("parameter1", "value2"), ("parameter2", "value")],
            b'{"test":"body"}',
            "192.168.0.1/32",
            {"cookie1": "", "cookie2": ""},
        ),
        (
            "function_url.json",
            function_url,
            "GET",
            "/orders/7",
            [("expand", "items"), ("expand", "customer"), ("q", "café au lait")],
            b"",
            "203.0.113.7",
            {"session": "abc123", "theme": "dark"},
        ),
        (
            "sam_alb.json",
            alb,
            "POST",
            "/path/to/resource",
            [("query", "1234ABCD")],
            b'{"test":"body"}',
            "72.12.164.125",
            {},
        ),
        (
            "alb_multi_value.json",
            alb,
            "GET",
            "/orders/7",
            [("tag", "a b"), ("tag", "c d"), ("q", "café")],
            b"",
            "10.0.0.1",  # the entry the ALB appended; the first is what the client sent
            {"session": "abc123", "theme": "dark"},
        ),
    ],
)
def test_request_golden(
    fixture: str,
    codec: Any,
    method: str,
    path: str,
    query: list[tuple[str, str]],
    body: bytes,
    client_ip: str,
    cookies: dict[str, str],
) -> None:
    event = load(fixture)
    assert codec.matches(event)
    request = codec.to_request(event)
    assert (request.method, request.path, request.body) == (method, path, body)
    assert request.query.items() == query
    assert request.client_ip == client_ip
    # sam's sample cookies are bare names ("cookie1"), which are not name=value pairs.
    if fixture != "sam_apigw_v2.json":
        assert request.cookies == cookies
    else:
        assert request.headers["cookie"] == "cookie1; cookie2"


def test_header_lookup_is_case_insensitive_and_keeps_repeats() -> None:
    request = apigw_v1.to_request(load("http_api_v1.json"))
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers.getall("x-tag") == ["a", "b"]
    v2 = apigw_v2.to_request(load("sam_apigw_v2.json"))
    assert v2.headers["HEADER2"] == "value1,value2"  # v2 joins repeats itself


def test_shapes_are_told_apart() -> None:
    v1, v2, url = load("sam_apigw_v1.json"), load("sam_apigw_v2.json"), load("function_url.json")
    single, multi = load("sam_alb.json"), load("alb_multi_value.json")
    assert not alb.matches(v1) and apigw_v1.matches(v1) and not apigw_v2.matches(v1)
    assert apigw_v2.matches(v2) and not function_url.matches(v2)
    assert function_url.matches(url)
    assert alb.matches(single) and alb.matches(multi) and not apigw_v1.matches(multi)


def test_named_stage_prefix_is_stripped() -> None:
    event = load("sam_apigw_v2.json")
    event["requestContext"]["stage"] = "prod"
    event["rawPath"] = "/prod/orders/1"
    assert apigw_v2.to_request(event).path == "/orders/1"


def test_percent_encoded_raw_path_is_decoded() -> None:
    event = load("function_url.json")
    event["rawPath"] = "/files/a%20b"
    assert function_url.to_request(event).path == "/files/a b"


@pytest.mark.parametrize(
    "codec,fixture",
    [(apigw_v1, "sam_apigw_v1.json"), (apigw_v2, "sam_apigw_v2.json"), (alb, "sam_alb.json")],
)
def test_bad_base64_body_is_a_decode_error(codec: Any, fixture: str) -> None:
    from portable_fn.errors import EventDecodeError

    event = load(fixture)
    event["body"], event["isBase64Encoded"] = "%%%not base64", True
    with pytest.raises(EventDecodeError) as info:
        codec.to_request(event)
    assert info.value.field == "body" and info.value.provider == "aws"


def _cookie_response() -> Response:
    return Response(
        status=201,
        headers=Headers(
            [
                ("content-type", "application/json"),
                ("set-cookie", "a=1"),
                ("set-cookie", "b=2; HttpOnly"),
                ("vary", "accept"),
                ("vary", "cookie"),
            ]
        ),
        body=b'{"ok":true}',
    )


def test_v2_response_uses_cookies_and_joins_repeats() -> None:
    out = apigw_v2.from_response(_cookie_response())
    assert out == {
        "statusCode": 201,
        "headers": {"content-type": "application/json", "vary": "accept, cookie"},
        "cookies": ["a=1", "b=2; HttpOnly"],
        "body": '{"ok":true}',
        "isBase64Encoded": False,
    }


def test_v1_response_puts_repeats_in_multi_value_headers_only() -> None:
    out = apigw_v1.from_response(_cookie_response())
    assert out["headers"] == {"content-type": "application/json"}
    assert out["multiValueHeaders"] == {
        "set-cookie": ["a=1", "b=2; HttpOnly"],
        "vary": ["accept", "cookie"],
    }


def test_alb_response_follows_the_request_header_mode() -> None:
    multi = alb.from_response(_cookie_response(), load("alb_multi_value.json"))
    assert multi["multiValueHeaders"]["set-cookie"] == ["a=1", "b=2; HttpOnly"]
    assert "headers" not in multi and multi["statusDescription"] == "201 Created"
    single = alb.from_response(_cookie_response(), load("sam_alb.json"))
    assert single["headers"]["content-type"] == "application/json"
    assert "multiValueHeaders" not in single


@pytest.mark.parametrize("codec", [apigw_v1, apigw_v2, alb, function_url])
def test_binary_body_is_base64(codec: Any) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\xff"
    out = codec.from_response(Response.binary(png, content_type="image/png"), {})
    assert out["isBase64Encoded"] is True
    assert base64.b64decode(out["body"]) == png


def test_text_declared_but_not_utf8_falls_back_to_base64() -> None:
    out = apigw_v2.from_response(Response.binary(b"\xff\xfe", content_type="text/plain"))
    assert out["isBase64Encoded"] is True and base64.b64decode(out["body"]) == b"\xff\xfe"


def test_json_response_is_text() -> None:
    out = apigw_v2.from_response(Response.json({"é": 1}))
    assert out["isBase64Encoded"] is False and json.loads(out["body"]) == {"é": 1}


@pytest.mark.parametrize("codec", [apigw_v1, apigw_v2, alb])
def test_body_without_content_type_is_text_when_utf8_whatever_came_before(codec: Any) -> None:
    """A body without a content type goes as text when it is UTF-8, else base64, decided per
    response. As base64, a REST API (payload 1.0) without matching ``binaryMediaTypes`` passed
    ``Response(body="ok")`` on to its client still encoded:
    https://docs.aws.amazon.com/apigateway/latest/developerguide/lambda-proxy-binary-media.html."""
    assert codec.from_response(Response(status=204), {})["body"] == ""
    out = codec.from_response(Response(status=200, body="plain text, é"), {})
    assert out["isBase64Encoded"] is False and out["body"] == "plain text, é"
    png = b"\x89PNG\r\n\x1a\n\x00"
    out = codec.from_response(Response(status=200, body=png), {})
    assert out["isBase64Encoded"] is True and base64.b64decode(out["body"]) == png
    assert codec.from_response(Response.json({"a": 1}), {})["isBase64Encoded"] is False


def test_returned_header_maps_are_the_callers_own() -> None:
    first = apigw_v2.from_response(Response.json({"a": 1}))
    first["headers"]["x-mutated"] = "yes"
    assert "x-mutated" not in apigw_v2.from_response(Response.json({"a": 2}))["headers"]


# -- what API Gateway, a function URL or an ALB cannot send ----------------------------------


def _answer(response: Response, fixture: str) -> dict[str, Any]:
    """What ``lambda_handler`` returns to Lambda for a GET answered with ``response``."""
    import portable_fn as pf
    from portable_fn_aws import lambda_handler

    from aws_fixtures import FakeLambdaContext

    app = pf.App("out")
    app.http("/{rest+}", methods=["GET"], name="answer")(lambda req: response)
    event = load(fixture)
    if "httpMethod" in event:
        event["httpMethod"] = "GET"
    elif "method" in event:  # VPC Lattice
        event["method"] = "GET"
    else:
        event["requestContext"]["http"]["method"] = "GET"
    return lambda_handler(app, "answer")(event, FakeLambdaContext())


_SHAPES = ["function_url.json", "sam_apigw_v2.json", "sam_apigw_v1.json", "sam_alb.json",
           "alb_multi_value.json", "vpc_lattice_v1.json", "vpc_lattice_v2.json"]


@pytest.mark.parametrize("fixture", _SHAPES)
@pytest.mark.parametrize("status", [204, 205, 304])
def test_a_status_without_content_is_sent_without_the_body(fixture: str, status: int) -> None:
    """RFC 9110 sections 15.3.5, 15.3.6 and 15.4.5: a 204, 205 or 304 has no content; the
    handler's body is dropped, as the local runtime, functions-framework (werkzeug) and
    Workers (a null-body status) drop it, instead of API Gateway being handed it."""
    out = _answer(Response(status=status, headers={"etag": '"v1"'}, body=b"stale"), fixture)
    assert out["statusCode"] == status
    assert out["body"] == "" and out["isBase64Encoded"] is False
    headers = out.get("headers") or {k: v[0] for k, v in out["multiValueHeaders"].items()}
    assert headers["etag"] == '"v1"'


@pytest.mark.parametrize("fixture", _SHAPES)
@pytest.mark.parametrize(
    "response",
    [
        Response(status=103, headers={"link": "</a.css>; rel=preload"}),  # interim only
        Response(headers={"x-a": "v\x1b[2J"}, body="ok"),  # a control character
        Response(headers={"x-name": "日本"}, body="ok"),  # not Latin-1: no HTTP/1.1 bytes
        Response(headers={"x name": "v"}, body="ok"),  # not a field name
    ],
    ids=["1xx", "control", "non-latin-1", "bad-name"],
)
def test_a_response_http_cannot_carry_is_a_json_500(fixture: str, response: Response) -> None:
    """A 1xx is interim (RFC 9110 section 15.2), never the answer; a field value is Latin-1
    without control characters and a name is a token (RFC 9110 section 5). Passed to API
    Gateway or the ALB, the client gets their own non-JSON 502 or a hung request; the local
    runtime and the Cloudflare adapter answer the portable JSON 500 and log why: so does AWS."""
    out = _answer(response, fixture)
    assert out["statusCode"] == 500
    assert json.loads(out["body"]) == {"error": {"status": 500,
                                                 "message": "internal server error"}}


@pytest.mark.parametrize(
    ("fixture", "size"),
    [("function_url.json", 7 * 1024 * 1024), ("sam_apigw_v1.json", 7 * 1024 * 1024),
     ("sam_alb.json", 1024 * 1024 + 1), ("alb_multi_value.json", 1024 * 1024 + 1)],
)
def test_a_response_over_the_payload_limit_is_a_clear_json_error(fixture: str, size: int) -> None:
    """Lambda returns at most 6 MB from a synchronous invocation (quotas:
    https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html), an ALB takes at
    most 1 MB of response JSON from its Lambda target
    (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html).
    Over it the client got the front end's own non-JSON 502 and the log only Lambda's
    "payload size exceeded"; now a JSON 500 that names the limit."""
    out = _answer(Response.text("a" * size), fixture)
    assert out["statusCode"] == 500
    error = json.loads(out["body"])["error"]
    assert error["status"] == 500 and "too large" in error["message"]
    assert len(json.dumps(out)) < 1024


def test_a_response_under_the_alb_limit_is_sent() -> None:
    out = _answer(Response.text("a" * 900_000), "sam_alb.json")
    assert out["statusCode"] == 200 and len(out["body"]) == 900_000


@pytest.mark.parametrize(("execution_env", "too_large"), [
    # awslambdaric writes UTF-8 on python3.12 and later (600 kB here: under the ALB's 1 MB) and
    # \uXXXX escapes before (1.2 MB: over it), lambda_runtime_marshaller.Encoder.
    ("AWS_Lambda_python3.12", False),
    ("AWS_Lambda_python3.11", True),
])
def test_non_ascii_text_is_measured_as_the_runtime_writes_it(
    monkeypatch: pytest.MonkeyPatch, execution_env: str, too_large: bool
) -> None:
    monkeypatch.setenv("AWS_EXECUTION_ENV", execution_env)
    out = _answer(Response.text("\u65e5" * 200_000), "sam_alb.json")
    assert (out["statusCode"] == 500) is too_large


def test_characters_outside_the_bmp_are_measured_as_two_escapes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before python3.12 awslambdaric writes a character outside the BMP as a surrogate pair
    of \\uXXXX escapes, 12 bytes for one ``str`` character: 100,000 emoji are 1.2 MB of JSON,
    over the ALB's 1 MB, though under a sixth of it in characters."""
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.11")
    out = _answer(Response.text("\U0001f600" * 100_000), "sam_alb.json")
    assert out["statusCode"] == 500
    assert "too large" in json.loads(out["body"])["error"]["message"]
