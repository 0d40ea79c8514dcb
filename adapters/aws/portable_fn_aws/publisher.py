# SPDX-License-Identifier: Apache-2.0
"""``pf.publish`` / ``pf.send`` / ``pf.emit`` on AWS: SNS, SQS and EventBridge via boto3.

Events travel in structured mode (the whole CloudEvent as the JSON body, DESIGN section 3), so
every hop (SNS -> SQS, EventBridge -> Lambda) keeps ``id``, ``type`` and ``source``:
- SQS SendMessage: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
- SNS Publish: https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
- EventBridge PutEvents: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
  (``Source`` = CloudEvent source, ``DetailType`` = type, ``Detail`` = the structured event).
Resource names come from the environment the template sets (``PF_TOPIC_<NAME>`` = topic ARN,
``PF_QUEUE_<NAME>`` = queue URL, ``PF_EVENT_BUS``); without them the name is looked up through
the API. boto3 is imported on the first publish, never at import: the runtime ships it.

Limits checked here, before any call: 1 MiB per message, the most SQS, SNS (a topic's
``MaximumMessageSize``) and EventBridge accept (AWS raised all three from 256 KiB in 2025-2026;
a smaller configured limit is the service's to report); FIFO group and deduplication ids of at
most 128 alphanumerics and punctuation (SQS message quotas), and no per-message delay on FIFO.
"""

from __future__ import annotations

import importlib
import os
import re
import threading
import time
from collections.abc import Mapping
from typing import Any

from portable_fn.errors import PublishError
from portable_fn.events import CloudEvent, new_id, to_json

STRUCTURED = "application/cloudevents+json; charset=utf-8"
_ATTRIBUTES = {"content-type": {"DataType": "String", "StringValue": STRUCTURED}}
MAX_DELAY = 900  # SQS DelaySeconds upper bound
MAX_MESSAGE_BYTES = 1024 * 1024  # SQS/SNS message (body + attributes), EventBridge entry
_MAX_ATTRIBUTES = 10  # message attributes per SQS message
_ATTRIBUTE_BYTES = sum(len(k) + len(v["DataType"]) + len(v["StringValue"])
                       for k, v in _ATTRIBUTES.items())
_FIFO_ID = re.compile(r"[!-~]{1,128}")  # MessageGroupId / MessageDeduplicationId
# PutEvents entry ErrorCodes worth sending again (PutEventsResultEntry in the API reference).
_RETRYABLE_ENTRY_ERRORS = frozenset({"ThrottlingException", "InternalFailure"})
_PUT_EVENTS_ATTEMPTS = 4
_BACKOFF_BASE = 0.05  # seconds; doubled each attempt, full jitter


def env_name(kind: str, name: str) -> str:
    """``PF_TOPIC_ORDER_EVENTS`` for topic ``order-events``: what the template sets."""
    return f"PF_{kind.upper()}_{name.upper().replace('-', '_')}"


