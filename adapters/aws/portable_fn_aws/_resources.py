# SPDX-License-Identifier: Apache-2.0
"""The non-function resources of the SAM template (queues, dead-letter queues, topics,
buckets), created once per name however many functions use them (tooling only).

SQS redrive: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
Visibility of a source queue: https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
Queue names: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-queues.html
Bucket names: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from portable_fn.adapter import Finding
from portable_fn.errors import ConfigurationError
from portable_fn_aws._limits import DEFAULT_MEMORY, DEFAULT_TIMEOUT, timeout_of
from portable_fn_aws._redelivery import LONGEST_BACKOFF, MAX_VISIBILITY

if TYPE_CHECKING:
    from portable_fn.app import App, Function
    from portable_fn.triggers import Retry
    from portable_fn_aws._existing import Existing

DLQ_RETENTION = 1_209_600  # 14 days, the SQS maximum
DEFAULT_RETENTION = 345_600  # 4 days, what a queue keeps a message unless told otherwise
_RETENTION_MARGIN = 3_600  # an hour over the worst retry schedule, for receives that lag
# The unique part of the stack id (arn:...:stack/<stack name>/<uuid>): 36 characters, lowercase.
_STACK_UUID = {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}
_BUCKET_PREFIX = 63 - 1 - 36  # what a bucket name leaves the declared name beside the uuid
# Beginnings S3 reserves, which a declared name may have (the core checks only the characters).
_RESERVED_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")


def logical(name: str, suffix: str = "") -> str:
    """A CloudFormation logical id: alphanumeric CamelCase (``fulfilment-dlq`` -> FulfilmentDlq)."""
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", name) if p) + suffix


def ref(name: str) -> dict[str, str]:
    return {"Ref": name}


def arn(name: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [name, "Arn"]}


def bucket_name(name: str) -> dict[str, Any]:
    """The real name of the declared bucket ``name``: ``<name>-<stack uuid>``, computed by
    CloudFormation from the stack id. Computed rather than generated, so a function's policy and
    environment can name its bucket without referencing it: the bucket's notification references
    the function, and a reference back is the circular dependency CloudFormation refuses
    (https://aws.amazon.com/blogs/mt/resolving-circular-dependency-in-provisioning-of-amazon-s3-buckets-with-aws-lambda-event-notifications/).
    The stack's uuid makes it globally unique; at most 63 characters: a longer declared name is
    cut and keeps a hash of the whole, so two names alike at the start stay apart. Dots become
    ``-`` (a dotted name breaks virtual-hosted HTTPS, and a cut may leave ``.-``), and a name
    that begins as S3 reserves (``xn--``...) gets ``pf-`` before it."""
    prefix = name.replace(".", "-")
    if prefix.startswith(_RESERVED_BUCKET_PREFIXES):
        prefix = f"pf-{prefix}"
    if len(prefix) > _BUCKET_PREFIX:
        digest = hashlib.sha256(name.encode()).hexdigest()[:6]
        prefix = f"{prefix[: _BUCKET_PREFIX - 7].rstrip('-')}-{digest}"
    return {"Fn::Join": ["-", [prefix, _STACK_UUID]]}


def bucket_env(name: str) -> str:
    """The variable holding a bucket's real name, as GCP's ``deploy.sh`` names it
    (``BUCKET_UPLOADS``; ``-`` and ``.`` both ``_``, whose clashes the logical ids refuse)."""
    return "BUCKET_" + re.sub(r"[^A-Z0-9]", "_", name.upper())


def _fifo(properties: dict[str, Any]) -> None:
    """Make a queue FIFO, deduplicating by content what a producer sends without a
    MessageDeduplicationId: without ContentBasedDeduplication SQS refuses such a message (a
    producer outside portable-fn may send none). ``pf.send`` and the dead-lettering always send
    one, which overrides the content hash, so they deduplicate as before.
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
    """
    properties["FifoQueue"] = True
    properties["ContentBasedDeduplication"] = True


def worst_schedule(retry: Retry, timeout: int, fifo: bool) -> int:
    """Seconds from a message's first receive to its last attempt's end, at worst: every
    attempt runs its whole timeout, and each retry waits its backoff's ceiling (capped as
    ``_redelivery`` caps it) or, when that is shorter or not applied (FIFO, a crash), the
    queue's visibility timeout."""
    wait = visibility(timeout)
    waits = retry.waits(LONGEST_BACKOFF)
    return retry.max_attempts * timeout + sum(wait if fifo else max(wait, w) for w in waits)


