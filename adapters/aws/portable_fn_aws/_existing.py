# SPDX-License-Identifier: Apache-2.0
"""Queues and topics that exist already, outside the stack (``PORTABLE_FN_AWS_EXISTING``).

``fulfilment=arn:aws:sqs:eu-west-1:123456789012:fulfilment,order-events=arn:aws:sns:...``: the
template creates no resource for a mapped name and uses its ARN wherever it referenced the one
it created (tooling only), as Chalice's ``on_sqs_message(queue=...)`` attaches to a queue by name.
ARN formats: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
(SQS ``arn:<partition>:sqs:<region>:<account>:<name>``, SNS the same with ``sns``, S3
``arn:<partition>:s3:::<bucket>``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from portable_fn._publishes import scan
from portable_fn.errors import ConfigurationError
from portable_fn.triggers import Queue, Storage, Topic
from portable_fn_aws._resources import logical

if TYPE_CHECKING:
    from collections.abc import Mapping

    from portable_fn.app import App

ENV = "PORTABLE_FN_AWS_EXISTING"
_SERVICE_KIND = {"sqs": "queue", "sns": "topic", "s3": "bucket"}
_SUFFIX = {"queue": "Queue", "topic": "Topic", "bucket": "Bucket"}
# Queue names: at most 80 letters, digits, '-' and '_' (".fifo" included); topic names at most
# 256 (SQS and SNS quotas). Bucket names: 3-63 lowercase letters, digits, '.' and '-'.
_REGIONAL = re.compile(
    r"arn:(?P<partition>aws|aws-cn|aws-us-gov):(?P<service>sqs|sns):"
    r"(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+):(?P<account>\d{12}):(?P<name>[A-Za-z0-9_-]+(?:\.fifo)?)"
)
_BUCKET = re.compile(
    r"arn:(?P<partition>aws|aws-cn|aws-us-gov):(?P<service>s3):::(?P<name>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])"
)
_MAX_NAME = {"sqs": 80, "sns": 256, "s3": 63}
# SAM's policy templates build the resource's ARN from the stack's own region and account
# (``arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${queueName}``), which an
# existing queue or topic need not share: its statements are written out, with the same
# actions, on its ARN.
# https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-policy-template-list.html
POLICY_ACTIONS = {
    "SQSPollerPolicy": [
        "sqs:ChangeMessageVisibility",
        "sqs:ChangeMessageVisibilityBatch",
        "sqs:DeleteMessage",
        "sqs:DeleteMessageBatch",
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
    ],
    "SQSSendMessagePolicy": ["sqs:SendMessage*"],
    "SNSPublishMessagePolicy": ["sns:Publish"],
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Existing:
    """A queue, topic or bucket the stack does not own, by the name the app declares."""

    kind: str  # "queue", "topic" or "bucket"
    name: str
    arn: str
    partition: str
    region: str = ""
    account: str = ""
    resource: str = ""  # its own name, the ARN's last part

    @property
    def logical_id(self) -> str:
        """The logical id the stack's own resource of that name would have had."""
        return logical(self.name, _SUFFIX[self.kind])

    @property
    def fifo(self) -> bool:
        return self.resource.endswith(".fifo")

    @property
    def ref(self) -> str:
        """What ``Ref`` returns for the resource: a queue's URL (the documented form
        ``https://sqs.<region>.amazonaws.com/<account>/<name>``, ``.com.cn`` in China:
        https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-queue-message-identifiers.html),
        a topic's ARN, a bucket's name."""
        if self.kind == "queue":
            domain = "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"
            return f"https://sqs.{self.region}.{domain}/{self.account}/{self.resource}"
        return self.arn if self.kind == "topic" else self.resource


