# SPDX-License-Identifier: Apache-2.0
"""Amazon VPC Lattice target-group events, both event structure versions.

https://docs.aws.amazon.com/vpc-lattice/latest/ug/lambda-functions.html#receive-event-from-service
https://docs.aws.amazon.com/lambda/latest/dg/services-vpc-lattice.html
- V1 (the target group's default): snake_case members, ``raw_path``, one string per header
  (repeats comma-joined) and per query parameter (the last one sent);
- V2 (``"version": "2.0"``): camelCase, ``path``, a list of values per header and per query
  parameter, and a ``requestContext`` naming the service, target group and caller.

The path is the client's, still percent-encoded as on an ALB (``raw_path``), and decoded here
once. Query values are handed over as the event carries them. A V2 event shares its
``"version": "2.0"`` with API Gateway's payload format 2.0, from which its top-level
``method`` tells it apart (``_http_handler`` tests that, and V1's ``raw_path``, before loading
this module: only a function behind Lattice loads it). The response is one shape for both versions
(https://docs.aws.amazon.com/vpc-lattice/latest/ug/lambda-functions.html#respond-to-service):
``statusCode``, ``statusDescription``, single-value ``headers``, ``body``, ``isBase64Encoded``,
the same as an ALB's single-value mode, whose writer it reuses.
"""

from __future__ import annotations

from typing import Any

from portable_fn.http import Headers, QueryParams, Request, Response
from portable_fn_aws import alb
from portable_fn_aws._common import body_bytes, decode_error, decoded_path

TRIGGER = "vpc-lattice"


def _pairs(members: Any, field: str) -> list[tuple[str, str]]:
    """Name/value pairs from a V1 map of strings or a V2 map of lists of strings."""
    if members is None:
        return []
    if type(members) is not dict:
        raise decode_error(TRIGGER, field, "must be an object")
    pairs: list[tuple[str, str]] = []
    for name, value in members.items():
        if type(value) is str:
            pairs.append((name, value))
        elif type(value) is list and all(type(item) is str for item in value):
            pairs.extend((name, item) for item in value)
        else:
            raise decode_error(TRIGGER, f"{field}.{name}", "must be a string or a list of them")
    return pairs


def to_request(event: dict[str, Any]) -> Request:
    method = event.get("method")
    if type(method) is not str or not method:
        raise decode_error(TRIGGER, "method", "is missing")
    v2 = event.get("version") == "2.0"
    path = event.get("path" if v2 else "raw_path") or "/"
    if type(path) is not str:
        raise decode_error(TRIGGER, "path" if v2 else "raw_path", "must be a string")
    path, _, query = path.partition("?")  # a path given with its query: the query is its own
    query_field = "queryStringParameters" if v2 else "query_string_parameters"
    params = _pairs(event.get(query_field), query_field)
    headers = Headers(_pairs(event.get("headers"), "headers"))
    if not v2 and "is_base64_encoded" in event:  # V1's spelling, which body_bytes reads as V2's
        event = {"body": event.get("body"), "isBase64Encoded": event["is_base64_encoded"]}
    return Request(
        method=method,
        path=decoded_path(path or "/"),
        headers=headers,
        # The query in the path, when there is one, is every value as sent; V1's map keeps the
        # last of a repeated name (and Powertools' `raw_path` says it holds the query).
        query=QueryParams.from_string(query) if query else QueryParams(params),
        body=body_bytes(event, TRIGGER),
        # Lattice adds the client that called the service to X-Forwarded-For, as an ALB does
        # (https://docs.aws.amazon.com/vpc-lattice/latest/ug/http-targets.html).
        client_ip=alb.appended_client(headers),
    )


def from_response(response: Response, event: dict[str, Any] | None = None) -> dict[str, Any]:
    return alb.from_response(response, None)  # None: the single-value header mode
