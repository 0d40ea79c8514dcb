# SPDX-License-Identifier: Apache-2.0
"""What happens to a failed SQS message besides being reported in ``batchItemFailures``.

- Retrying cannot help (``pf.NonRetryable``, undecodable, invalid): the message is moved to
  the dead-letter queue the template names in ``PF_DEAD_LETTER_URL`` now, its retries unspent.
- Retrying can help: its visibility is set to the trigger's ``Retry.delay(attempt)`` (exponential
  backoff with equal jitter) with ChangeMessageVisibility on ``PF_SOURCE_QUEUE_URL``, instead of
  the queue's fixed visibility timeout; SQS's redrive policy still counts the receives.
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html
Both need boto3 and a network call, so they run only for failed messages, and a failure to do
either is logged and leaves the message to SQS's own redelivery.

Asynchronous invocations (S3, EventBridge, schedules) that retrying cannot fix go to the same
``PF_DEAD_LETTER_URL``: the function's on-failure queue, where Lambda itself writes what fails
every retry. The function writes the invocation record Lambda writes there, so the queue holds
one shape, and returns without an error, so Lambda spends no retries on it.
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
"""

from __future__ import annotations

import json
import math
import os
from base64 import b64decode
from datetime import datetime, timezone
from typing import Any

from portable_fn._traceback import text
from portable_fn.adapter import Context
from portable_fn.errors import PortableFnError
from portable_fn.triggers import Retry
from portable_fn_aws.publisher import AwsPublisher

DEAD_LETTER_ENV = "PF_DEAD_LETTER_URL"
SOURCE_QUEUE_ENV = "PF_SOURCE_QUEUE_URL"
MAX_VISIBILITY = 43_200  # 12 hours, the SQS limit
# A message's visibility may reach 12 hours from its receive, in all, and SQS refuses a change
# past what is left (API_ChangeMessageVisibility). The receive is up to a batching window (300 s)
# before the invocation and the handler may have run up to Lambda's 900 s: leave both.
LONGEST_BACKOFF = MAX_VISIBILITY - 300 - 900


class Redelivery:
    def __init__(self, retry: Retry | None, environ: Any = None) -> None:
        environ = os.environ if environ is None else environ
        self.dead_letter_url: str | None = environ.get(DEAD_LETTER_ENV) or None
        self.source_url: str | None = environ.get(SOURCE_QUEUE_ENV) or None
        self.retry = retry
        self._publisher: AwsPublisher | None = None

    def _sqs(self) -> AwsPublisher:
        if self._publisher is None:
            self._publisher = AwsPublisher()
        return self._publisher

    def dead_letter(
        self, record: dict[str, Any], reason: str, group: str | None, ctx: Context
    ) -> bool:
        """True when the message is now in the dead-letter queue (report it as done)."""
        if self.dead_letter_url is None:
            return False
        try:
            self._sqs().dead_letter(
                self.dead_letter_url,
                str(record.get("body", "")),
                reason=reason,
                group=group,
                deduplication_id=str(record.get("messageId")),
                attributes=_send_attributes(record.get("messageAttributes")),
            )
        except PortableFnError as exc:
            ctx.logger.exception("could not dead-letter the message; SQS will retry it", exc=exc)
            return False
        return True

    def dead_letter_record(self, record: Any, reason: str, ctx: Context) -> bool:
        """True when a stream record (Kinesis, DynamoDB Streams) that retrying cannot fix is now
        in the dead-letter queue, as the record Lambda delivered (JSON), the reason beside it."""
        if self.dead_letter_url is None:
            return False
        try:
            body = json.dumps(record, default=str, separators=(",", ":"))
            self._sqs().dead_letter(self.dead_letter_url, body, reason=reason)
        except PortableFnError as exc:
            ctx.logger.exception(
                "could not dead-letter the record; the shard retries it", exc=exc
            )
            return False
        return True

    def dead_letter_invocation(
        self, native: Any, context: Any, error: BaseException | None, ctx: Context
    ) -> bool:
        """True when an asynchronous invocation that retrying cannot fix is now in the
        dead-letter queue, as Lambda's invocation record with the condition ``NonRetryable``
        (Lambda's own say ``RetriesExhausted`` or ``EventAgeExceeded``). There is no
        ``approximateInvokeCount``: Lambda does not tell a function which attempt it runs."""
        if self.dead_letter_url is None:
            return False
        message = "failed" if error is None else text(error)
        reason = message if error is None else f"{type(error).__name__}: {message}"
        record = {
            "version": "1.0",
            "timestamp": datetime.now(timezone.utc).isoformat(timespec="milliseconds")[:-6] + "Z",
            "requestContext": {
                "requestId": getattr(context, "aws_request_id", None),
                "functionArn": getattr(context, "invoked_function_arn", None),
                "condition": "NonRetryable",
            },
            "requestPayload": native,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": getattr(context, "function_version", None) or "$LATEST",
            },
            "responsePayload": {
                "errorType": "Error" if error is None else type(error).__name__,
                "errorMessage": message,
            },
        }
        try:
            body = json.dumps(record, default=str, separators=(",", ":"))
            self._sqs().dead_letter(self.dead_letter_url, body, reason=reason)
        except PortableFnError as exc:
            ctx.logger.exception("could not dead-letter the event; Lambda will retry it", exc=exc)
            return False
        return True

    def back_off(self, record: dict[str, Any], attempt: int, ctx: Context) -> None:
        """Hide the failed message for ``Retry.delay(attempt)`` seconds before redelivery."""
        if self.source_url is None or self.retry is None:
            return
        handle = record.get("receiptHandle")
        if not isinstance(handle, str):
            return
        delay = min(LONGEST_BACKOFF, math.ceil(self.retry.delay(attempt)))
        try:
            self._sqs().change_visibility(self.source_url, handle, delay)
        except PortableFnError as exc:
            ctx.logger.exception("could not delay the retry; SQS's timeout applies", exc=exc)


def _send_attributes(received: Any) -> dict[str, Any]:
    """A Lambda SQS record's ``messageAttributes`` as SendMessage takes them back: Lambda
    spells them ``stringValue``/``binaryValue`` (base64 text)/``dataType``, the API
    ``StringValue``/``BinaryValue`` (bytes, which boto3 encodes)/``DataType``.
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_MessageAttributeValue.html
    An attribute of another shape is left out: the message still moves, with what can be kept.
    """
    if type(received) is not dict:
        return {}
    kept: dict[str, Any] = {}
    for name, attribute in received.items():
        if type(name) is not str or type(attribute) is not dict:
            continue
        data_type = attribute.get("dataType")
        if type(data_type) is not str:
            continue
        text = attribute.get("stringValue")
        if type(text) is str:
            kept[name] = {"DataType": data_type, "StringValue": text}
            continue
        encoded = attribute.get("binaryValue")
        if type(encoded) is str:
            try:
                value = b64decode(encoded, validate=True)
            except ValueError:  # binascii.Error is a ValueError
                continue
            kept[name] = {"DataType": data_type, "BinaryValue": value}
    return kept
