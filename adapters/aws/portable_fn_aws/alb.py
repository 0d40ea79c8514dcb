# SPDX-License-Identifier: Apache-2.0
"""Application Load Balancer target-group events, single- and multi-value header modes.

https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html
The ALB passes the path and query strings exactly as the client sent them (still
percent-encoded; ``Request.path`` and the query are decoded here) and expects
the response in the same header mode as the request: ``multiValueHeaders`` when the target
group has multi-value headers enabled, else ``headers``; plus a ``statusDescription``. In
multi-value mode the load balancer "might send the headers to the client in a different order
than the order specified in the Lambda response payload" (same page, "Responses with multi-value
headers"): several Set-Cookie are handed over in the handler's order, which the ALB may not keep.
"""

from __future__ import annotations

from typing import Any

from portable_fn.http import Headers, QueryParams, Request, Response
from portable_fn_aws._common import body_bytes, decode_error, decoded_path
from portable_fn_aws._http_out import body_out, grouped
from portable_fn_aws.apigw_v1 import multi_headers

TRIGGER = "alb"
# Reason phrases (RFC 9110 section 15) for statusDescription; written out because importing
# http.HTTPStatus builds an enum, which costs milliseconds of cold start.
_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    206: "Partial Content",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    304: "Not Modified",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    410: "Gone",
    412: "Precondition Failed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def matches(event: dict[str, Any]) -> bool:
    context = event.get("requestContext")
    return isinstance(context, dict) and "elb" in context


def _query(event: dict[str, Any]) -> QueryParams:
    multi = event.get("multiValueQueryStringParameters")
    single: Any = None if multi else event.get("queryStringParameters")
    if not multi and not single:
        return QueryParams([])
    # urllib.parse (with ipaddress, 2 ms) loads for a query only, as in _common: imported with
    # the module, it was in the first HTTP invocation of every cold start, ALB or not.
    from urllib.parse import unquote_plus

    if multi:
        return QueryParams(
            [(unquote_plus(k), unquote_plus(v)) for k, values in multi.items() for v in values]
        )
    return QueryParams([(unquote_plus(k), unquote_plus(v)) for k, v in single.items()])


def to_request(event: dict[str, Any]) -> Request:
    method = event.get("httpMethod")
    if not isinstance(method, str):
        raise decode_error(TRIGGER, "httpMethod", "is missing")
    headers = multi_headers(event)
    return Request(
        method=method,
        path=decoded_path(event.get("path") or "/"),
        headers=headers,
        query=_query(event),
        body=body_bytes(event, TRIGGER),
        client_ip=appended_client(headers),
    )


def appended_client(headers: Headers) -> str | None:
    """The client the load balancer itself saw: the last ``X-Forwarded-For`` entry, which it
    appends (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/x-forwarded-headers.html,
    the default ``append`` mode). The entries before it are whatever the client sent, which
    anyone can write: a rate limit or an audit keyed on the first would trust the caller."""
    forwarded = headers.get("x-forwarded-for")
    if not forwarded:
        return None
    last = forwarded.rpartition(",")[2].strip()
    return last or None


def from_response(response: Response, event: dict[str, Any] | None = None) -> dict[str, Any]:
    body, is_b64 = body_out(response)
    status = response.status
    out: dict[str, Any] = {
        "statusCode": status,
        "statusDescription": f"{status} {_REASONS.get(status, '')}".rstrip(),
        "body": body,
        "isBase64Encoded": is_b64,
    }
    multi = grouped(response.headers)
    if event is not None and "multiValueHeaders" in event:
        out["multiValueHeaders"] = {name: list(values) for name, values in multi.items()}
    else:
        # Single-value mode cannot repeat a header (the ALB keeps the last): a list-valued
        # header travels as one comma-joined line (RFC 9110 section 5.3), which loses nothing.
        # Set-Cookie cannot be joined (its dates hold commas): the last, as the ALB would keep.
        out["headers"] = {
            name: values[-1] if name == "set-cookie" or len(values) == 1 else ", ".join(values)
            for name, values in multi.items()
        }
        cookies = multi.get("set-cookie")
        if cookies is not None and len(cookies) > 1:
            _dropped(cookies[:-1])
    return out


def _dropped(cookies: list[str]) -> None:
    """Say which cookies a single-value response could not carry: the client never sees them,
    and nothing else would tell the developer why a session cookie went missing."""
    from portable_fn.log import Logger  # only for a response that sets several cookies

    Logger({"provider": "aws"}).warning(
        "the response sets several cookies but its header map holds one value per name: only "
        "the last is sent; enable multi-value headers on the ALB target group "
        "(lambda.multi_value_headers.enabled) to send every one (VPC Lattice has no such mode)",
        dropped=[cookie.partition("=")[0].strip() for cookie in cookies],
    )