def visibility(timeout: int) -> int:
    """A source queue's visibility timeout for readers whose longest timeout is ``timeout``:
    Lambda requires at least the function timeout and AWS advises six times it ("set the
    source queue's visibility timeout to at least six times the configuration timeout on your
    function"), within SQS's 12 hours (Lambda's 900 s ceiling gives 5400 s).
    https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html
    """
    return min(MAX_VISIBILITY, 6 * timeout)


@dataclass
class Settings:
    runtime: str = "python3.12"
    architecture: str = "x86_64"
    memory: int = DEFAULT_MEMORY  # of a function that declares none (fn.limits: _limits)
    timeout: int = DEFAULT_TIMEOUT
    handler_module: str = "pf_entry"
    code_uri: str = "app.zip"
    bytecode: bool = False  # ship the framework compiled for the runtime (_bytecode)
    # Declared names of queues, topics and buckets that exist already, and their ARNs
    # (PORTABLE_FN_AWS_EXISTING, checked against the app by _existing.resolve).
    existing: dict[str, str] = field(default_factory=dict)


@dataclass
class Builder:
    app: App
    settings: Settings
    resources: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    # What the provider cannot honour at all: a finding for ``inspect`` (reported alongside the
    # others), and the reason ``package`` refuses (target.py raises the first).
    refusals: list[ConfigurationError] = field(default_factory=list)
    # What the stack does not own (_existing), by the logical id its own would have had.
    existing: dict[str, Existing] = field(default_factory=dict)
    # The longest timeout of the functions reading each queue, by logical id (visibility()).
    readers: dict[str, int] = field(default_factory=dict)

    def arn_of(self, logical_id: str) -> Any:
        """The ARN of the queue or topic ``logical_id``: the existing one's, else GetAtt."""
        found = self.existing.get(logical_id)
        return arn(logical_id) if found is None else found.arn

    def ref_of(self, logical_id: str) -> Any:
        """What ``Ref`` gives for ``logical_id`` (a queue's URL, a topic's ARN): the existing
        one's, written out, else the ``Ref``."""
        found = self.existing.get(logical_id)
        return ref(logical_id) if found is None else found.ref

    def timeout(self, fn: Function) -> int:
        """``fn``'s timeout in the template: its own, else the Globals' default."""
        return timeout_of(fn.limits, self.settings.timeout)

    def refuse(self, function: str | None, error: ConfigurationError) -> None:
        """``error`` as a finding of ``function`` (None: the app's), and the refusal ``package``
        raises. A ConfigurationError built with ``function=`` begins with ``"<function>: "``, as
        the raised error should; the finding names its function itself (``Finding.__str__``),
        so its message leaves that prefix out rather than say it twice."""
        message = str(error)
        if function is not None and error.function == function:
            message = message.removeprefix(f"{function}: ")
        self.findings.append(Finding(function, "unsupported", message))
        self.refusals.append(error)

    def queue(
        self,
        name: str,
        *,
        fifo: bool = False,
        dlq: str | None = None,
        receives: int | None = None,
        reader_timeout: int | None = None,
        reader: tuple[str, Retry] | None = None,
    ) -> str:
        """An SQS queue (idempotent by name); returns its logical id. An existing queue is no
        resource of the stack, nor is its redrive policy (_sam_events says so); its dead-letter
        queue still is one, for what the function itself dead-letters (_redelivery).
        ``reader_timeout``: the timeout of a function reading it, which its visibility follows;
        ``reader``: that function's name and retry policy, which its retention follows."""
        queue_id = logical(name, "Queue")
        dlq_id = None
        if dlq is not None and receives is not None:
            dlq_id = self.dead_letter_queue(dlq, fifo=fifo)
        if queue_id in self.existing:
            return queue_id
        properties: dict[str, Any] = self.resources.get(queue_id, {}).get("Properties", {})
        if reader_timeout is not None:
            longest = max(reader_timeout, self.readers.get(queue_id, 0))
            self.readers[queue_id] = longest
            properties["VisibilityTimeout"] = visibility(longest)
        else:  # only sent to, so far: as if its reader had the default timeout
            properties.setdefault("VisibilityTimeout", visibility(self.settings.timeout))
        if fifo:
            # No QueueName: SQS names are at most 80 characters, ".fifo" included, which
            # "<stack>-<name>.fifo" passes with a 63-character name and a stack name over 11.
            # Unnamed, CloudFormation generates a name that fits and ends in ".fifo" (as for
            # CDK's unnamed FIFO queues); functions read the URL from their environment.
            _fifo(properties)
        if dlq_id is not None:
            properties["RedrivePolicy"] = {
                "deadLetterTargetArn": self.arn_of(dlq_id),
                "maxReceiveCount": receives,
            }
        if reader is not None and reader_timeout is not None:
            self._retention(properties, name, reader, reader_timeout, fifo)
        self.resources[queue_id] = {"Type": "AWS::SQS::Queue", "Properties": properties}
        return queue_id

    def _retention(
        self, properties: dict[str, Any], name: str, reader: tuple[str, Retry], timeout: int,
        fifo: bool,
    ) -> None:
        """Keep messages as long as the reader's retries may take: SQS deletes a message when
        its retention ends (4 days unless set), retries left or not, and it never reaches the
        dead-letter queue (API_SetQueueAttributes, MessageRetentionPeriod). Past 14 days, the
        most SQS keeps one, a warning."""
        function, retry = reader
        needed = worst_schedule(retry, timeout, fifo) + _RETENTION_MARGIN
        if needed <= max(DEFAULT_RETENTION, properties.get("MessageRetentionPeriod", 0)):
            return
        properties["MessageRetentionPeriod"] = min(DLQ_RETENTION, needed)
        if needed > DLQ_RETENTION:
            self.findings.append(Finding(function, "warning", (
                f"queue {name!r}: its retries may take {needed // 86_400} days, past the 14 "
                "SQS keeps a message: one still failing then is deleted, not dead-lettered; "
                "lower max_retries or max_backoff")))

    def dead_letter_queue(self, name: str, *, fifo: bool = False) -> str:
        """A dead-letter queue, also when the same queue was made before as something else (a
        queue a function sends to or reads): it still keeps messages 14 days, and is FIFO for
        a FIFO source, which SQS requires of a FIFO queue's dead-letter queue."""
        dlq_id = logical(name, "Queue")
        if dlq_id in self.existing:
            return dlq_id
        resource = self.resources.setdefault(dlq_id, {"Type": "AWS::SQS::Queue"})
        properties: dict[str, Any] = resource.setdefault("Properties", {})
        properties.setdefault("MessageRetentionPeriod", DLQ_RETENTION)
        if fifo:  # unnamed, as in queue()
            _fifo(properties)
        return dlq_id

    def topic(self, name: str) -> str:
        topic_id = logical(name, "Topic")
        if topic_id not in self.existing:
            self.resources.setdefault(topic_id, {"Type": "AWS::SNS::Topic"})
        return topic_id

    def bucket(self, name: str) -> str:
        bucket_id = logical(name, "Bucket")
        self.resources.setdefault(
            bucket_id, {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": bucket_name(name)}}
        )
        return bucket_id
