# SPDX-License-Identifier: Apache-2.0
"""The HTTP function handler: API Gateway v2 / function URL, ALB, API Gateway v1 and VPC
Lattice shapes in, the same shape out (the native shape is inferred per call: one function may
sit behind several).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from portable_fn.adapter import NO_CONTENT, dispatch_http, unsendable
from portable_fn.errors import EventDecodeError, HTTPError
from portable_fn.http import Request, Response
from portable_fn.log import Logger
from portable_fn_aws import alb, apigw_v1, apigw_v2
from portable_fn_aws._handler import Handler, context_for
from portable_fn_aws._http_out import MAX_BYTES_PER_CHAR, too_large, without_content

if TYPE_CHECKING:
    from portable_fn.app import App


_INTERNAL_ERROR = Response.json(HTTPError("internal server error", status=500).body(), status=500)
# The most JSON a synchronous invocation may return (Lambda quotas, "Invocation payload":
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html) and the most an ALB
# takes from its Lambda target ("Limits":
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html).
# Over them the client gets the front end's own non-JSON 502.
_LAMBDA_LIMIT = 6 * 1024 * 1024
_ALB_LIMIT = 1024 * 1024
# The body lengths from which the JSON could reach them (``too_large`` measures it then).
_LAMBDA_CHARS = _LAMBDA_LIMIT // MAX_BYTES_PER_CHAR
_ALB_CHARS = _ALB_LIMIT // MAX_BYTES_PER_CHAR


# The header map of the last response found sendable: handlers mostly return the core's one
# shared JSON map, and the hot path compares identities instead of calling the check.
_sent_headers: list[object] = [None]
# Statuses the check must see whatever the headers: interim ones, and those without content.
_CHECKED_STATUSES = frozenset(range(100, 200)) | NO_CONTENT


def _sendable(response: Response, name: str) -> Response:
    """``response`` as HTTP can carry it: no body on a status that has none, and the JSON 500
    for one no front end could send (the reason goes to the log)."""
    problem = unsendable(response)
    if problem is not None:
        Logger({"function": name}).error("the handler's response cannot be sent", reason=problem)
        return _INTERNAL_ERROR
    _sent_headers[0] = response.headers
    return without_content(response)


def _too_large(limit: int) -> Response:
    message = f"response too large: the limit is {limit // (1024 * 1024)} MB of JSON"
    return Response.json(HTTPError(message, status=500).body(), status=500)


def _bad_request(exc: Exception, name: str) -> Response:
    if not isinstance(exc, EventDecodeError):  # a shape no codec check anticipated: log it
        Logger({"function": name}).exception("malformed HTTP event", exc=exc)
        # Python's own words about it ("'NoneType' object has no attribute 'get'") are for
        # the log, not the client: the answer names no internals.
        return Response.json(HTTPError("malformed HTTP event", status=400).body(), status=400)
    # The message may quote the event; escape what UTF-8 cannot carry (lone surrogates).
    message = str(exc).encode("utf-8", "backslashreplace").decode("utf-8")
    return Response.json(HTTPError(message, status=400).body(), status=400)


def _authorizer(
    event: dict[str, Any],
    from_response: Callable[[Response, dict[str, Any] | None], dict[str, Any]],
) -> dict[str, Any]:
    """The answer to a Lambda authorizer's input, which carries the request it guards plus
    ``methodArn`` (REST API,
    https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-lambda-authorizer-input.html)
    or ``routeArn`` (HTTP API,
    https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html):
    no proxy event has either. Running the handler on it would run it twice per call (the
    authorizer, then the route), so it is a JSON 400 and nothing runs."""
    message = f"a Lambda authorizer event (type {event.get('type')!r}), not an HTTP request"
    return from_response(Response.json(HTTPError(message, status=400).body(), status=400), event)


def http_handler(app: App, name: str) -> Handler:
    v2_to, v2_from = apigw_v2.to_request, apigw_v2.from_response

    def handler(event: Any, context: Any) -> dict[str, Any]:
        to_request: Callable[[dict[str, Any]], Request]
        from_response: Callable[[Response, dict[str, Any] | None], dict[str, Any]]
        # HTTP API v2 and function URLs first: the shape the template deploys.
        limit, chars = _LAMBDA_LIMIT, _LAMBDA_CHARS
        if type(event) is dict and event.get("version") == "2.0":
            if "routeArn" in event:  # an HTTP API authorizer's input, in the same format
                return _authorizer(event, v2_from)
            # VPC Lattice's V2 events share the version and have a top-level method (inline:
            # this is every HTTP API invocation's path, vpc_lattice.matches_v2).
            if "method" in event:
                from portable_fn_aws import vpc_lattice  # loaded by the first Lattice event

                to_request, from_response = vpc_lattice.to_request, vpc_lattice.from_response
            else:  # Function URLs send this payload format too (function_url.py).
                to_request, from_response = v2_to, v2_from
        elif type(event) is dict and alb.matches(event):
            to_request, from_response = alb.to_request, alb.from_response
            limit, chars = _ALB_LIMIT, _ALB_CHARS
        elif type(event) is dict and apigw_v1.matches(event):
            if "methodArn" in event:  # a REST API authorizer's input
                return _authorizer(event, apigw_v1.from_response)
            to_request, from_response = apigw_v1.to_request, apigw_v1.from_response
        elif type(event) is dict and "raw_path" in event and "method" in event:  # Lattice V1
            from portable_fn_aws import vpc_lattice

            to_request, from_response = vpc_lattice.to_request, vpc_lattice.from_response
        else:
            error = HTTPError("not an HTTP event for this function", status=400)
            return v2_from(Response.json(error.body(), status=400), None)
        try:
            request = to_request(event)
        except Exception as exc:  # any malformed native shape is the client's 400
            return from_response(_bad_request(exc, name), event)
        try:
            response = dispatch_http(app, request, context_for(name, context, event), name)
            if response.headers is not _sent_headers[0] or response.status in _CHECKED_STATUSES:
                response = _sendable(response, name)
            out = from_response(response, event)
            body = out.get("body")
            if type(body) is str and len(body) >= chars and too_large(out, limit):
                Logger({"function": name}).error(
                    "the handler's response is over the payload limit", limit=limit
                )
                return from_response(_too_large(limit), event)
            return out
        except Exception as exc:  # the caller gets a JSON 500, never a traceback
            Logger({"function": name}).exception("could not answer the HTTP event", exc=exc)
            return from_response(_INTERNAL_ERROR, event)

    return handler