class AwsPublisher:
    """A ``portable_fn.adapter.Publisher`` over boto3 clients created on first use."""

    def __init__(
        self,
        *,
        environ: Mapping[str, str] | None = None,
        client_factory: Any = None,
    ) -> None:
        self._environ = os.environ if environ is None else environ
        self._client_factory = client_factory
        self._clients: dict[str, Any] = {}
        self._resolved: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def _client(self, service: str) -> Any:
        client = self._clients.get(service)
        if client is None:
            with self._lock:
                client = self._clients.get(service)
                if client is None:
                    factory = self._client_factory
                    if factory is None:
                        try:
                            # Through importlib: boto3 ships no type stubs; its clients are Any.
                            boto3 = importlib.import_module("boto3")
                        except ImportError as exc:
                            raise ImportError(
                                "publishing on AWS needs boto3 (the Lambda runtime has it); "
                                'install it with: pip install "portable-fn-aws[publish]"'
                            ) from exc
                        factory = boto3.client
                    client = self._clients[service] = factory(service)
        return client

    def _resource(self, kind: str, name: str) -> str:
        key = (kind, name)
        found = self._resolved.get(key) or self._environ.get(env_name(kind, name))
        if not found:
            try:
                if kind == "topic":  # idempotent: returns the existing topic's ARN
                    found = self._client("sns").create_topic(Name=name)["TopicArn"]
                else:
                    found = self._client("sqs").get_queue_url(QueueName=name)["QueueUrl"]
            except ImportError:
                raise
            except Exception as exc:  # botocore errors; botocore is not imported here
                raise PublishError(
                    f"no {kind} {name!r}: set {env_name(kind, name)} or create it ({exc})"
                ) from exc
        self._resolved[key] = found
        return found

    def publish(self, topic: str, event: CloudEvent) -> None:
        body = _message_body(event)
        _check_size("SNS message", event, len(body) + _ATTRIBUTE_BYTES)
        arn = self._resource("topic", topic)
        params: dict[str, Any] = {
            "TopicArn": arn,
            "Message": body.decode("utf-8"),
            "MessageAttributes": _ATTRIBUTES,
        }
        if arn.endswith(".fifo"):
            params.update(_fifo(event))
        self._call("sns", "publish", topic, params)

    def send(self, queue: str, event: CloudEvent, *, delay: float | None = None) -> None:
        body = _message_body(event)
        _check_size("SQS message", event, len(body) + _ATTRIBUTE_BYTES)
        url = self._resource("queue", queue)
        params: dict[str, Any] = {
            "QueueUrl": url,
            "MessageBody": body.decode("utf-8"),
            "MessageAttributes": _ATTRIBUTES,
        }
        if delay:
            if not 0 <= delay <= MAX_DELAY:
                raise PublishError(f"SQS delays are 0-{MAX_DELAY} seconds, got {delay}")
            if url.endswith(".fifo"):
                raise PublishError(
                    f"SQS FIFO queue {queue!r} takes no per-message delay (only the queue's "
                    "own DelaySeconds); send without delay="
                )
            params["DelaySeconds"] = round(delay)
        if url.endswith(".fifo"):
            params.update(_fifo(event))
        self._call("sqs", "send_message", queue, params)

    def emit(self, event: CloudEvent) -> None:
        detail = to_json(event)
        # PutEvents entry size: Source, DetailType and Detail as UTF-8 (eb-putevent-size).
        size = len(detail) + len(event.source.encode()) + len(event.type.encode())
        _check_size("EventBridge entry", event, size)
        bus = self._environ.get("PF_EVENT_BUS", "default")
        entry = {
            "Source": event.source,
            "DetailType": event.type,
            "Detail": detail.decode("utf-8"),
            "EventBusName": bus,
        }
        # PutEvents answers 200 even when it failed the entry: FailedEntryCount says so, and
        # the entry's ErrorCode says whether sending it again can help (PutEventsResultEntry:
        # ThrottlingException and InternalFailure are retryable). botocore retries only whole
        # failed calls, so such an entry is sent again here, with jittered exponential backoff.
        for attempt in range(1, _PUT_EVENTS_ATTEMPTS + 1):
            response = self._call("events", "put_events", f"event bus {bus}", {"Entries": [entry]})
            if not response.get("FailedEntryCount"):
                return
            failed = (response.get("Entries") or [{}])[0]
            code = failed.get("ErrorCode")
            if code not in _RETRYABLE_ENTRY_ERRORS or attempt == _PUT_EVENTS_ATTEMPTS:
                break
            _backoff(attempt)
        tries = f" after {attempt} attempts" if attempt > 1 else ""
        raise PublishError(
            f"EventBridge bus {bus!r} refused event {event.id}{tries}: {code} "
            f"{failed.get('ErrorMessage')}"
        )

    def dead_letter(
        self,
        queue_url: str,
        body: str,
        *,
        reason: str,
        group: str | None = None,
        deduplication_id: str | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        """Move a message that retrying cannot fix to its dead-letter queue, unchanged: its
        body and its own message ``attributes`` (SendMessage's shape), as SQS's redrive keeps
        them, with the reason in one more attribute (what a redrive tool shows) when SQS's
        limit of 10 attributes leaves room for it (the reason is in the log either way)."""
        kept = dict(attributes or {})
        if len(kept) < _MAX_ATTRIBUTES or "pf-failure-reason" in kept:  # a redriven one's
            kept["pf-failure-reason"] = {"DataType": "String", "StringValue": reason[:1024]}
        params: dict[str, Any] = {
            "QueueUrl": queue_url,
            "MessageBody": body,
            "MessageAttributes": kept,
        }
        if queue_url.endswith(".fifo"):
            params["MessageGroupId"] = group or "default"
            params["MessageDeduplicationId"] = deduplication_id or new_id()
        self._call("sqs", "send_message", "dead-letter queue", params)

    def change_visibility(self, queue_url: str, receipt_handle: str, seconds: int) -> None:
        """When a received message becomes visible again (the retry's backoff)."""
        params = {
            "QueueUrl": queue_url,
            "ReceiptHandle": receipt_handle,
            "VisibilityTimeout": seconds,
        }
        self._call("sqs", "change_message_visibility", "source queue", params)

    def _call(self, service: str, method: str, target: str, params: dict[str, Any]) -> Any:
        try:
            return getattr(self._client(service), method)(**params)
        except (PublishError, ImportError):
            raise
        except Exception as exc:  # botocore ClientError / EndpointConnectionError
            raise PublishError(f"{service} refused the event for {target!r}: {exc}") from exc


def _backoff(attempt: int) -> None:
    import random  # only on a retry: keep it off the cold-start path

    time.sleep(random.uniform(0, _BACKOFF_BASE * 2 ** attempt))


_NONCHARACTERS = (("\ufffe".encode(), b"\\ufffe"), ("\uffff".encode(), b"\\uffff"))


def _message_body(event: CloudEvent) -> bytes:
    """The structured event as SQS accepts a message body: SendMessage rejects characters
    outside #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF, and JSON text may
    hold U+FFFE and U+FFFF as they are. Both can only be inside JSON strings, where their
    escapes mean the same; control characters are escaped by the encoder already."""
    body = to_json(event)
    for raw, escaped in _NONCHARACTERS:
        if raw in body:  # three bytes no other character's UTF-8 contains
            body = body.replace(raw, escaped)
    return body


def _check_size(what: str, event: CloudEvent, size: int) -> None:
    if size > MAX_MESSAGE_BYTES:
        raise PublishError(
            f"event {event.id} makes a {size}-byte {what}; AWS accepts at most "
            f"{MAX_MESSAGE_BYTES} bytes (1 MiB): send a reference to an S3 object instead"
        )


def _fifo(event: CloudEvent) -> dict[str, str]:
    # FIFO needs a group (ordering scope) and a deduplication id; the event id is the latter.
    group = event.extensions.get("partitionkey")
    return {"MessageGroupId": _fifo_id(str(group or "default")),
            "MessageDeduplicationId": _fifo_id(event.id)}


def _fifo_id(value: str) -> str:
    """``value`` if SQS/SNS accept it as a group or deduplication id, else its SHA-256: the same
    value still maps to the same id, so grouping and deduplication keep their meaning."""
    if _FIFO_ID.fullmatch(value):
        return value
    import hashlib  # only for such values: keep it off the cold-start path

    return hashlib.sha256(value.encode()).hexdigest()
