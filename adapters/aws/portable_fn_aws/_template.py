# SPDX-License-Identifier: Apache-2.0
"""The SAM template for an app, as plain data (tooling only; ``target`` writes it out).

One ``AWS::Serverless::Function`` per handler with its event source:
- HTTP: routes on one HTTP API (IAM auth unless the route is ``anonymous``), and one OPTIONS
  route without auth per CORS path, for the preflight the core answers;
- queue: its SQS queue, ``ReportBatchItemFailures``, redrive after max_retries + 1 receives;
- topic: each subscriber reads through its own SQS queue subscribed to the SNS topic, so topic
  retries and dead letters work as queue ones do and one failing subscriber does not redeliver
  to the others (SNS -> SQS without raw delivery; the adapter unwraps both envelopes);
- storage / schedule / event: S3 notifications, EventBridge schedules and rules, invoked
  asynchronously (retries capped at Lambda's 2, then the function's dead-letter queue); a
  storage function may read its bucket, whose real name it finds in ``BUCKET_<NAME>``;
- stream: a Kinesis stream, batch failures by sequence number.
Each function's own ``timeout=`` and ``memory=`` are its Timeout and MemorySize (``_limits``),
over the Globals' defaults; a source queue's visibility follows its reader's timeout.
Each function may publish only to what its code names (``portable_fn._publishes``), passed in
env vars, beside the app's ``env``, which every function gets, and the secrets it is given
(its ``secrets=``, else the app's: Secrets Manager dynamic references, ``_app_env``).
Outputs: the HTTP API's URL, and each queue's URL, topic's ARN and bucket's name.
Queues and topics that exist already (``PORTABLE_FN_AWS_EXISTING``: ``_existing``) are no
resources of the stack: their ARNs stand where the stack's own references would.
SAM: https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-function.html
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from portable_fn._publishes import scan
from portable_fn.adapter import Finding
from portable_fn.errors import ConfigurationError
from portable_fn.triggers import Event, Queue, Retry, Schedule, Storage, Stream, Topic
from portable_fn_aws import _app_env
from portable_fn_aws._existing import resolve, statement
from portable_fn_aws._limits import properties as limits
from portable_fn_aws._redelivery import DEAD_LETTER_ENV, SOURCE_QUEUE_ENV
from portable_fn_aws._resources import (
    Builder,
    Settings,
    arn,
    bucket_env,
    bucket_name,
    logical,
    ref,
)
from portable_fn_aws._sam_events import events, inbox_dead_letter
from portable_fn_aws.publisher import env_name

if TYPE_CHECKING:
    from portable_fn.app import App, Function

ASYNC_RETRY_LIMIT = 2  # Lambda retries asynchronous invocations at most twice
DEFAULT_RETRIES = Retry().max_retries  # what a trigger without max_retries gets
# Lambda environment variable keys: https://docs.aws.amazon.com/lambda/latest/api/API_Environment.html
_ENV_KEY = re.compile(r"[a-zA-Z][a-zA-Z0-9_]+")


def build(
    app: App, settings: Settings, *, strict: bool = True
) -> tuple[dict[str, Any], list[Finding]]:
    """The SAM template and the findings. ``strict`` (packaging) raises what the template cannot
    express; otherwise (``inspect``) that is one more ``unsupported`` finding among the others."""
    # Checked first: a bad PORTABLE_FN_AWS_EXISTING is the setting's error, not a function's.
    b = Builder(app, settings, existing=resolve(app, settings.existing))
    _refuse_clashes(b)
    _app_env.refuse_dynamic_references(b)
    functions = {}
    for fn in app.functions.values():
        functions[logical(fn.name, "Function")] = _function(b, fn)
    _refuse_mixed_fifo(b)
    for app_finding in (_app_env.reference_count(app), _app_env.secrets_finding(app)):
        if app_finding is not None:
            b.findings.append(app_finding)
    if strict and b.refusals:
        raise b.refusals[0]
    b.resources.update(functions)
    template: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": f"portable-fn app {app.name!r} (generated; do not edit)",
        "Globals": {
            "Function": {
                "Runtime": settings.runtime,
                "Architectures": [settings.architecture],
                "CodeUri": settings.code_uri,
                "MemorySize": settings.memory,
                "Timeout": settings.timeout,
                "Environment": {"Variables": _app_env.global_variables(app)},
            }
        },
        "Resources": b.resources,
    }
    outputs = _outputs(b.resources)
    if outputs:
        template["Outputs"] = outputs
    return template, b.findings


# What ``Ref`` returns for each kind a producer outside the stack may need, and the output's
# suffix: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sqs-queue.html
# (URL), aws-resource-sns-topic.html (ARN), aws-resource-s3-bucket.html (name).
_OUTPUT_SUFFIX = {"AWS::SQS::Queue": "Url", "AWS::SNS::Topic": "Arn", "AWS::S3::Bucket": "Name"}


def _outputs(resources: dict[str, Any]) -> dict[str, Any]:
    """The stack's outputs: the HTTP API's URL, and the URL of each queue, the ARN of each topic
    and the name of each bucket it declares, so a producer outside the stack can find them
    (``aws cloudformation describe-stacks``). Logical ids are unique and end in their kind
    (``OrdersQueue``), so ``OrdersQueueUrl`` cannot clash with another output.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/outputs-section-structure.html
    """
    outputs: dict[str, Any] = {}
    if "HttpApi" in resources:
        outputs["HttpApiUrl"] = {
            "Value": {
                "Fn::Sub": ("https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/")
            }
        }
    for logical_id, resource in sorted(resources.items()):
        suffix = _OUTPUT_SUFFIX.get(resource["Type"])
        if suffix is not None:
            outputs[logical_id + suffix] = {"Value": ref(logical_id)}
    return outputs


def _declared(fn: Function) -> list[tuple[str, str]]:
    """(logical id, what it stands for) of the resources a function declares. Named ones stand
    for their name, so a queue one function reads and another dead-letters into is one queue."""
    t = fn.trigger
    out = [(logical(fn.name, "Function"), f"function {fn.name!r}")]
    if isinstance(t, Queue):
        out += [(logical(n, "Queue"), f"queue {n!r}") for n in (t.name, t.dead_letter_name)]
    elif isinstance(t, Topic):
        dlq = inbox_dead_letter(fn.name, t)
        out += [
            (logical(t.name, "Topic"), f"topic {t.name!r}"),
            (logical(f"{fn.name}-inbox", "Queue"), f"the inbox queue of {fn.name!r}"),
            (
                logical(dlq, "Queue"),
                f"queue {dlq!r}" if t.dead_letter else f"the inbox's dead letters of {fn.name!r}",
            ),
        ]
    elif isinstance(t, Storage):
        out.append((logical(t.bucket, "Bucket"), f"bucket {t.bucket!r}"))
    elif isinstance(t, Stream):
        out.append((logical(t.name, "Stream"), f"stream {t.name!r}"))
    if isinstance(t, Storage | Schedule | Event | Stream):
        out.append((logical(f"{fn.name}-failed", "Queue"), f"the failed events of {fn.name!r}"))
    return out


def _refuse_clashes(b: Builder) -> None:
    """Refuse two things that would share one logical id (``jobs-1`` and ``jobs1``, ``get_item``
    and ``getItem``, a queue ``notify-inbox`` and the inbox of a subscriber ``notify``): the
    template would hold one resource for both, the second replacing or merged into the first.
    Logical ids are letters and digits only, unique in the template:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resources-section-structure.html
    """
    owners: dict[str, str] = {}
    for fn in b.app.functions.values():
        for logical_id, what in _declared(fn):
            first = owners.setdefault(logical_id, what)
            if first != what:
                message = (
                    f"{what} and {first} would both be the template's {logical_id} "
                    "(CloudFormation logical ids keep letters and digits only): rename one"
                )
                b.refuse(fn.name, ConfigurationError(message))
                break  # one refusal per function is enough to say what to rename


def _refuse_mixed_fifo(b: Builder) -> None:
    """Refuse a queue read as FIFO by one function and as standard by another, and a dead-letter
    queue of another kind than its source (one shared by a FIFO queue and a standard one or a
    topic's inbox): "The dead-letter queue of a FIFO queue must also be a FIFO queue.
    Similarly, the dead-letter queue of a standard queue must also be a standard queue."
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
    """

    def fifo(queue_id: str) -> bool:
        if queue_id in b.existing:
            return b.existing[queue_id].fifo
        return bool(b.resources.get(queue_id, {}).get("Properties", {}).get("FifoQueue"))

    for fn in b.app.functions.values():
        names = _consumer_names(fn)
        if names is None:
            continue
        source, dlq = names
        declared = isinstance(fn.trigger, Queue) and fn.trigger.fifo
        if fifo(logical(source, "Queue")) != declared:
            kinds = ("FIFO", "standard") if declared else ("standard", "FIFO")
            message = (
                f"{fn.name} reads queue {source!r} as a {kinds[0]} queue, and another function "
                f"makes it {kinds[1]} (its queue or dead-letter queue): SQS queues are one or "
                "the other"
            )
        elif fifo(logical(dlq, "Queue")) != declared:
            message = (
                f"queue {source!r} of {fn.name} is {'FIFO' if declared else 'standard'} and its "
                f"dead-letter queue {dlq!r} is not: SQS requires both FIFO or both standard "
                "(give them dead-letter queues of their own)"
            )
        else:
            continue
        b.refuse(fn.name, ConfigurationError(message))


def _function(b: Builder, fn: Function) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "Handler": f"{b.settings.handler_module}.{fn.name}",
        **limits(b, fn),  # its own Timeout and MemorySize, over the Globals' defaults
        "Events": events(b, fn),
    }
    policies, variables = _grants(b, fn)
    queues = _consumer_queues(fn)
    if queues is not None:
        source, dlq = queues
        # Messages that retrying cannot fix go straight to the DLQ (the handler sends them);
        # the others get the trigger's backoff through ChangeMessageVisibility on the source.
        _dead_letters_to(b, dlq, policies, variables)
        policies.append(_queue_policy(b, "SQSPollerPolicy", source))
        variables[SOURCE_QUEUE_ENV] = b.ref_of(source)
    trigger = fn.trigger
    if isinstance(trigger, Stream):
        # A record retrying cannot fix (NonRetryable, undecodable) goes to the on-failure queue
        # at once, written by the function, instead of blocking its shard for every retry.
        _dead_letters_to(b, b.dead_letter_queue(f"{fn.name}-failed"), policies, variables)
    if isinstance(trigger, Storage):
        _reads_bucket(trigger.bucket, policies, variables)
    if isinstance(trigger, Storage | Schedule | Event):
        dlq = b.dead_letter_queue(f"{fn.name}-failed")
        if isinstance(trigger, Schedule):
            # A schedule declares no max_retries: a failed run gets all Lambda allows.
            retries = ASYNC_RETRY_LIMIT
            b.findings.append(_schedule_retries(fn.name, f"{fn.name}-failed"))
        else:
            retries = trigger.retry.max_retries
            if retries > ASYNC_RETRY_LIMIT:
                b.findings.append(_async_retries(fn.name, retries))
        properties["EventInvokeConfig"] = {
            "MaximumRetryAttempts": min(retries, ASYNC_RETRY_LIMIT),
            "DestinationConfig": {"OnFailure": {"Type": "SQS", "Destination": arn(dlq)}},
        }
        # An event retrying cannot fix goes there at once, written by the function itself.
        _dead_letters_to(b, dlq, policies, variables)
    if fn.options.get("idempotent"):
        table = _idempotency_table(b)
        policies.append(_idempotency_policy(table))
        variables["PORTABLE_FN_IDEMPOTENCY"] = {"Fn::Sub": f"dynamodb://${{{table}}}"}
    if policies:
        properties["Policies"] = policies
    _app_env.add(b, fn, variables)  # the app's env, and references to the secrets fn is given
    if variables:
        properties["Environment"] = {"Variables": variables}
    return {"Type": "AWS::Serverless::Function", "Properties": properties}


def _queue_policy(b: Builder, template: str, queue: str) -> dict[str, Any]:
    """A SAM policy template over one of the stack's queues (``queue`` its logical id), or its
    statement on an existing queue's ARN (``_existing``)."""
    if queue in b.existing:
        return statement(template, b.existing[queue])
    return {template: {"QueueName": {"Fn::GetAtt": [queue, "QueueName"]}}}


def _dead_letters_to(
    b: Builder, dlq: str, policies: list[Any], variables: dict[str, Any]
) -> None:
    """Let the function send what retrying cannot fix to ``dlq`` itself (``_redelivery``)."""
    policies.append(_queue_policy(b, "SQSSendMessagePolicy", dlq))
    variables[DEAD_LETTER_ENV] = b.ref_of(dlq)


def _reads_bucket(bucket: str, policies: list[Any], variables: dict[str, Any]) -> None:
    """Let a storage function read the object that triggered it (SAM's ``S3ReadPolicy``:
    GetObject, GetObjectVersion, ListBucket... on the bucket and its objects), and pass the
    bucket's real name in ``BUCKET_<NAME>``, as GCP does. Both name the bucket by the name the
    template computes (``bucket_name``), never by ``Ref``: the bucket's notification already
    needs the function, so a reference back would be a circular dependency.
    https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-policy-template-list.html#s3-read-policy
    """
    policies.append({"S3ReadPolicy": {"BucketName": bucket_name(bucket)}})
    variables[bucket_env(bucket)] = bucket_name(bucket)


def _async_retries(function: str, retries: int) -> Finding:
    """Lambda retries an asynchronous invocation at most twice
    (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html). A
    warning when the function asked for more; information when it left ``max_retries`` at the
    default, a value it never set (the trigger records only the value, so an explicit
    ``max_retries=4`` reads as the default too)."""
    end = "then sends them to its dead-letter queue"
    if retries == DEFAULT_RETRIES:
        return Finding(
            function,
            "info",
            f"Lambda retries asynchronous events at most {ASYNC_RETRY_LIMIT} times, {end}",
        )
    return Finding(
        function,
        "warning",
        f"Lambda retries asynchronous events at most {ASYNC_RETRY_LIMIT} times "
        f"(max_retries={retries} capped), {end}",
    )


def _schedule_retries(function: str, dlq: str) -> Finding:
    """What the deployment does with a failed scheduled run (the trigger has no retry setting):
    Lambda retries the asynchronous invocation twice, then sends it to the on-failure
    destination. https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
    """
    return Finding(
        function,
        "info",
        f"a failed run is retried twice by Lambda (asynchronous invocation), then sent to "
        f"its dead-letter queue {dlq}",
    )


def _idempotency_policy(table: str) -> dict[str, Any]:
    """What the idempotency store calls at run time (portable_fn.idempotency.dynamodb:
    GetItem, PutItem and DeleteItem; ``create_table`` is for setup), on its table only: SAM's
    ``DynamoDBCrudPolicy`` would also grant Scan, Query and the batch calls. An inline
    statement, as SAM's ``Policies`` take
    (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-function.html#sam-function-policies).
    """
    return {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
                "Resource": arn(table),
            }
        ]
    }