def parse(setting: str) -> dict[str, str]:
    """``name=arn,name=arn`` (spaces and newlines around entries ignored) as a mapping."""
    mapping: dict[str, str] = {}
    for entry in filter(None, (e.strip() for e in setting.split(","))):
        name, sep, value = (part.strip() for part in entry.partition("="))
        if not sep or not name or not value:
            raise ConfigurationError(f"{ENV}: {entry!r} is not NAME=ARN")
        if name in mapping:  # which one was meant is not ours to guess
            raise ConfigurationError(f"{ENV}: {name!r} is mapped twice")
        mapping[name] = value
    return mapping


def resolve(app: App, mapping: Mapping[str, str]) -> dict[str, Existing]:
    """The mapped resources by logical id, each checked against what the app declares: an
    entry naming nothing of the app, a malformed ARN, or one of another kind than the name is
    declared as (an SNS ARN for a queue, a standard queue read as FIFO) is refused."""
    declared = _declared(app)
    found: dict[str, Existing] = {}
    for name, value in mapping.items():
        existing = _parse_arn(name, value)
        kinds = sorted(k for k, names in declared.items() if name in names)
        if not kinds:
            raise ConfigurationError(
                f"{ENV}: {name!r} names no queue, topic or bucket of app {app.name!r}"
            )
        if existing.kind not in kinds:
            raise ConfigurationError(
                f"{ENV}: {name!r} is a {' and a '.join(kinds)} of the app, and {value} is "
                f"a {existing.kind}"
            )
        _check_fifo(app, existing)
        found[existing.logical_id] = existing
    return found


def _parse_arn(name: str, value: str) -> Existing:
    match = _REGIONAL.fullmatch(value) or _BUCKET.fullmatch(value)
    if match is None or len(match["name"]) > _MAX_NAME[match["service"]]:
        raise ConfigurationError(
            f"{ENV}: {name}={value} is not an SQS queue, SNS topic or S3 bucket ARN"
        )
    parts = match.groupdict()
    return Existing(
        kind=_SERVICE_KIND[parts["service"]],
        name=name,
        arn=value,
        partition=parts["partition"],
        region=parts.get("region") or "",
        account=parts.get("account") or "",
        resource=parts["name"],
    )


def _check_fifo(app: App, existing: Existing) -> None:
    """A queue read as FIFO must be one (its name ends in ``.fifo``), and one read as standard
    must not: SQS queues are one or the other, and the event source reads it as it is."""
    if existing.kind != "queue":
        return
    for fn in app.functions.values():
        t = fn.trigger
        if isinstance(t, Queue) and t.name == existing.name and t.fifo != existing.fifo:
            want = "a FIFO" if t.fifo else "a standard"
            raise ConfigurationError(
                f"{ENV}: {fn.name} reads {existing.name!r} as {want} queue, and {existing.arn} "
                f"is {'FIFO' if existing.fifo else 'standard'} (FIFO queue names end in .fifo)"
            )


def _declared(app: App) -> dict[str, set[str]]:
    """The names the app declares, by kind: the queues and topics its functions read or write
    (dead-letter queues included), and the buckets they watch."""
    out: dict[str, set[str]] = {"queue": set(), "topic": set(), "bucket": set()}
    for fn in app.functions.values():
        t = fn.trigger
        if isinstance(t, Queue):
            out["queue"] |= {t.name, t.dead_letter_name}
        elif isinstance(t, Topic):
            out["topic"].add(t.name)
            if t.dead_letter:
                out["queue"].add(t.dead_letter)
        elif isinstance(t, Storage):
            out["bucket"].add(t.bucket)
        targets = scan(fn.handler)
        out["queue"] |= set(targets.queues)
        out["topic"] |= set(targets.topics)
    return out


def statement(policy_template: str, existing: Existing) -> dict[str, Any]:
    """What the SAM policy template ``policy_template`` grants, on the existing resource."""
    return {
        "Statement": [
            {"Effect": "Allow", "Action": POLICY_ACTIONS[policy_template], "Resource": existing.arn}
        ]
    }
