# SPDX-License-Identifier: Apache-2.0
"""What deploying an app to Cloud Run functions takes, as plain data (the Chalice way: a
resource model, then a renderer), plus what GCP cannot honour (``Finding``).

References: ``gcloud functions deploy`` (https://cloud.google.com/sdk/gcloud/reference/functions/deploy),
Eventarc triggers (https://cloud.google.com/eventarc/docs/run/create-trigger-storage-gcloud),
Pub/Sub dead-letter topics and retry policy, 5-100 delivery attempts and 0-600 s backoff
(https://cloud.google.com/pubsub/docs/handling-failures), Cloud Scheduler unix-cron
(https://cloud.google.com/scheduler/docs/configuring/cron-job-schedules) and retry config, at
most 5 retries (https://cloud.google.com/scheduler/docs/configuring/retry-jobs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from portable_fn import _publishes as publishes
from portable_fn.adapter import Finding, idempotency_findings, secrets_given
from portable_fn.errors import ConfigurationError
from portable_fn.triggers import (
    SCHEDULE_RETRY,
    Event,
    Http,
    Queue,
    Retry,
    Schedule,
    Storage,
    Stream,
    Topic,
)

from portable_fn_gcp import settings
from portable_fn_gcp.cron import cloud_scheduler_cron
from portable_fn_gcp.limits import Kind, Sizing, sizing
from portable_fn_gcp.names import (
    RESERVED_PUBSUB_PREFIX,
    bucket_var,
    dead_letter_topic,
    job_name,
    pubsub_name,
    service_name,
)
from portable_fn_gcp.storage import TYPES as STORAGE_TYPES

if TYPE_CHECKING:
    from portable_fn.app import App, Function

__all__ = ["DeadLetter", "Deployment", "Plan", "SchedulerRetry", "build"]

MIN_ATTEMPTS, MAX_ATTEMPTS, MAX_DELAY = 5, 100, 600.0
MAX_SCHEDULER_RETRIES = 5
_AUDIT = "google.cloud.audit.log."
_STORAGE = "google.cloud.storage."


@dataclass(frozen=True, slots=True)
class DeadLetter:
    topic: str
    max_attempts: int
    min_delay: float
    max_delay: float


@dataclass(frozen=True, slots=True)
class SchedulerRetry:
    """A Cloud Scheduler job's retry config (``gcloud scheduler jobs create http`` flags)."""

    attempts: int  # --max-retry-attempts: retries after the first run
    min_backoff: float
    max_backoff: float
    doublings: int


@dataclass(frozen=True, slots=True)
class Deployment:
    """One ``gcloud functions deploy``: ``trigger`` holds its trigger flags; ``extra_events``
    are further Eventarc event types routed to the same function (one trigger each)."""

    function: str
    service: str  # the deployed name, <app>-<function> (names.service_name)
    signature: Literal["http", "cloudevent"]
    trigger: tuple[str, ...]
    retry: bool = False
    dead_letter: DeadLetter | None = None
    extra_events: tuple[tuple[str, ...], ...] = ()
    schedule: str | None = None  # unix-cron for a Cloud Scheduler HTTP job
    job: str | None = None  # that job's name (names.job_name)
    schedule_retry: SchedulerRetry | None = None  # that job's retry config
    bucket: str | None = None  # a storage trigger's bucket: its triggers live where it is
    sizing: Sizing = field(default_factory=Sizing)  # --timeout/--memory/--cpu, callers' deadlines
    secrets: tuple[str, ...] = ()  # its Function.secrets: its --set-secrets, or --clear-secrets


@dataclass(frozen=True, slots=True)
class Plan:
    app: str
    topics: tuple[str, ...]
    deployments: tuple[Deployment, ...]
    findings: tuple[Finding, ...] = field(default=())
    buckets: tuple[str, ...] = ()
    published: tuple[str, ...] = ()  # topics only published to: no function consumes them
    # Every topic a function writes to at run time: what its handler publishes, sends and emits
    # to, and its dead-letter topic (dead_letter.py): the runtime identity's publisher grants.
    publishes: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()  # App(env=...): every function's (settings.py)
    secrets: tuple[str, ...] = ()  # App(secrets=...) some function is given: checked first


