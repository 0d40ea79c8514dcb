# SPDX-License-Identifier: Apache-2.0
"""Repeated request headers and several ``Set-Cookie`` through the real Lambda handler, on every
AWS HTTP shape, both ways.

In: a header a client sends twice reaches ``Request.headers.getall`` as separate values wherever
the event keeps them apart (REST and HTTP API payload 1.0 ``multiValueHeaders``, an ALB target
group with multi-value headers, VPC Lattice V2's lists), and as the one value the platform
joined where it did (HTTP API payload 2.0 and function URLs: "Duplicate headers are combined
with commas", the ``cookies`` array for Cookie; Lattice V1: one string per header):
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html#multi-value-headers
https://docs.aws.amazon.com/vpc-lattice/latest/ug/lambda-functions.html#receive-event-from-service

Out: each ``Set-Cookie`` apart and in the handler's order where the response shape can hold
several (``multiValueHeaders``, ``cookies``); the last one, with a warning naming the setting,
where it cannot (an ALB target group without multi-value headers, VPC Lattice).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import portable_fn as pf
from portable_fn_aws import lambda_handler

from aws_fixtures import FakeLambdaContext, load

# Real-world values: an Expires date holds a comma, CHIPS' Partitioned is a bare attribute.
COOKIES = [
    "sid=abc; Path=/; Secure; HttpOnly; SameSite=None; Partitioned",
    "theme=dark; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Path=/",
    "sid=; Path=/old; Max-Age=0",  # the same name again: a delete of an older path's cookie
]
LINKS = ["</app.css>; rel=preload; as=style", "</app.js>; rel=preload; as=script"]


def _app() -> pf.App:
    app = pf.App("repeats")

    @app.http("/{rest+}", methods=["GET", "POST"])
    def echo(req: pf.Request) -> pf.Response:
        seen = {
            "cookie": req.headers.getall("cookie"),
            "cookies": req.cookies,
            "x_tag": req.headers.getall("x-tag"),
        }
        headers = [("set-cookie", c) for c in COOKIES]
        headers += [("link", v) for v in LINKS] + [("vary", "Origin"), ("vary", "Cookie")]
        return pf.Response.json(seen, headers=headers)

    return app


def _call(event: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = lambda_handler(_app(), "echo")(event, FakeLambdaContext())
    assert out["statusCode"] == 200, out
    return out


def _seen(out: dict[str, Any]) -> dict[str, Any]:
    seen: dict[str, Any] = json.loads(out["body"])
    return seen


# -- in ----------------------------------------------------------------------------------------


def _rest_event() -> dict[str, Any]:
    """The REST API sample with a client's two Cookie lines and two X-Tag lines: every value in
    ``multiValueHeaders``, the last in ``headers`` ("the single-valued maps keep only the
    last")."""
    event = load("sam_apigw_v1.json")
    event["headers"] = {**event["headers"], "Cookie": "b=2", "X-Tag": "y"}
    event["multiValueHeaders"] = {
        **event["multiValueHeaders"],
        "Cookie": ["a=1", "b=2"],
        "X-Tag": ["x", "y"],
    }
    return event


def test_rest_api_keeps_every_value_of_a_repeated_header() -> None:
    assert _seen(_call(_rest_event())) == {
        "cookie": ["a=1", "b=2"],
        "cookies": {"a": "1", "b": "2"},
        "x_tag": ["x", "y"],
    }


def test_http_api_payload_1_keeps_every_value_of_a_repeated_header() -> None:
    seen = _seen(_call(load("http_api_v1.json")))
    assert seen["x_tag"] == ["a", "b"]  # multiValueHeaders, not the last-only headers map
    assert seen["cookies"] == {"session": "abc123"}


def test_alb_multi_value_mode_keeps_both_cookie_lines() -> None:
    seen = _seen(_call(load("alb_multi_value.json")))
    assert seen["cookie"] == ["session=abc123", "theme=dark"]
    assert seen["cookies"] == {"session": "abc123", "theme": "dark"}


def test_alb_single_value_mode_has_only_the_value_the_alb_kept() -> None:
    """Without multi-value headers the ALB passes one value per name, the last it received."""
    event = load("sam_alb.json")
    event["headers"] = {**event["headers"], "cookie": "theme=dark", "x-tag": "y"}
    seen = _seen(_call(event))
    assert (seen["cookie"], seen["x_tag"]) == (["theme=dark"], ["y"])


@pytest.mark.parametrize("fixture", ["sam_apigw_v2.json", "function_url.json"])
def test_payload_2_keeps_the_joined_value_and_reads_the_cookies_array(fixture: str) -> None:
    """Payload 2.0 has no multi-value map: a repeated header arrives as AWS joined it (``a,b``,
    which the adapter cannot tell from one value holding a comma, so it is kept whole), and the
    Cookie lines as the ``cookies`` array, handed over as one Cookie header joined with ``; ``
    (RFC 9113 section 8.2.3's way of putting cookie lines together)."""
    event = load(fixture)
    event["headers"] = {**event["headers"], "x-tag": "x,y"}
    event["cookies"] = ["a=1", "b=2", "c=3"]
    seen = _seen(_call(event))
    assert seen["x_tag"] == ["x,y"]
    assert seen["cookie"] == ["a=1; b=2; c=3"]
    assert seen["cookies"] == {"a": "1", "b": "2", "c": "3"}


@pytest.mark.parametrize(
    ("fixture", "cookie", "x_tag"),
    [
        ("vpc_lattice_v2.json", ["a=1", "b=2"], ["red", "blue"]),  # V2: a list per header
        ("vpc_lattice_v1.json", ["a=1, b=2"], ["red, blue"]),  # V1: one string, as sent
    ],
)
def test_vpc_lattice_repeated_headers(fixture: str, cookie: list[str], x_tag: list[str]) -> None:
    event = load(fixture)
    event["headers"] = {**event["headers"], "cookie": cookie if "2" in fixture else cookie[0]}
    seen = _seen(_call(event))
    assert (seen["cookie"], seen["x_tag"]) == (cookie, x_tag)
    assert seen["cookies"] == {"a": "1", "b": "2"}  # a comma-joined Cookie is split again


# -- out ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("event", [_rest_event(), load("http_api_v1.json")])
def test_payload_1_sends_every_set_cookie_in_order(event: dict[str, Any]) -> None:
    """Only ``multiValueHeaders`` for a repeated name: API Gateway merges the two maps."""
    out = _call(event)
    multi = out["multiValueHeaders"]
    assert multi["set-cookie"] == COOKIES
    assert multi["link"] == LINKS
    assert multi["vary"] == ["Origin", "Cookie"]
    assert not {"set-cookie", "link", "vary"} & set(out["headers"])


@pytest.mark.parametrize("fixture", ["sam_apigw_v2.json", "function_url.json"])
def test_payload_2_sends_set_cookies_as_the_cookies_array_in_order(fixture: str) -> None:
    """"In the response to the client, each cookie becomes a set-cookie header"; other repeated
    headers travel comma-joined (RFC 9110 section 5.3), the only way ``headers`` holds them."""
    out = _call(load(fixture))
    assert out["cookies"] == COOKIES
    assert "set-cookie" not in out["headers"]
    assert out["headers"]["link"] == ", ".join(LINKS)
    assert out["headers"]["vary"] == "Origin, Cookie"


def test_alb_multi_value_mode_sends_every_set_cookie_in_order() -> None:
    out = _call(load("alb_multi_value.json"))
    assert "headers" not in out
    assert out["multiValueHeaders"]["set-cookie"] == COOKIES
    assert out["multiValueHeaders"]["link"] == LINKS


@pytest.mark.parametrize("fixture", ["sam_alb.json", "vpc_lattice_v1.json", "vpc_lattice_v2.json"])
def test_a_single_value_response_keeps_the_last_set_cookie_and_says_so(
    fixture: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """An ALB target group without multi-value headers, and VPC Lattice, take one value per
    header name: the cookies that cannot travel are named in a warning instead of vanishing."""
    out = _call(load(fixture))
    assert "multiValueHeaders" not in out
    assert out["headers"]["set-cookie"] == COOKIES[-1]
    assert out["headers"]["link"] == ", ".join(LINKS)
    written = capsys.readouterr()
    lines = [json.loads(line) for line in (written.out + written.err).splitlines() if line]
    [warning] = [line for line in lines if line.get("severity") == "WARNING"]
    assert warning["dropped"] == ["sid", "theme"]
    assert "multi-value headers" in warning["message"]
