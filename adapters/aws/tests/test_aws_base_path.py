# SPDX-License-Identifier: Apache-2.0
"""API Gateway custom domains: the base path (REST) or API mapping key (HTTP API) before the route.

Fixtures: events/custom_domain.py builds them from the generated samples, changed as the live
captures in aws-powertools/powertools-lambda-python#579 and localstack/localstack#12296 show
(``path``/``rawPath`` carry the base path, ``resource``/``routeKey`` the route).
https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-mappings.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-mappings.html
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

import portable_fn as pf
from portable_fn_aws import apigw_v1, apigw_v2, lambda_handler
from portable_fn_aws._base_path import routed_path

from aws_fixtures import FakeLambdaContext, load


@pytest.mark.parametrize(
    ("fixture", "codec", "path"),
    [
        ("rest_custom_domain.json", apigw_v1, "/orders/42"),
        # A nested mapping (shop/v1) in front of a greedy resource; the trailing slash stays.
        ("rest_custom_domain_proxy.json", apigw_v1, "/orders/42/items/"),
        # The API's root resource through the mapping: GET https://api.example.com/v1
        ("rest_custom_domain_root.json", apigw_v1, "/"),
        ("http_api_v2_custom_domain.json", apigw_v2, "/orders/42"),
    ],
)
def test_custom_domain_base_path_is_not_part_of_the_route(
    fixture: str, codec: Any, path: str
) -> None:
    assert codec.to_request(load(fixture)).path == path


@pytest.mark.parametrize("fixture", ["rest_custom_domain.json", "http_api_v2_custom_domain.json"])
def test_custom_domain_request_reaches_its_route(fixture: str) -> None:
    """Routed before this fix as ``/v1/orders/42``: a 404 for every request via the domain."""
    app = pf.App("shop")

    @app.http("/orders/{order_id}", methods=["GET"])
    def get_order(req: pf.Request) -> dict[str, Any]:
        return {"id": req.path_params["order_id"]}

    out = lambda_handler(app, "get_order")(load(fixture), FakeLambdaContext())
    assert (out["statusCode"], out["body"]) == (200, '{"id":"42"}')


def test_http_api_route_whose_first_segment_is_the_stage_name_keeps_it() -> None:
    """Through a custom domain no stage segment is sent, so a route that starts with the stage's
    name (stage ``orders``, route ``/orders/{order_id}``) must not lose that segment: the
    template shows the path holds no prefix."""
    event = copy.deepcopy(load("http_api_v2_custom_domain.json"))
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/orders/42"
    event["requestContext"]["stage"] = "orders"
    assert apigw_v2.to_request(event).path == "/orders/42"


@pytest.mark.parametrize(
    ("path", "template", "params", "expected"),
    [
        ("/orders/42", "/orders/{id}", {"id": "42"}, "/orders/42"),  # no prefix
        ("/prod/orders", "/orders", None, "/orders"),  # a named stage (HTTP API)
        ("/a/b/orders/42", "/orders/{id}", {"id": "42"}, "/orders/42"),  # nested mapping
        ("/v1/other/42", "/orders/{id}", {"id": "42"}, "/v1/other/42"),  # literal mismatch
        ("/v1/x/y/z", "/{proxy+}", {"proxy": "x/y/z"}, "/x/y/z"),
        ("/x/y/z", "/{proxy+}", {"proxy": "x/y/z"}, "/x/y/z"),
        ("/v1/x", "/{proxy+}", None, "/v1/x"),  # no parameter to measure the greedy part
        ("/v1/caf%C3%A9", "/café", None, "/caf%C3%A9"),  # REST: segments still encoded
        ("/anything", "$default", None, "/anything"),
    ],
)
def test_routed_path(path: str, template: str, params: Any, expected: str) -> None:
    assert routed_path(path, template, params) == expected