def bus_topic(app: App) -> str:
    return pubsub_name(f"{app.name}-events".lower().replace("_", "-"))


def build(app: App, *, strict: bool = True) -> Plan:
    """The deployment plan. ``strict`` (packaging) raises a declared limit Cloud Run functions
    cannot take, and an app setting named as a storage function's ``BUCKET_<NAME>``; otherwise
    (``inspect``) each is one more ``unsupported`` finding."""
    topics: dict[str, None] = {}
    deployments: list[Deployment] = []
    findings: list[Finding] = []
    buckets: dict[str, None] = {}
    services: dict[str, str] = {}
    for fn in app.functions.values():
        deployment = _deployment(app, fn, findings)
        if deployment is None:
            continue
        deployment = replace(_sized(deployment, fn, findings, strict=strict), secrets=fn.secrets)
        other = services.setdefault(deployment.service, fn.name)
        if other != fn.name:  # the second deploy would replace the first function
            raise ConfigurationError(
                f"{other} and {fn.name} would both deploy as Cloud Run function "
                f"{deployment.service!r}: rename one", function=fn.name)
        deployments.append(deployment)
        named = [deployment.dead_letter.topic] if deployment.dead_letter is not None else []
        if deployment.trigger[:1] == ("--trigger-topic",):
            named.insert(0, deployment.trigger[1])
        for topic in named:
            if topic.startswith(RESERVED_PUBSUB_PREFIX):  # deploy.sh would stop at it
                raise ConfigurationError(
                    f"Pub/Sub refuses topic names that begin with 'goog': rename {topic!r}",
                    function=fn.name)
            topics[topic] = None
        if isinstance(fn.trigger, Storage):
            _refuse_shared_variable(fn.name, fn.trigger.bucket, buckets)
            buckets[fn.trigger.bucket] = None
            clash = settings.bucket_clash(app, fn.name, fn.trigger.bucket)
            if clash is not None:
                if strict:
                    raise clash
                findings.append(
                    Finding(fn.name, "unsupported", str(clash).removeprefix(f"{fn.name}: ")))
    _shared_queues(app, findings)
    findings.extend(settings.findings(app))
    writes: dict[str, None] = dict.fromkeys(
        d.dead_letter.topic for d in deployments if d.dead_letter is not None)
    published = _published(app, topics, findings, writes)
    findings.extend(idempotency_findings(app, level="warning", note=(
        "set PORTABLE_FN_IDEMPOTENCY (deploy.sh --set-env-vars) to a store every instance "
        "reaches (redis://HOST:PORT/0 for Memorystore); without it each instance keeps its own "
        "memory store and duplicates across instances are not caught")))
    return Plan(app.name, tuple(topics), tuple(deployments), tuple(findings), tuple(buckets),
                published, env=tuple(app.env.items()), secrets=secrets_given(app),
                publishes=tuple(writes))


def _sized(d: Deployment, fn: Function, findings: list[Finding], *, strict: bool) -> Deployment:
    kind: Kind = "event" if d.signature == "cloudevent" else "http"
    if d.schedule is not None:
        kind = "schedule"
    try:
        sized = sizing(fn.name, fn.limits, kind)
    except ConfigurationError as refusal:
        if strict:
            raise
        findings.append(Finding(fn.name, "unsupported", str(refusal).removeprefix(f"{fn.name}: ")))
        return d
    if sized.cpu is not None:
        findings.append(Finding(fn.name, "info", (
            f"memory={sized.memory} needs {sized.cpu} vCPU on Cloud Run: deployed with "
            f"--cpu {sized.cpu}")))
    return replace(d, sizing=sized)


