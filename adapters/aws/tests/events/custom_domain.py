# SPDX-License-Identifier: Apache-2.0
"""Build the custom-domain fixtures from the generated API Gateway samples.

What changes through a custom domain with a base path mapping (REST) or an API mapping key
(HTTP API), per the live captures in aws-powertools/powertools-lambda-python#579 and
localstack/localstack#12296: ``path`` / ``rawPath`` (and ``requestContext.path`` /
``requestContext.http.path``) start with the mapping's base path, while ``resource`` /
``requestContext.resourcePath`` / ``routeKey`` hold the route; ``domainName`` is the custom
domain. https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-mappings.html
Run after generate.sh: ``python custom_domain.py``.
"""

import json
from pathlib import Path

HERE = Path(__file__).parent
DOMAIN = "api.example.com"


def load(name: str) -> dict:
    return json.loads((HERE / name).read_text())


def dump(name: str, obj: dict) -> None:
    (HERE / name).write_text(json.dumps(obj, indent=2) + "\n")


def rest(resource: str, path: str, params: dict | None) -> dict:
    event = load("sam_apigw_v1.json")
    event.update(resource=resource, path=path, pathParameters=params)
    event["headers"]["Host"] = DOMAIN
    event["multiValueHeaders"]["Host"] = [DOMAIN]
    context = event["requestContext"]
    context.update(path=path, resourcePath=resource, domainName=DOMAIN, domainPrefix="api")
    return event


def http_api(route: str, path: str, params: dict) -> dict:
    event = load("sam_apigw_v2.json")
    event.update(routeKey=route, rawPath=path, pathParameters=params)
    context = event["requestContext"]
    context.update(routeKey=route, domainName=DOMAIN, domainPrefix="api")
    context["http"].update(method=route.split()[0], path=path)
    return event


dump("rest_custom_domain.json", rest("/orders/{order_id}", "/v1/orders/42", {"order_id": "42"}))
# A nested (multi-level) mapping in front of a greedy resource.
dump(
    "rest_custom_domain_proxy.json",
    rest("/orders/{proxy+}", "/shop/v1/orders/42/items/", {"proxy": "42/items"}),
)
dump("rest_custom_domain_root.json", rest("/", "/v1", None))
dump(
    "http_api_v2_custom_domain.json",
    http_api("GET /orders/{order_id}", "/v1/orders/42", {"order_id": "42"}),
)
