"""VPC Lattice target-group events through the real Lambda handler the generated entry uses.

Fixtures (events/vpc_lattice_v1.json, events/vpc_lattice_v2.json) are shaped as the VPC Lattice
user guide shows the two event structures
(https://docs.aws.amazon.com/vpc-lattice/latest/ug/lambda-functions.html#receive-event-from-service):
V1 snake_case with one string per header and query parameter, V2 camelCase with lists and a
``requestContext``. The one stand-in is ``FakeLambdaContext`` (aws_fixtures.py): awslambdaric's
real context needs the runtime process.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import portable_fn as pf
from portable_fn_aws import lambda_handler

from aws_fixtures import FakeLambdaContext, load


def _app() -> pf.App:
    app = pf.App("lattice")

    @app.http("/orders/{order_id}", methods=["POST"])
    def create(req: pf.Request) -> pf.Response:
        return pf.Response.json(
            {
                "order_id": req.path_params["order_id"],
                "path": req.path,
                "tags": req.headers.getall("x-tag"),
                "query": req.query.to_multi(),
                "order": req.json(),
                "client_ip": req.client_ip,
            },
            status=201,
            headers=[("set-cookie", "a=1"), ("set-cookie", "b=2"), ("x-v", "1"), ("x-v", "2")],
        )

    return app


def _call(event: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = lambda_handler(_app(), "create")(event, FakeLambdaContext())
    return out


@pytest.mark.parametrize(
    ("fixture", "tags", "query"),
    [
        # V2: every value of a repeated header or parameter, as its lists hold them.
        ("vpc_lattice_v2.json", ["red", "blue"], {"expand": ["items"], "tag": ["a", "b"]}),
        # V1: a repeated header comma-joined and only the last value of a parameter, as sent.
        ("vpc_lattice_v1.json", ["red, blue"], {"expand": ["items"], "tag": ["b"]}),
    ],
)
def test_lattice_request_reaches_the_handler(
    fixture: str, tags: list[str], query: dict[str, list[str]]
) -> None:
    out = _call(load(fixture))
    assert out["statusCode"] == 201
    seen = json.loads(out["body"])
    assert seen == {
        "order_id": "42 b",  # the client's percent-encoded path, decoded once
        "path": "/orders/42 b",
        "tags": tags,
        "query": query,
        "order": {"sku": "book", "n": 2},  # V1's base64 body (is_base64_encoded) undone
        "client_ip": "10.0.2.100",
    }


@pytest.mark.parametrize("fixture", ["vpc_lattice_v2.json", "vpc_lattice_v1.json"])
def test_lattice_response_is_the_documented_shape(fixture: str) -> None:
    """statusCode, statusDescription, single-value headers, body, isBase64Encoded
    (https://docs.aws.amazon.com/vpc-lattice/latest/ug/lambda-functions.html#respond-to-service);
    a repeated header goes comma-joined, Set-Cookie the last (its dates hold commas)."""
    out = _call(load(fixture))
    assert set(out) == {"statusCode", "statusDescription", "headers", "body", "isBase64Encoded"}
    assert out["statusDescription"] == "201 Created"
    assert out["headers"]["x-v"] == "1, 2"
    assert out["headers"]["set-cookie"] == "b=2"
    assert all(type(value) is str for value in out["headers"].values())


def test_a_v2_event_is_not_taken_for_an_http_api_event() -> None:
    """Both say ``"version": "2.0"``; reading Lattice's as API Gateway's answered a 400 naming
    ``requestContext.http.method``, which a Lattice event never has."""
    out = _call(load("vpc_lattice_v2.json"))
    assert out["statusCode"] == 201, out


@pytest.mark.parametrize(
    ("fixture", "field", "value"),
    [
        ("vpc_lattice_v2.json", "headers", {"x-tag": [1]}),
        ("vpc_lattice_v2.json", "queryStringParameters", ["tag"]),
        ("vpc_lattice_v1.json", "raw_path", 7),
        ("vpc_lattice_v2.json", "method", None),
    ],
)
def test_a_malformed_lattice_event_is_a_json_400(fixture: str, field: str, value: Any) -> None:
    event = load(fixture)
    event[field] = value
    out = _call(event)
    assert out["statusCode"] == 400
    body = json.loads(out["body"])
    assert body["error"]["status"] == 400 and field in body["error"]["message"]
    assert "Traceback" not in out["body"]


def test_a_query_given_in_the_path_is_read_from_there() -> None:
    """A path that carries its query (no parameter map sent) still has its parameters."""
    event = load("vpc_lattice_v1.json")
    event["raw_path"] = "/orders/7?tag=x&tag=y"
    del event["query_string_parameters"]
    seen = json.loads(_call(event)["body"])
    assert seen["path"] == "/orders/7" and seen["query"] == {"tag": ["x", "y"]}


def test_client_ip_is_the_entry_lattice_appended_not_what_the_client_sent() -> None:
    """A client may send its own X-Forwarded-For; the service appends the address it saw
    (https://docs.aws.amazon.com/vpc-lattice/latest/ug/http-targets.html): that last entry is
    the client, the first is anyone's claim."""
    event = load("vpc_lattice_v2.json")
    event["headers"]["x-forwarded-for"] = ["198.51.100.66, 10.0.2.100"]
    assert json.loads(_call(event)["body"])["client_ip"] == "10.0.2.100"


def test_a_query_in_the_path_wins_over_v1s_map_of_last_values() -> None:
    """V1's ``query_string_parameters`` holds one value a name; the path's query has them all,
    decoded once (``%2B`` is a plus, ``+`` a space)."""
    event = load("vpc_lattice_v1.json")
    event["raw_path"] = "/orders/7?tag=x&tag=y&q=a%2Bb+c"
    event["query_string_parameters"] = {"tag": "y", "q": "a+b c"}
    seen = json.loads(_call(event)["body"])
    assert seen["query"] == {"tag": ["x", "y"], "q": ["a+b c"]}
