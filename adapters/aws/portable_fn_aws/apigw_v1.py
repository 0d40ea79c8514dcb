# SPDX-License-Identifier: Apache-2.0
"""API Gateway REST API proxy integration (and HTTP API payload format 1.0, the same shape).

Request: https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format
Response: https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-output-format
``multiValueHeaders`` / ``multiValueQueryStringParameters`` hold every value; the single-valued
maps keep only the last, so the multi-value ones win when present.
A REST API sends ``path`` percent-encoded, as the client wrote it (localstack/localstack#7728
matched AWS on this); an HTTP API's payload 1.0 (``"version": "1.0"``, which REST events lack)
sends it decoded already (captures cited in middleapi/standard-server#93). ``Request.path`` is
decoded, so only the REST path is decoded here. Through a custom domain's base path mapping (or
an HTTP API's named stage) ``path`` starts with that prefix while ``resource`` is the route:
``_base_path`` strips it.
"""

from __future__ import annotations

from typing import Any

from portable_fn.http import Headers, QueryParams, Request, Response
from portable_fn_aws._base_path import routed_path
from portable_fn_aws._common import body_bytes, decode_error, decoded_path
from portable_fn_aws._http_out import body_out, grouped

TRIGGER = "apigateway-v1"


def matches(event: dict[str, Any]) -> bool:
    context = event.get("requestContext")
    return "httpMethod" in event and not (isinstance(context, dict) and "elb" in context)


def multi_headers(event: dict[str, Any]) -> Headers:
    multi = event.get("multiValueHeaders")
    if multi:
        return Headers.from_multi(multi)
    return Headers(event.get("headers") or {})


def to_request(event: dict[str, Any], trigger: str = TRIGGER) -> Request:
    method = event.get("httpMethod")
    if not isinstance(method, str):
        raise decode_error(trigger, "httpMethod", "is missing")
    multi_query = event.get("multiValueQueryStringParameters")
    if multi_query:
        query = QueryParams.from_multi(multi_query)
    else:
        query = QueryParams(event.get("queryStringParameters") or {})
    context = event.get("requestContext") or {}
    identity = context.get("identity") or {}
    path = routed_path(event.get("path") or "/", event.get("resource"), event.get("pathParameters"))
    if event.get("version") != "1.0":  # REST: still percent-encoded
        path = decoded_path(path)
    return Request(
        method=method,
        path=path,
        headers=multi_headers(event),
        query=query,
        body=body_bytes(event, trigger),
        client_ip=identity.get("sourceIp"),
    )


def from_response(response: Response, event: dict[str, Any] | None = None) -> dict[str, Any]:
    """Single values in ``headers``; a repeated header (Set-Cookie) only in ``multiValueHeaders``,
    since API Gateway merges the two maps and would otherwise send a value twice."""
    body, is_b64 = body_out(response)
    headers: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, values in grouped(response.headers).items():
        if len(values) == 1:
            headers[name] = values[0]
        else:
            multi[name] = list(values)
    out: dict[str, Any] = {
        "statusCode": response.status,
        "headers": headers,
        "body": body,
        "isBase64Encoded": is_b64,
    }
    if multi:
        out["multiValueHeaders"] = multi
    return out
