# SPDX-License-Identifier: Apache-2.0
"""Deployed names, one rule shared by ``deploy.sh`` and the running function."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from portable_fn.triggers import Event, Queue, Storage, Topic

if TYPE_CHECKING:
    from portable_fn.app import Function

__all__ = ["bucket_var", "dead_letter_topic", "pubsub_name", "service_name"]


# Pub/Sub topic and subscription names "must not start with "goog""
# (https://cloud.google.com/pubsub/docs/reference/rest/v1/projects.topics).
RESERVED_PUBSUB_PREFIX = "goog"


def pubsub_name(name: str) -> str:
    """A topic name this package makes up, with ``pf-`` before one Pub/Sub would refuse
    (``google-sync-dlq`` -> ``pf-google-sync-dlq``)."""
    return f"pf-{name}" if name.startswith(RESERVED_PUBSUB_PREFIX) else name


# Cloud Run functions names: 4-63 of [a-z0-9-], from a letter, not ending with '-'
# (functions_v2 CreateFunctionRequest.function_id; Cloud Run service metadata.name).
_MIN_LENGTH = 4


def service_name(function: str) -> str:
    """The deployed name of a function: lowercase, ``_`` as ``-``, no trailing ``-``, and a
    ``-fn`` suffix on names shorter than Cloud Run functions accepts (``get`` -> ``get-fn``).
    Two functions can map to one name (``getOrder``, ``getorder``): ``plan.build`` refuses it."""
    name = function.lower().replace("_", "-").rstrip("-")
    return name if len(name) >= _MIN_LENGTH else f"{name}-fn"


def dead_letter_topic(function: Function) -> str | None:
    """The dead-letter topic of an event function, None when it is not retried at all."""
    trigger = function.trigger
    if not isinstance(trigger, Queue | Topic | Storage | Event) or not trigger.retry.max_retries:
        return None
    if isinstance(trigger, Queue):
        return trigger.dead_letter_name
    if isinstance(trigger, Topic) and trigger.dead_letter:
        return trigger.dead_letter
    return pubsub_name(f"{service_name(function.name)}-dlq")


def bucket_var(bucket: str) -> str:
    """The ``deploy.sh`` variable that holds a bucket's real name (``BUCKET_UPLOADS``); ``-``
    and ``.`` both become ``_``, so ``plan.build`` refuses two buckets that share one."""
    return "BUCKET_" + re.sub(r"[^A-Z0-9]", "_", bucket.upper())