def _published(
    app: App, topics: dict[str, None], findings: list[Finding], writes: dict[str, None]
) -> tuple[str, ...]:
    """The Pub/Sub topics the handlers publish, send or emit to that no trigger creates: a
    publish to a topic that does not exist fails NOT_FOUND, so ``deploy.sh`` creates them.
    Every topic they name goes in ``writes`` too, created by a trigger or not."""
    out: dict[str, None] = {}
    for fn in app.functions.values():
        targets = publishes.scan(fn.handler)
        for kind in sorted(targets.unknown):
            findings.append(Finding(fn.name, "warning", (
                f"publishes to a {kind} named at run time: deploy.sh cannot create its Pub/Sub "
                "topic; create it (gcloud pubsub topics create) or the publish fails NOT_FOUND")))
        named = sorted(targets.topics | targets.queues)
        if targets.bus:
            named.append(bus_topic(app))
        writes.update(dict.fromkeys(named))
        for name in named:
            if name in topics or name in out:
                continue
            if name.startswith(RESERVED_PUBSUB_PREFIX):  # deploy.sh would stop at it
                raise ConfigurationError(
                    f"Pub/Sub refuses topic names that begin with 'goog': rename {name!r}",
                    function=fn.name)
            out[name] = None
            if name in targets.queues:
                # A topic keeps a message only for the subscriptions it has when it is
                # published (https://cloud.google.com/pubsub/docs/subscription-overview).
                findings.append(Finding(fn.name, "warning", (
                    f"sends to queue {name!r}, which no function of this app consumes: "
                    "deploy.sh creates its Pub/Sub topic, but messages sent before its "
                    "consumer's subscription exists are dropped")))
    return tuple(out)


def _refuse_shared_variable(function: str, bucket: str, buckets: dict[str, None]) -> None:
    """Refuse a bucket whose ``deploy.sh`` variable an earlier one has (``media-files`` and
    ``media.files``): both would deploy on the bucket that variable names."""
    for other in buckets:
        if other != bucket and bucket_var(other) == bucket_var(bucket):
            raise ConfigurationError(
                f"buckets {other!r} and {bucket!r} would share deploy.sh's {bucket_var(bucket)} "
                "(its real bucket name): rename one", function=function)


# Paths functions-framework never hands to an HTTP function.
_FRAMEWORK_404 = frozenset(("/robots.txt", "/favicon.ico"))


