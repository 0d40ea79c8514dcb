# SPDX-License-Identifier: Apache-2.0
"""Lambda function URLs: the request and response use API Gateway's payload format 2.0.

https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads
A function URL event is told apart by its ``requestContext.domainName``
(``<url-id>.lambda-url.<region>.on.aws``); it has no stage prefix to strip, and unlike an HTTP
API's its ``rawPath`` keeps the client's percent-encoding, which ``apigw_v2`` undoes by that
same domain.
"""

from __future__ import annotations

from typing import Any

from portable_fn.http import Request, Response
from portable_fn_aws import apigw_v2

TRIGGER = "function-url"


def matches(event: dict[str, Any]) -> bool:
    context = event.get("requestContext")
    return (
        event.get("version") == "2.0"
        and isinstance(context, dict)
        and ".lambda-url." in str(context.get("domainName", ""))
    )


def to_request(event: dict[str, Any]) -> Request:
    return apigw_v2.to_request(event, TRIGGER)


def from_response(response: Response, event: dict[str, Any] | None = None) -> dict[str, Any]:
    return apigw_v2.from_response(response, event)
