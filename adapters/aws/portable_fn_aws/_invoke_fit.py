# SPDX-License-Identifier: Apache-2.0
"""``portable-fn invoke --provider aws``: refuse an event no deployment would send the function.

Lambda runs whatever it is handed, so a schedule function given an SQS batch runs (its handler
reads a "now" schedule) and an HTTP function given a DynamoDB record answers a 400, both
reported as success: a mistake in the invocation, not the function's result. As the Azure
adapter does, such an event is a usage error naming the samples that fit. A payload of no
known source shape stays allowed for a schedule: ``aws lambda invoke`` with a custom payload
runs a scheduled function by hand, as EventBridge Scheduler's own input does
(https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-templated.html).
A request that is not for the function's own route (``POST /orders`` given to ``GET
/orders/{id}``) is refused too, as the Cloudflare adapter refuses it: the template gives each
route its own HTTP API route to its own function
(https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-httpapi.html),
so no other request reaches it. Tooling only: the deployed handler never calls this.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from portable_fn._routing import compile_route, match_route
from portable_fn.adapter import article, sample_refused
from portable_fn.triggers import Event, Http, Queue, Schedule, Storage, Stream, Topic
from portable_fn_aws import alb, apigw_v1, eventbridge

if TYPE_CHECKING:
    from portable_fn.http import Request

# The source a batch record names (``eventSource``; SNS spells it ``EventSource``).
_RECORD_SOURCES = {
    "aws:sqs": "sqs",
    "aws:sns": "sns",
    "aws:s3": "s3",
    "aws:kinesis": "kinesis",
    "aws:dynamodb": "dynamodb",
}
# What reaches a function of each trigger in a deployment (README "Event sources"); None is a
# payload of no known shape. Storage and event functions may read through SQS or SNS (a body
# carrying an S3 or EventBridge event), which only decoding the body tells apart.
_FITS: dict[type, frozenset[str | None]] = {
    Http: frozenset({"http"}),
    Schedule: frozenset({"schedule", None}),
    Queue: frozenset({"sqs"}),
    Topic: frozenset({"sqs", "sns"}),
    Storage: frozenset({"s3", "eventbridge-s3", "sqs", "sns"}),
    Event: frozenset({"eventbridge", "eventbridge-s3", "sqs", "sns"}),
    Stream: frozenset({"kinesis", "dynamodb"}),
}


def kind(event: Any) -> str | None:
    """The source a native event comes from, by its shape; None when it is none of them."""
    if type(event) is dict:
        if event.get("version") == "2.0" or alb.matches(event) or apigw_v1.matches(event):
            return "http"  # HTTP API, function URL, VPC Lattice V2, ALB, REST API
        if "raw_path" in event and "method" in event:  # VPC Lattice V1
            return "http"
        if eventbridge.matches(event):
            if event.get("detail-type") == eventbridge.SCHEDULE_TYPE:
                return "schedule"
            return "eventbridge-s3" if event.get("source") == "aws.s3" else "eventbridge"
        records = event.get("Records")
    else:
        records = event  # an EventBridge Pipes batch is a bare array of records
    if type(records) is list and records and type(records[0]) is dict:
        first = records[0]
        return _RECORD_SOURCES.get(str(first.get("eventSource") or first.get("EventSource")))
    return None


def check(trigger: Any, function: str, event: Any, samples: Mapping[str, Any]) -> None:
    """Raise ``ConfigurationError`` (a usage error) when ``event`` cannot reach ``function``."""
    fits = next((f for t, f in _FITS.items() if isinstance(trigger, t)), None)
    given = kind(event)
    if fits is None or given is None:
        return
    fitting = [
        name for name, sample in samples.items()
        if kind(sample) in fits and _off_route(trigger, sample) is None
    ]
    if given not in fits:
        raise sample_refused(
            f"function {function!r} is {article(trigger.kind)} {trigger.kind} function; the "
            f"event is {article(given)} {given} event",
            fitting,
        )
    off = _off_route(trigger, event)
    if off is not None:
        methods = "|".join(trigger.methods)
        raise sample_refused(
            f"the sample's {off[0]} {off[1]} is not a request for {function!r} ({methods} "
            f"{trigger.path}): give an event whose path and method reach it",
            fitting,
        )


def _off_route(trigger: Any, event: Any) -> tuple[str, str] | None:
    """``(method, path)`` of an HTTP event that the function's route does not take; None when it
    does, or the event is no request. A deployed HTTP API routes by method and path itself and
    sends a function only its own route's requests (a HEAD too for a GET route; README
    "Failures"): another route's request goes to that function, any other gets API Gateway's
    own 404."""
    if not isinstance(trigger, Http):
        return None
    line = _request_line(event)
    if line is None:
        return None
    method, path = line
    allowed = method in trigger.methods or (method == "HEAD" and "GET" in trigger.methods)
    if allowed and match_route(compile_route(trigger.path), path.rstrip("/") or "/") is not None:
        return None
    return line


def _request_line(event: Any) -> tuple[str, str] | None:
    """``(method, path)`` of an HTTP event as its handler reads them (the codec the handler
    picks, ``_http_handler``: the path without a stage or base path mapping, decoded once);
    None for another event, an authorizer's input, or one the codec cannot read (its 400)."""
    if kind(event) != "http" or "routeArn" in event or "methodArn" in event:
        return None
    to_request: Callable[[dict[str, Any]], Request]
    if "method" in event:  # VPC Lattice, V1 or V2
        from portable_fn_aws import vpc_lattice

        to_request = vpc_lattice.to_request
    elif event.get("version") == "2.0":  # HTTP API, function URL
        from portable_fn_aws import apigw_v2

        to_request = apigw_v2.to_request
    elif alb.matches(event):
        to_request = alb.to_request
    else:
        to_request = apigw_v1.to_request
    try:
        request = to_request(event)
    except Exception:  # any malformed shape: the handler's own 400, not a routing question
        return None
    return request.method, request.path