def _idempotency_table(b: Builder) -> str:
    """The app's idempotency records (portable_fn.idempotency.dynamodb: partition key ``id``,
    ``expires_at`` as the TTL attribute), one table for every idempotent function."""
    name = "IdempotencyTable"
    b.resources.setdefault(
        name,
        {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
            },
        },
    )
    return name


def _consumer_queues(fn: Function) -> tuple[str, str] | None:
    """(source queue, dead-letter queue) logical ids of an SQS-fed function, if it is one."""
    names = _consumer_names(fn)
    if names is None:
        return None
    return logical(names[0], "Queue"), logical(names[1], "Queue")


def _consumer_names(fn: Function) -> tuple[str, str] | None:
    """(source queue, dead-letter queue) names of an SQS-fed function, if it is one."""
    t = fn.trigger
    if isinstance(t, Queue):
        return t.name, t.dead_letter_name
    if isinstance(t, Topic):
        return f"{fn.name}-inbox", inbox_dead_letter(fn.name, t)
    return None


def _grants(b: Builder, fn: Function) -> tuple[list[Any], dict[str, Any]]:
    targets = scan(fn.handler)
    topics, queues = set(targets.topics), set(targets.queues)
    for kind in sorted(targets.unknown):
        b.findings.append(
            Finding(
                fn.name,
                "warning",
                (f"publishes to a {kind} named at run time; granted every {kind} of the app"),
            )
        )
        names = {
            f.trigger.name
            for f in b.app.functions.values()
            if isinstance(f.trigger, Topic if kind == "topic" else Queue)
        }
        (topics if kind == "topic" else queues).update(names)
    for kind, names in (("topic", topics), ("queue", queues)):
        for name in sorted(names):
            if not _ENV_KEY.fullmatch(env_name(kind, name)):
                # The function finds the resource by its environment variable; Lambda refuses
                # this key, and with it the whole stack.
                names.discard(name)
                b.refuse(fn.name, ConfigurationError(
                    f"publishes to {kind} {name!r}, which Lambda cannot pass in an environment "
                    f"variable ({env_name(kind, name)}): name it with letters, digits and '-'",
                    function=fn.name))
    policies: list[Any] = []
    variables: dict[str, Any] = {}
    for name in sorted(topics):
        topic = b.topic(name)
        if topic in b.existing:
            policies.append(statement("SNSPublishMessagePolicy", b.existing[topic]))
        else:
            policies.append(
                {"SNSPublishMessagePolicy": {"TopicName": {"Fn::GetAtt": [topic, "TopicName"]}}}
            )
        variables[env_name("topic", name)] = b.ref_of(topic)
    for name in sorted(queues):
        queue = b.queue(name)
        policies.append(_queue_policy(b, "SQSSendMessagePolicy", queue))
        variables[env_name("queue", name)] = b.ref_of(queue)
    if targets.bus:
        policies.append({"EventBridgePutEventsPolicy": {"EventBusName": "default"}})
        variables["PF_EVENT_BUS"] = "default"
    return policies, variables