def _deployment(app: App, fn: Function, findings: list[Finding]) -> Deployment | None:
    trigger, name = fn.trigger, fn.name
    service = service_name(app.name, name)
    if isinstance(trigger, Http):
        auth = (
            "--no-allow-unauthenticated"
            if trigger.auth == "function"
            else "--allow-unauthenticated"
        )
        findings.append(
            Finding(name, "info", f"own URL; requests use the declared path {trigger.path}")
        )
        if trigger.auth == "function":
            findings.append(
                Finding(name, "info", "auth='function': callers send an identity token (IAM)")
            )
            if trigger.cors is not None:
                # Browsers send a preflight without credentials, which Cloud Run's IAM check
                # refuses before the function runs (cloud.google.com/functions/docs/writing/
                # write-http-functions, CORS limitations).
                findings.append(Finding(name, "warning", (
                    "cors= with auth='function': a browser's preflight carries no identity "
                    "token and Cloud Run refuses it, so no cross-origin call gets through; "
                    "use auth='anonymous' (checking callers in the handler) or a proxy in "
                    "front that answers preflights")))
        if trigger.path in _FRAMEWORK_404:
            # https://github.com/GoogleCloudPlatform/functions-framework#url-space : the
            # framework answers these itself (functions_framework._configure_app).
            findings.append(Finding(name, "unsupported", (
                f"functions-framework answers 404 to {trigger.path} without calling the "
                "function: serve it from elsewhere (a bucket, a load balancer rule)")))
        return Deployment(name, service, "http", ("--trigger-http", auth))
    if isinstance(trigger, Schedule):
        cron = cloud_scheduler_cron(name, trigger, findings)
        return Deployment(
            name, service, "http", ("--trigger-http", "--no-allow-unauthenticated"), schedule=cron,
            job=job_name(app.name, name),
            schedule_retry=_scheduler_retry(name, SCHEDULE_RETRY, findings),
        )
    if isinstance(trigger, Stream):
        findings.append(Finding(name, "unsupported", "streams have no Cloud Run functions trigger"))
        return None
    extra: tuple[tuple[str, ...], ...] = ()
    if isinstance(trigger, Queue):
        flags: tuple[str, ...] = ("--trigger-topic", trigger.name)
        if trigger.batch_size > 1:
            findings.append(Finding(name, "info", "Pub/Sub push delivers one message per request"))
        if trigger.fifo:
            findings.append(
                Finding(name, "unsupported", "fifo: Eventarc subscriptions are unordered")
            )
    elif isinstance(trigger, Topic):
        flags = ("--trigger-topic", trigger.name)
    elif isinstance(trigger, Storage):
        events = [
            (
                "--trigger-event-filters",
                f"type={STORAGE_TYPES[a]}",
                "--trigger-event-filters",
                f"bucket={trigger.bucket}",
            )
            for a in trigger.on
        ]
        flags, extra = events[0], tuple(events[1:])
        if "deleted" in trigger.on:
            # "This includes objects that are overwritten": Cloud Storage's deleted event fires
            # for the generation an upload replaces, where S3, Blob Storage and R2 send only
            # the new object's created (https://cloud.google.com/functions/docs/calling/storage).
            findings.append(Finding(name, "warning", (
                "on Cloud Storage, overwriting an object also sends deleted for the replaced "
                "generation: a deleted handler runs while the key still exists (check before "
                "cleaning up); in a versioned bucket a delete sends archived, which no "
                "portable action takes")))
        if trigger.prefix or trigger.suffix:
            findings.append(
                Finding(
                    name,
                    "info",
                    "prefix/suffix filtered in the function (Eventarc has no key filter)",
                )
            )
    elif isinstance(trigger, Event):
        flags = _event_flags(app, name, trigger, findings)
    else:  # pragma: no cover - every trigger kind is handled above
        return None
    retry = trigger.retry
    dlq = dead_letter_topic(app, fn)
    policy = _dead_letter(name, dlq, retry, findings) if dlq is not None else None
    return Deployment(
        name,
        service,
        "cloudevent",
        flags,
        retry=True,  # max_retries=0 too: the function dead-letters; a failed move is retried
        dead_letter=policy,
        extra_events=extra,
        bucket=trigger.bucket if isinstance(trigger, Storage) else None,
    )


def _event_flags(app: App, name: str, trigger: Event, findings: list[Finding]) -> tuple[str, ...]:
    if trigger.type.startswith("google."):
        if trigger.type.endswith("*"):
            findings.append(
                Finding(
                    name,
                    "unsupported",
                    "Eventarc filters on an exact type; a google.* prefix "
                    "cannot be deployed as one trigger",
                )
            )
        if trigger.type.startswith(_STORAGE):
            # A Cloud Storage trigger names its bucket and is created where the bucket is
            # (https://cloud.google.com/functions/docs/calling/storage): Eventarc refuses it
            # without, and deploy.sh would stop there.
            findings.append(Finding(name, "unsupported", (
                "Cloud Storage events need a bucket filter and a trigger in the bucket's "
                "location: use @app.storage(bucket) for them")))
        if trigger.type.startswith(_AUDIT):
            findings.append(
                Finding(
                    name,
                    "warning",
                    "audit-log triggers also need serviceName and methodName "
                    "filters: add them to this function's deploy line",
                )
            )
        return ("--trigger-event-filters", f"type={trigger.type.rstrip('*')}")
    if trigger.source is not None:
        findings.append(Finding(name, "info", "source filtered in the function"))
    findings.append(
        Finding(
            name,
            "info",
            f"events travel on Pub/Sub topic {bus_topic(app)}, filtered by type in the function",
        )
    )
    return ("--trigger-topic", bus_topic(app))


