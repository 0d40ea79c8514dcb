# SPDX-License-Identifier: Apache-2.0
"""Deployed names, one rule shared by ``deploy.sh`` and the running function.

Cloud Run functions, Cloud Scheduler jobs, Eventarc triggers and Pub/Sub topics are named per
project (and region or location), with nothing around them like the CloudFormation stack on
AWS, the Function App on Azure or the Worker on Cloudflare. So every name this package makes
up per function begins with the app's name (``<app>-<function>``), and two apps that both have
a ``create_order`` deploy apart. The topics and queues an app declares keep their names: they
are shared by design (another app may publish to them)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from portable_fn.adapter import shortened
from portable_fn.triggers import Event, Queue, Storage, Topic

if TYPE_CHECKING:
    from portable_fn.app import App, Function

__all__ = [
    "bucket_var", "dead_letter_topic", "job_name", "pubsub_name", "service_name", "trigger_name",
]


# Pub/Sub topic and subscription names "must not start with "goog""
# (https://cloud.google.com/pubsub/docs/reference/rest/v1/projects.topics).
RESERVED_PUBSUB_PREFIX = "goog"


def pubsub_name(name: str) -> str:
    """A topic name this package makes up, with ``pf-`` before one Pub/Sub would refuse
    (``google-sync-dlq`` -> ``pf-google-sync-dlq``)."""
    return f"pf-{name}" if name.startswith(RESERVED_PUBSUB_PREFIX) else name


# Cloud Run functions names: 4-63 of [a-z0-9-], from a letter, not ending with '-'
# (functions v2 CreateFunctionRequest.function_id, "4-63 characters, and valid characters are
# /[a-z][0-9]-/", https://cloud.google.com/functions/docs/reference/rest/v2/projects.locations.functions
# and https://cloud.google.com/python/docs/reference/cloudfunctions/latest/google.cloud.functions_v2.types.CreateFunctionRequest;
# Cloud Run service metadata.name). Unique per project and region: no stack or app around it.
_MIN_LENGTH, _MAX_LENGTH = 4, 63
# Eventarc trigger IDs: unique per project and location; the Eventarc reference gives no
# rule of its own (https://cloud.google.com/eventarc/docs/reference/rest/v1/projects.locations.triggers),
# so Google's resource ID rule (AIP-122, https://google.aip.dev/122): RFC-1034, lowercase, a
# letter first, a letter or digit last, at most 63 characters.
_MAX_TRIGGER = 63
# Cloud Scheduler JOB_ID: letters, numbers, hyphens or underscores, at most 500 characters
# (https://cloud.google.com/scheduler/docs/reference/rest/v1/projects.locations.jobs, Job.name):
# a function's deployed name (at most 63 of [a-z0-9-]) always is one.
# Pub/Sub topic and subscription names: a letter first, 3-255 characters, not "goog..."
# (https://cloud.google.com/pubsub/docs/reference/rest/v1/projects.topics, Topic.name; the
# resource name rules, https://cloud.google.com/pubsub/docs/admin#resource_names): a
# deployed name and "-dlq" (at most 67) always is one, once ``pubsub_name`` has seen to "goog".


def service_name(app: str, function: str) -> str:
    """The deployed name of ``app``'s ``function``: ``<app>-<function>`` (``shop``,
    ``create_order`` -> ``shop-create-order``), lowercase, ``_`` as ``-``, no trailing ``-``,
    with ``-fn`` on a name shorter than Cloud Run functions accepts (``a``, ``b`` ->
    ``a-b-fn``). Cloud Run functions are named per project and region, so the app's name keeps
    two apps' ``create_order`` from replacing one another. A name over 63 characters is
    shortened and ends with a hash of the full name (``portable_fn.adapter.shortened``):
    unique and stable.
    Two functions of one app can map to one name (``getOrder``, ``getorder``): ``plan.build``
    refuses it. ``app`` is an app name (``[a-z][a-z0-9-]{0,39}``), ``function`` a function
    name (``[A-Za-z][A-Za-z0-9_]{0,62}``)."""
    name = f"{app}-{function}".lower().replace("_", "-").rstrip("-")
    if len(name) < _MIN_LENGTH:
        return f"{name}-fn"
    return shortened(name, _MAX_LENGTH)


def job_name(app: str, function: str) -> str:
    """The Cloud Scheduler job of a schedule function (unique per project and location): its
    deployed name, which Scheduler takes as a JOB_ID and which names the job in
    ``X-CloudScheduler-JobName`` and in the schedule event's ``source`` and ``id``."""
    return service_name(app, function)


def trigger_name(service: str, index: int) -> str:
    """The ``index``-th Eventarc trigger of deployed function ``service`` (its first is the
    one ``gcloud functions deploy`` creates and names itself): ``<service>-<index>``, shortened
    with a hash of the full name (``portable_fn.adapter.shortened``) past the 63 characters of
    a resource ID."""
    return shortened(f"{service}-{index}", _MAX_TRIGGER)


def dead_letter_topic(app: App, function: Function) -> str | None:
    """The dead-letter topic of an event function (None for HTTP and schedules): the queue's
    or topic subscription's declared one (the app's own, kept as named), else
    ``<deployed name>-dlq`` (``shop-on-upload-dlq``), one per app and function. A function
    with ``max_retries=0`` has one too: its failed message goes there after the one attempt,
    as on every provider, not lost."""
    trigger = function.trigger
    if not isinstance(trigger, Queue | Topic | Storage | Event):
        return None
    if isinstance(trigger, Queue):
        return trigger.dead_letter_name
    if isinstance(trigger, Topic) and trigger.dead_letter:
        return trigger.dead_letter
    return pubsub_name(f"{service_name(app.name, function.name)}-dlq")


def bucket_var(bucket: str) -> str:
    """The ``deploy.sh`` variable that holds a bucket's real name (``BUCKET_UPLOADS``); ``-``
    and ``.`` both become ``_``, so ``plan.build`` refuses two buckets that share one."""
    return "BUCKET_" + re.sub(r"[^A-Z0-9]", "_", bucket.upper())
