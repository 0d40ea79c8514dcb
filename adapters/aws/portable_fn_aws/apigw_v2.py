# SPDX-License-Identifier: Apache-2.0
"""API Gateway HTTP API, payload format 2.0 (also the shape Lambda function URLs use).

Request and response: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
(``rawPath``, ``rawQueryString``, ``cookies``, ``headers`` with repeated values comma-joined,
``requestContext.http.method``; responses carry ``cookies`` for Set-Cookie).
An HTTP API hands ``rawPath`` over decoded already (honojs/hono#2156; captures cited in
middleapi/standard-server#93), so it is used as it is; a function URL's ``rawPath`` is still
percent-encoded (``function_url``) and is decoded once. A named stage (not ``$default``)
prefixes the path, ``/<stage>`` alone being the stage's root; so does a custom domain's API
mapping key, which the ``routeKey``'s template tells apart from the route (``_base_path``).
"""

from __future__ import annotations

from typing import Any

from portable_fn._memo import LastConverted
from portable_fn.http import Headers, QueryParams, Request, Response
from portable_fn_aws._base_path import routed_path
from portable_fn_aws._common import LazyQuery, body_bytes, decode_error, decoded_path
from portable_fn_aws._http_out import encode_body, textual

TRIGGER = "apigateway-v2"
# The marker of a function URL's domain (<url-id>.lambda-url.<region>.on.aws).
_FUNCTION_URL = ".lambda-url."
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
    if "%" in path and _FUNCTION_URL in str(context.get("domainName", "")):
        path = decoded_path(path)  # function URLs keep the client's encoding; HTTP APIs do not
    route_key = event.get("routeKey")
    # The common case: the route is the path as sent ("POST /orders" for "/orders"), so no
    # stage or mapping key precedes it and nothing else is looked at.
    if type(route_key) is not str or not route_key.endswith(path):
        path = _unprefixed(path, route_key, context.get("stage"), event)
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


def _unprefixed(path: str, route_key: Any, stage: Any, event: dict[str, Any]) -> str:
    """``path`` without what API Gateway put before the route: a custom domain's API mapping
    key or a named stage. The route's template (``routeKey`` after the method) says how much of
    the path is the route (``_base_path``); a ``$default`` route has none, and only a named
    stage (not ``$default``), ``/<stage>`` alone being its root, is stripped."""
    template = route_key.partition(" ")[2] if type(route_key) is str else ""
    if template[:1] == "/":
        return routed_path(path, template, event.get("pathParameters"))
    if stage and stage != "$default" and path.startswith(f"/{stage}"):
        rest = path[len(stage) + 1 :]
        if not rest:
            return "/"
        if rest[0] == "/":
            return rest
    return path


_Parts = tuple[dict[str, str], list[str] | None, bool]


def _convert(response: Response) -> _Parts:
    """The v2 pieces of a response's header map: joined headers, cookies, and whether the body
    travels as text (``textual``: decided by the content type alone)."""
    joined: dict[str, str] = {}
    cookies: list[str] | None = None
    for name, values in response.headers.to_multi().items():
        if name == "set-cookie":
            cookies = list(values)
        else:
            joined[name] = values[0] if len(values) == 1 else ", ".join(values)
    return joined, cookies, textual(response)


# Handlers mostly return the core's shared JSON header map: its pieces are worked out once.
_parts: LastConverted[Response, _Parts] = LastConverted(_convert)


def from_response(response: Response, event: dict[str, Any] | None = None) -> dict[str, Any]:
    """Format 2.0: repeated headers comma-joined (RFC 9110 5.3), Set-Cookie as ``cookies``."""
    joined, cookies, as_text = _parts(response.headers, response)
    body, is_b64 = encode_body(response.body, as_text)
    out: dict[str, Any] = {
        "statusCode": response.status,
        "headers": dict(joined),  # a copy: the caller owns what it is handed
        "body": body,
        "isBase64Encoded": is_b64,
    }
    if cookies:
        out["cookies"] = list(cookies)
    return out