def _dead_letter(name: str, topic: str, retry: Retry, findings: list[Finding]) -> DeadLetter:
    attempts = retry.max_attempts
    if attempts < MIN_ATTEMPTS:
        # The function moves a message to the dead-letter topic itself at its last declared
        # attempt (functions._run: on the first when there are no retries, where Pub/Sub
        # numbers deliveries after that); Pub/Sub's own policy, at its least, stays behind it
        # for when that move fails.
        if attempts == 1:
            findings.append(Finding(name, "info", (
                f"max_retries=0: the function moves a failed message to {topic!r} itself (Pub/Sub "
                f"dead-letters after {MIN_ATTEMPTS} attempts at the least: its policy stays "
                "for when that move fails)")))
        else:
            findings.append(Finding(name, "warning", (
                f"max_retries={retry.max_retries}: the function moves a message that failed "
                f"attempt {attempts} to {topic!r} itself when Pub/Sub numbers the delivery "
                f"(deliveryAttempt); else Pub/Sub dead-letters it after {MIN_ATTEMPTS} attempts, "
                "its least")))
        attempts = MIN_ATTEMPTS
    elif attempts > MAX_ATTEMPTS:
        findings.append(
            Finding(
                name,
                "unsupported",
                f"max_retries={retry.max_retries} ({attempts} attempts): Pub/Sub dead-lettering "
                f"allows {MIN_ATTEMPTS}-{MAX_ATTEMPTS} delivery attempts; deployed with "
                f"{MAX_ATTEMPTS}",
            )
        )
        attempts = MAX_ATTEMPTS
    low, high = min(retry.initial_backoff, MAX_DELAY), min(retry.max_backoff, MAX_DELAY)
    if retry.max_backoff > MAX_DELAY:
        findings.append(
            Finding(name, "warning", f"max_backoff capped at Pub/Sub's {MAX_DELAY:.0f} s")
        )
    if retry.jitter:
        findings.append(
            Finding(
                name,
                "info",
                "Pub/Sub applies its own exponential backoff; jitter is not configurable",
            )
        )
    return DeadLetter(topic, attempts, low, high)


def _scheduler_retry(name: str, retry: Retry, findings: list[Finding]) -> SchedulerRetry:
    """The job's retry config for ``retry``: Cloud Scheduler retries a failed run (a non-2xx
    answer) only when told to (retryCount defaults to 0), doubling its delay from
    ``--min-backoff`` ``--max-doublings`` times, up to ``--max-backoff``, as ``Retry.delay``
    does (https://cloud.google.com/scheduler/docs/configuring/retry-jobs)."""
    attempts = min(retry.max_retries, MAX_SCHEDULER_RETRIES)
    if retry.max_retries > MAX_SCHEDULER_RETRIES:
        findings.append(Finding(name, "unsupported", (
            f"max_retries={retry.max_retries}: Cloud Scheduler retries a run at most "
            f"{MAX_SCHEDULER_RETRIES} times; deployed with {MAX_SCHEDULER_RETRIES}")))
    doublings = max(0, math.ceil(math.log2(retry.max_backoff / retry.initial_backoff)))
    # Nothing like a dead-letter topic: a run that still fails is only logged.
    findings.append(Finding(name, "warning", (
        f"a failed run is retried {attempts} times by Cloud Scheduler (not past the next "
        "scheduled run) and then has no dead-letter: it shows in Cloud Logging, as the job's "
        "failed attempt and the function's error (https://cloud.google.com/scheduler/docs/"
        "view-logs)")))
    return SchedulerRetry(attempts, retry.initial_backoff, retry.max_backoff, doublings)


def _shared_queues(app: App, findings: list[Finding]) -> None:
    seen: dict[str, str] = {}
    for fn in app.functions.values():
        if isinstance(fn.trigger, Queue):
            other = seen.setdefault(fn.trigger.name, fn.name)
            if other != fn.name:
                findings.append(
                    Finding(
                        fn.name,
                        "warning",
                        f"queue {fn.trigger.name} also feeds {other}: each Pub/Sub "
                        "subscription gets every message",
                    )
                )
