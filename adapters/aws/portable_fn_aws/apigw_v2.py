# SPDX-License-Identifier: Apache-2.0
"""API Gateway HTTP API, payload format 2.0 (also the shape Lambda function URLs use).

Request and response: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
(``rawPath``, ``rawQueryString``, ``cookies``, ``headers`` with repeated values comma-joined,
``requestContext.http.method``; responses carry ``cookies`` for Set-Cookie).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from portable_fn.http import Headers, QueryParams, Request, Response
from portable_fn_aws._common import LazyQuery, body_bytes, decode_error
from portable_fn_aws._http_out import body_out, grouped

TRIGGER = "apigateway-v2"
_NO_QUERY = QueryParams()  # immutable, so one shared instance serves every query-less request


def matches(event: dict[str, Any]) -> bool:
    return event.get("version") == "2.0"


def to_request(event: dict[str, Any], trigger: str = TRIGGER) -> Request:
    context: Any = event.get("requestContext")
    try:
        http = context["http"]
        method = http["method"]
    except (KeyError, TypeError):
        raise decode_error(trigger, "requestContext.http.method", "is missing") from None
    path = event.get("rawPath") or http.get("path") or "/"
    if "%" in path:
        path = unquote(path)
    stage = context.get("stage")
    # A named stage (not "$default") prefixes the path; routes are declared without it.
    if stage and stage != "$default" and path.startswith(f"/{stage}/"):
        path = path[len(stage) + 1 :]
    raw_headers = event.get("headers") or {}
    cookies = event.get("cookies")
    headers = (
        Headers([*raw_headers.items(), ("cookie", "; ".join(cookies))])
        if cookies
        else Headers(raw_headers)
    )
    raw_query = event.get("rawQueryString")
    return Request(
        method=method,
        path=path,
        headers=headers,
        query=QueryParams(LazyQuery(raw_query)) if raw_query else _NO_QUERY,
        body=body.encode("utf-8")
        if type(body := event.get("body")) is str and not event.get("isBase64Encoded")
        else body_bytes(event, trigger),
        client_ip=http.get("sourceIp"),
    )


def from_response(response: Response, event: dict[str, Any] | None = None) -> dict[str, Any]:
    """Format 2.0: repeated headers comma-joined (RFC 9110 5.3), Set-Cookie as ``cookies``."""
    body, is_b64 = body_out(response)
    headers: dict[str, str] = {}
    out: dict[str, Any] = {
        "statusCode": response.status,
        "headers": headers,
        "body": body,
        "isBase64Encoded": is_b64,
    }
    for name, values in grouped(response.headers).items():
        if name == "set-cookie":
            out["cookies"] = list(values)
        else:
            headers[name] = values[0] if len(values) == 1 else ", ".join(values)
    return out
