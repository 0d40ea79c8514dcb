# SPDX-License-Identifier: Apache-2.0
"""Sample native events for ``portable-fn events aws KIND`` and ``invoke --event KIND``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from portable_fn.events import CloudEvent, to_json
from portable_fn.testing import http_request
from portable_fn_aws import native


def _order_event() -> str:
    event = CloudEvent.create(
        type="com.example.order.created",
        source="/portable-fn/shop/cli",
        data={"id": "o-1", "sku": "book"},
    )
    return to_json(event).decode()


def _http_v1() -> dict[str, Any]:
    return {
        "resource": "/orders/{order_id}",
        "path": "/orders/o-1",
        "httpMethod": "GET",
        "headers": {"accept": "application/json"},
        "multiValueHeaders": {"accept": ["application/json"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"order_id": "o-1"},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/orders/{order_id}",
            "httpMethod": "GET",
            "path": "/prod/orders/o-1",
            "stage": "prod",
            "identity": {"sourceIp": "127.0.0.1"},
            "requestId": "sample",
        },
        "body": None,
        "isBase64Encoded": False,
    }


def _alb() -> dict[str, Any]:
    return {
        "requestContext": {
            "elb": {
                "targetGroupArn": (
                    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop/0123"
                )
            }
        },
        "httpMethod": "GET",
        "path": "/orders/o-1",
        "queryStringParameters": {},
        "headers": {"accept": "application/json", "x-forwarded-for": "203.0.113.7"},
        "body": "",
        "isBase64Encoded": False,
    }


def _vpc_lattice() -> dict[str, Any]:
    """A V2 event (the structure a new target group is set to)."""
    return {
        "version": "2.0",
        "path": "/orders/o-1",
        "method": "GET",
        "headers": {"accept": ["application/json"], "x-forwarded-for": ["10.0.2.100"]},
        "queryStringParameters": {},
        "body": "",
        "isBase64Encoded": False,
        "requestContext": {
            "serviceArn": "arn:aws:vpc-lattice:us-east-1:123456789012:service/svc-0123",
            "targetGroupArn": "arn:aws:vpc-lattice:us-east-1:123456789012:targetgroup/tg-0123",
            "region": "us-east-1",
            "timeEpoch": "1710270238000123",
        },
    }


def _function_url() -> dict[str, Any]:
    event = native.http_v2(http_request("GET", "/orders/o-1"))
    event["requestContext"]["domainName"] = "abcdefg.lambda-url.us-east-1.on.aws"
    return event


SAMPLES: dict[str, Callable[[], Any]] = {
    "http": lambda: native.http_v2(http_request("POST", "/orders", json={"sku": "book"})),
    "http-v1": _http_v1,
    "alb": _alb,
    "function-url": _function_url,
    "vpc-lattice": _vpc_lattice,
    "sqs": lambda: {"Records": [native.sqs_record(_order_event(), queue="fulfilment")]},
    "sqs-fifo": lambda: {
        "Records": [
            native.sqs_record(
                '{"id": "o-1", "sku": "book"}', queue="orders.fifo", group="customer-1"
            )
        ]
    },
    "sns": lambda: native.sns_event(_order_event(), topic="order-events"),
    "sns-sqs": lambda: {
        "Records": [
            native.sqs_record(
                native.json_text(native.sns_message(_order_event(), topic="order-events")),
                queue="inbox",
            )
        ]
    },
    "s3": lambda: {
        "Records": [
            native.s3_record(
                bucket="uploads", key="photos/cat.jpg", size=1024, etag="0123abcd", action="created"
            )
        ]
    },
    "s3-delete": lambda: {
        "Records": [
            native.s3_record(
                bucket="uploads", key="photos/cat.jpg", size=None, etag=None, action="deleted"
            )
        ]
    },
    "eventbridge": lambda: native.eventbridge_event(
        "com.example.invoice.paid", "billing.example.com", {"invoice_id": "inv-9"}
    ),
    "eventbridge-s3": lambda: native.eventbridge_event(
        "Object Created",
        "aws.s3",
        {
            "version": "0",
            "bucket": {"name": "uploads"},
            "object": {"key": "photos/cat.jpg", "size": 1024, "etag": "0123abcd"},
            "reason": "PutObject",
        },
    ),
    "schedule": lambda: native.scheduled_event(datetime.now(timezone.utc), "nightly"),
    "kinesis": lambda: {"Records": [native.kinesis_record(b'{"click": 1}')]},
    "dynamodb": lambda: {"Records": [_dynamodb_insert()]},
}


def _dynamodb_insert() -> dict[str, Any]:
    """A DynamoDB Streams INSERT of an order, NEW_AND_OLD_IMAGES, as the docs' sample
    (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html#services-ddb-params)."""
    return {
        "eventID": "c4ca4238a0b923820dcc509a6f75849b",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1428537600,
            "Keys": {"id": {"S": "o-1"}},
            "NewImage": {"id": {"S": "o-1"}, "sku": {"S": "book"}, "qty": {"N": "2"}},
            "SequenceNumber": "4421584500000000017450439091",
            "SizeBytes": 26,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/"
        "2015-06-27T00:48:05.899",
    }
