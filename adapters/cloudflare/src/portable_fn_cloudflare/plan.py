# SPDX-License-Identifier: Apache-2.0
"""The Cloudflare resource model of an app: plain data shared by the worker and the packager.

Both ``worker_entrypoint`` (routing a delivered batch to its function) and the packager
(writing ``wrangler.toml``) derive names from the app with these functions, so the two can never
disagree. Cloudflare facts this rests on:

- A queue has exactly one consumer Worker, and a message is settled once
  (https://developers.cloudflare.com/queues/reference/how-queues-works/). A portable topic with
  several subscribers therefore becomes one queue per subscribing function, and publishing fans
  out at send time (as SNS does into SQS): each subscriber retries on its own.
- R2 event notifications are delivered to a queue, one rule per (bucket, queue) pair
  (https://developers.cloudflare.com/r2/buckets/event-notifications/): each ``@app.storage``
  function gets its own queue. R2 refuses a rule that could fire for the same event as an
  existing one ("Overlapping or conflicting rules ... are not allowed", same page, Notes), so
  two functions whose filters overlap on one bucket and action cannot both get a rule
  (``notification_rules``).
- Workers have no event bus: each ``@app.event`` function gets a queue and ``emit`` routes by
  type at send time.
- Queue names: 1-63 lowercase letters, digits and dashes, a letter or digit at both ends (the
  API refuses others with "Must match ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$",
  workers-sdk#2522; https://developers.cloudflare.com/queues/get-started/). They are named per
  account, not per Worker (``POST /accounts/{account_id}/queues``,
  https://developers.cloudflare.com/api/resources/queues/methods/create/), and a second
  Worker consuming a queue is refused (``workers.api.error.consumer_exists``,
  workers-sdk#5347). So every queue made up for one function begins with the app's name
  (``app_queue``), as the GCP adapter names its per-function resources: two apps in one
  account that both have a ``notify_customer`` on ``order-events`` get a queue each. Topics,
  queues and dead-letter queues the app declares keep their names: they are shared on
  purpose. No portable topic or queue name holds ``--`` and a function name cannot make one,
  so made-up names of two apps whose names hold no ``--`` never meet, nor do a made-up and a
  declared name.
- Without ``dead_letter_queue`` Cloudflare deletes a message once its retries are spent
  (https://developers.cloudflare.com/queues/configuration/dead-letter-queues/). The portable
  contract is that failures land in a dead-letter queue, so every consumer gets one: the
  declared name, else ``<queue>-dlq`` (the core's ``Queue.dead_letter_name`` rule).
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

from portable_fn.adapter import shortened
from portable_fn.app import App
from portable_fn.triggers import Event, Queue, Retry, Storage, Topic
from portable_fn_cloudflare.limits import WALL_SECONDS
from portable_fn_cloudflare.settle import MAX_DELAY_SECONDS

ConsumerKind = Literal["queue", "topic", "storage", "event"]

_MAX_QUEUE_NAME = 63
_NOT_NAME = re.compile(r"[^a-z0-9-]+")
_NOT_BINDING = re.compile(r"[^A-Z0-9_]")
# Cloudflare's consumer default (wrangler docs, [[queues.consumers]]).
DEFAULT_BATCH_SIZE = 10


class Consumer(NamedTuple):
    """One queue this Worker consumes, and the function its messages go to."""

    queue: str
    function: str
    kind: ConsumerKind
    retry: Retry
    dead_letter: str | None
    batch_size: int
    # The portable name: the queue, topic or bucket the decorator named (the event type for
    # ``@app.event``); used as the CloudEvent source of plain messages.
    source_name: str


def queue_name(*parts: str) -> str:
    """A valid Cloudflare queue name from free-form parts, stable and collision-resistant."""
    name = "--".join(_NOT_NAME.sub("-", p.lower()).strip("-") for p in parts)
    return shortened(name, _MAX_QUEUE_NAME)


def app_queue(app: App, *parts: str) -> str:
    """The queue this app makes up for ``parts`` (a function's): ``<app>--<parts>``."""
    return queue_name(app.name, *parts)


def binding_name(queue: str) -> str:
    """The producer binding (a JS identifier in ``env``) for a queue name."""
    return "Q_" + _NOT_BINDING.sub("_", queue.upper())


# What a queue keeps a message unless told otherwise, and the most it can keep one
# (https://developers.cloudflare.com/changelog/2025-02-14-customize-queue-retention-period).
DEFAULT_RETENTION, MAX_RETENTION = 345_600, 1_209_600
_RETENTION_MARGIN = 3_600  # an hour over the worst schedule, for deliveries that lag


def retention(consumer: Consumer) -> int | None:
    """Seconds the consumer's queue must keep a message for its retries to run, when past the
    default 4 days (a queue deletes a message when its retention ends, retries left or not,
    and it never reaches the dead-letter queue); None within the default. At worst every
    attempt runs the 15-minute wall time and each retry waits its backoff's ceiling (capped
    at ``retry(delaySeconds)``'s 12 hours, as ``settle`` caps it)."""
    retry = consumer.retry
    needed = sum(retry.waits(MAX_DELAY_SECONDS)) + retry.max_attempts * WALL_SECONDS
    needed += _RETENTION_MARGIN
    return needed if needed > DEFAULT_RETENTION else None


def consumers(app: App) -> list[Consumer]:
    """Every queue the Worker consumes, in the app's registration order."""
    out: list[Consumer] = []
    for fn in app.functions.values():
        trigger = fn.trigger
        batch_size = DEFAULT_BATCH_SIZE
        if isinstance(trigger, Queue):
            queue, source = queue_name(trigger.name), trigger.name
            dead_letter, batch_size = trigger.dead_letter_name, trigger.batch_size
        elif isinstance(trigger, Topic):
            queue, source = app_queue(app, trigger.name, fn.name), trigger.name
            dead_letter = trigger.dead_letter or f"{queue}-dlq"
        elif isinstance(trigger, Storage):
            queue, source = app_queue(app, "r2", trigger.bucket, fn.name), trigger.bucket
            dead_letter = f"{queue}-dlq"
        elif isinstance(trigger, Event):
            queue, source = app_queue(app, "events", fn.name), trigger.type
            dead_letter = f"{queue}-dlq"
        else:
            continue
        out.append(
            Consumer(
                queue=queue,
                function=fn.name,
                kind=trigger.kind,
                retry=trigger.retry,
                dead_letter=_dlq(dead_letter),
                batch_size=batch_size,
                source_name=source,
            )
        )
    return out


def _dlq(name: str) -> str:
    return queue_name(name)


def former_queues(app: App) -> dict[str, str]:
    """Queue -> function, under the names packages gave before they began with the app's
    (``<topic>--<function>``, ``r2--<bucket>--<function>``, ``events--<app>--<function>``).

    A Worker deployed with those still consumes them after an upgrade (wrangler leaves a
    consumer it no longer finds in the config registered, workers-sdk#13923), so what waits
    there still reaches its function and the old queue drains before it is deleted."""
    out: dict[str, str] = {}
    for fn in app.functions.values():
        trigger = fn.trigger
        if isinstance(trigger, Topic):
            out[queue_name(trigger.name, fn.name)] = fn.name
        elif isinstance(trigger, Storage):
            out[queue_name("r2", trigger.bucket, fn.name)] = fn.name
        elif isinstance(trigger, Event):
            out[queue_name("events", app.name, fn.name)] = fn.name
    return out


class NotificationRule(NamedTuple):
    """One R2 event notification rule: ``wrangler r2 bucket notification create``'s arguments."""

    bucket: str
    event_type: Literal["object-create", "object-delete"]
    queue: str
    function: str
    prefix: str
    suffix: str
    # The function of an earlier rule this one overlaps: R2 would refuse this one.
    overlaps: str | None


def notification_rules(app: App) -> list[NotificationRule]:
    """The rule each storage function asks for, in declaration order; a rule that overlaps an
    earlier one (same bucket and action, keys that could match both) names its function."""
    out: list[NotificationRule] = []
    for c in consumers(app):
        trigger = app.function(c.function).trigger
        if not isinstance(trigger, Storage):
            continue
        for action in trigger.on:
            event_type: Literal["object-create", "object-delete"] = (
                "object-create" if action == "created" else "object-delete"
            )
            clash = next(
                (
                    r.function
                    for r in out
                    if r.overlaps is None
                    and (r.bucket, r.event_type) == (trigger.bucket, event_type)
                    and _overlap(r.prefix, r.suffix, trigger.prefix, trigger.suffix)
                ),
                None,
            )
            out.append(
                NotificationRule(
                    trigger.bucket, event_type, c.queue, c.function, trigger.prefix,
                    trigger.suffix, clash,
                )
            )
    return out


def _overlap(prefix: str, suffix: str, other_prefix: str, other_suffix: str) -> bool:
    """Whether some key starts with both prefixes and ends with both suffixes."""
    prefixes = prefix.startswith(other_prefix) or other_prefix.startswith(prefix)
    return prefixes and (suffix.endswith(other_suffix) or other_suffix.endswith(suffix))


def topic_queues(app: App, topic: str) -> list[str]:
    """The queues a publish to ``topic`` fans out to: one per subscribing function."""
    return [c.queue for c in consumers(app) if c.kind == "topic" and c.source_name == topic]


def event_queues(app: App, event_type: str, source: str | None) -> list[str]:
    """The queues an emitted event is routed to: those of every ``@app.event`` that matches."""
    return [
        app_queue(app, "events", fn.name)
        for fn in app.functions.values()
        if isinstance(fn.trigger, Event) and fn.trigger.matches(event_type, source)
    ]


def producer_queues(app: App) -> list[str]:
    """Queues the Worker may send to: every queue it consumes but R2's notification queues,
    every DLQ (the Worker dead-letters itself, ``consume._dead_letter``), and every queue its
    handlers send to, or topic they publish to, that no function of the app consumes
    (``published_queues``): a Worker reaches only the queues its wrangler.toml binds, so a
    send to another app's queue had no binding and failed.

    Only R2 sends to a storage function's queue (``pf.publish``/``pf.send``/``pf.emit`` name
    topics, queues and event types, never it), so it gets no producer binding; its DLQ does."""
    names: list[str] = []
    for c in consumers(app):
        if c.kind != "storage":
            names.append(c.queue)
        if c.dead_letter:
            names.append(c.dead_letter)
    names.extend(published_queues(app))
    return list(dict.fromkeys(names))


def published_queues(app: App) -> list[str]:
    """The queues the handlers' own ``pf.send`` and ``pf.publish`` calls name (read from
    their source, ``portable_fn._publishes``; packaging only): a queue by its name, a topic
    without a subscriber in the app by its own queue (``QueuePublisher.publish``). A target
    named at run time cannot be read (``findings`` says so)."""
    from portable_fn._publishes import scan

    out: list[str] = []
    for fn in app.functions.values():
        targets = scan(fn.handler)
        out.extend(queue_name(queue) for queue in sorted(targets.queues))
        out.extend(
            queue_name(topic) for topic in sorted(targets.topics)
            if not topic_queues(app, topic)
        )
    return out
