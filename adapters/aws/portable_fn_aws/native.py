# SPDX-License-Identifier: Apache-2.0
"""Builders of native Lambda events, shaped as AWS documents them (tooling and tests).

Used by ``portable-fn events aws KIND``, by ``invoke``, and by the contract-suite harness to
deliver events the way they reach a deployed function: published CloudEvents in structured
mode (SQS body, SNS Message, EventBridge detail). Shapes follow the pages each codec cites.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus, urlencode

from portable_fn.events import format_time, new_id
from portable_fn.http import Request
from portable_fn_aws._limits import DEFAULT_MEMORY, DEFAULT_TIMEOUT, memory_of, timeout_of

if TYPE_CHECKING:
    from portable_fn.app import App

REGION = "us-east-1"
ACCOUNT = "123456789012"


class InvokeContext:
    """A Lambda context for running a handler outside Lambda (``portable-fn invoke``, tests);
    in Lambda the runtime passes its own. ``for_function`` gives one as the template
    configures that function (its own timeout and memory, else the defaults)."""

    def __init__(
        self,
        function_name: str = "local",
        timeout_ms: int = DEFAULT_TIMEOUT * 1000,
        memory_mb: int = DEFAULT_MEMORY,
    ) -> None:
        self.aws_request_id = new_id()
        self.function_name = function_name
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        # Named as awslambdaric's LambdaContext names it, which the adapter reads directly.
        self._epoch_deadline_time_in_ms = int((time.time() + timeout_ms / 1000) * 1000)

    @classmethod
    def for_function(cls, app: App, function: str) -> InvokeContext:
        """The context Lambda would hand ``function`` as packaged: its deadline its own
        ``timeout`` from now, its ``memory_limit_in_mb`` its own ``memory``."""
        limits = app.function(function).limits
        return cls(function, timeout_of(limits) * 1000, memory_of(limits))

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._epoch_deadline_time_in_ms - int(time.time() * 1000))


def http_v2(request: Request) -> dict[str, Any]:
    """An HTTP API payload 2.0 event for ``request`` (cookies split out, repeats comma-joined,
    the path decoded as HTTP API sends it)."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers.items():
        if name == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
        elif name in headers:
            headers[name] += "," + value
        else:
            headers[name] = value
    try:
        body, encoded = request.body.decode("utf-8"), False
    except UnicodeDecodeError:
        body, encoded = base64.b64encode(request.body).decode("ascii"), True
    now = datetime.now(timezone.utc)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        # HTTP API hands the path over decoded (apigw_v2), so it goes in as the request has it.
        "rawPath": request.path,
        "rawQueryString": urlencode(request.query.items()),
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "local",
            "domainName": "local.execute-api",
            "domainPrefix": "local",
            "requestId": new_id(),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.client_ip or "127.0.0.1",
                "userAgent": "portable-fn",
            },
        },
        "isBase64Encoded": encoded,
    }
    if cookies:
        event["cookies"] = cookies
    if body:
        event["body"] = body
    return event


def sqs_record(
    body: str,
    *,
    queue: str = "queue",
    receive_count: int = 1,
    group: str | None = None,
    sequence: int | None = None,
    deduplication_id: str | None = None,
) -> dict[str, Any]:
    """An SQS record; with ``group``, a FIFO queue's (``queue`` should then end in ``.fifo``):
    its MessageGroupId, MessageDeduplicationId and SequenceNumber, which SQS writes as 20
    digits and increases within a group (``sequence``, default the clock). A batch of several
    messages should pass increasing ``sequence`` numbers: the clock may repeat.
    https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#sample-fifo-queues-message-event
    """
    now = str(int(time.time() * 1000))
    attributes = {
        "ApproximateReceiveCount": str(receive_count),
        "SentTimestamp": now,
        "SenderId": ACCOUNT,
        "ApproximateFirstReceiveTimestamp": now,
    }
    if group is not None:
        attributes.update(
            MessageGroupId=group,
            SequenceNumber=f"{time.time_ns() if sequence is None else sequence:020d}",
            MessageDeduplicationId=deduplication_id or new_id(),
        )
    return {
        "messageId": new_id(),
        "receiptHandle": new_id(),
        "body": body,
        "attributes": attributes,
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "awsRegion": REGION,
        "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}",
    }


def sns_message(
    message: str, *, topic: str = "topic", subject: str | None = None, lambda_record: bool = False
) -> dict[str, Any]:
    """SNS as delivered to SQS/HTTP (``lambda_record=False``) or as a Lambda record's ``Sns``."""
    topic_arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:{topic}"
    unsubscribe = (
        f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn="
        f"{topic_arn}:{new_id()}"
    )
    out: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": new_id(),
        "TopicArn": topic_arn,
        "Message": message,
        "Timestamp": format_time(datetime.now(timezone.utc)),
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
        ("SigningCertUrl" if lambda_record else "SigningCertURL"): "EXAMPLE",
        ("UnsubscribeUrl" if lambda_record else "UnsubscribeURL"): unsubscribe,
        "MessageAttributes": {},
    }
    if subject is not None:
        out["Subject"] = subject
    return out


def sns_event(message: str, *, topic: str = "topic") -> dict[str, Any]:
    sns = sns_message(message, topic=topic, lambda_record=True)
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{sns['TopicArn']}:{new_id()}",
                "Sns": sns,
            }
        ]
    }


def s3_record(
    *, bucket: str, key: str, size: int | None, etag: str | None, action: str
) -> dict[str, Any]:
    name = "ObjectCreated:Put" if action == "created" else "ObjectRemoved:Delete"
    obj: dict[str, Any] = {"key": quote_plus(key, safe="/"), "sequencer": f"{time.time_ns():X}"}
    if size is not None:
        obj["size"] = size
    if etag is not None:
        obj["eTag"] = etag
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": format_time(datetime.now(timezone.utc)),
        "eventName": name,
        "userIdentity": {"principalId": "EXAMPLE"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {
            "x-amz-request-id": new_id()[:16].upper(),
            "x-amz-id-2": base64.b64encode(new_id().encode()).decode(),
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "portable-fn",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "EXAMPLE"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": obj,
        },
    }


def eventbridge_event(
    detail_type: str,
    source: str,
    detail: Mapping[str, Any],
    *,
    when: datetime | None = None,
    resources: Sequence[str] = (),
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": new_id(),
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT,
        # EventBridge stamps whole seconds.
        "time": format_time(when or datetime.now(timezone.utc).replace(microsecond=0)),
        "region": REGION,
        "resources": list(resources),
        "detail": dict(detail),
    }


def scheduled_event(when: datetime, rule: str = "schedule") -> dict[str, Any]:
    arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}"
    return eventbridge_event("Scheduled Event", "aws.events", {}, when=when, resources=[arn])


def kinesis_record(
    data: bytes, *, stream: str = "stream", partition_key: str = "pk", sequence: int = 1
) -> dict[str, Any]:
    seq = f"{sequence:056d}"
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": seq,
            "data": base64.b64encode(data).decode(),
            "approximateArrivalTimestamp": time.time(),
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"shardId-000000000000:{seq}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": f"arn:aws:iam::{ACCOUNT}:role/lambda",
        "awsRegion": REGION,
        "eventSourceARN": f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{stream}",
    }


def json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
