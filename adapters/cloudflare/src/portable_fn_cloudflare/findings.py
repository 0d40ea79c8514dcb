# SPDX-License-Identifier: Apache-2.0
"""What Cloudflare Workers cannot honour, or honour differently, for an app.

Sources: Queues limits (https://developers.cloudflare.com/queues/platform/limits/: batch of at
most 100, delay at most 12 hours, no FIFO), Cron Triggers
(https://developers.cloudflare.com/workers/configuration/cron-triggers/), R2 event
notifications (configured per bucket, outside wrangler.toml).
"""

from __future__ import annotations

import re
from typing import Literal

from portable_fn.adapter import Finding, idempotency_findings
from portable_fn.app import App
from portable_fn.triggers import Event, Http, Queue, Schedule, Storage, Stream, Topic
from portable_fn_cloudflare import limits, plan, settings
from portable_fn_cloudflare.scheduled import cron_for
from portable_fn_cloudflare.settle import MAX_DELAY_SECONDS

MAX_BATCH_SIZE = 100
# Cron Triggers per account (https://developers.cloudflare.com/workers/platform/limits/):
# deploying more fails; the account's other Workers count too.
CRONS_FREE, CRONS_PAID = 5, 250
# R2 bucket names: 3-63 lowercase letters, digits and '-', alphanumeric at both ends (no '.',
# which the portable bucket name allows); wrangler refuses any other name in r2_buckets.
_R2_BUCKET = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")


# A Cron Trigger has no retry setting and nothing like a dead-letter queue: a failed run is
# recorded as the status of its Cron Event, and logged
# (https://developers.cloudflare.com/workers/runtime-apis/handlers/scheduled/).
_CRON_FAILURES = (
    "Cron Triggers take no retry policy: a failed run is not retried as the local runtime "
    "retries it, and has no dead-letter; it shows as a failed run in the Worker's Cron Events "
    "(dashboard) and in its logs (wrangler tail, Workers Logs)"
)


def findings(app: App) -> list[Finding]:
    out: list[Finding] = []
    subscribers: dict[str, int] = {}
    for fn in app.functions.values():
        t = fn.trigger
        name = fn.name
        if isinstance(t, Http) and t.auth == "function":
            # Unsupported, not a warning: the same app is closed to unauthenticated callers on
            # AWS, Azure and GCP, and a deployed Worker answers on workers.dev by default.
            out.append(
                Finding(
                    name,
                    "unsupported",
                    "Workers have no per-function caller authentication: this auth=\"function\" "
                    "route is public. Put Cloudflare Access in front of the Worker, its "
                    "workers.dev URL included, or declare auth=\"anonymous\"",
                )
            )
        elif isinstance(t, Queue):
            if t.fifo:
                out.append(Finding(name, "unsupported", "Cloudflare Queues have no FIFO ordering"))
            if t.batch_size > MAX_BATCH_SIZE:
                out.append(
                    Finding(name, "warning", f"max_batch_size is capped at {MAX_BATCH_SIZE}")
                )
        elif isinstance(t, Topic):
            subscribers[t.name] = subscribers.get(t.name, 0) + 1
        elif isinstance(t, Schedule):
            cron, note = cron_for(t)
            if cron is None:
                out.append(Finding(name, "unsupported", note or "no cron for this schedule"))
            elif note:
                out.append(Finding(name, "warning", note))
            elif t.rate is not None:
                out.append(Finding(name, "info", f"rate runs as cron {cron!r} (clock-aligned)"))
            if cron is not None:
                out.append(Finding(name, "warning", _CRON_FAILURES))
        elif isinstance(t, Storage):
            if not _R2_BUCKET.fullmatch(t.bucket):
                out.append(
                    Finding(
                        name,
                        "unsupported",
                        f"{t.bucket!r} cannot be an R2 bucket name (lowercase letters, digits "
                        "and '-' only): wrangler refuses the config",
                    )
                )
            out.append(
                Finding(
                    name,
                    "info",
                    "R2 event notifications are not part of "
                    "wrangler.toml: deploy.sh creates the bucket's notification rule",
                )
            )
        elif isinstance(t, Event):
            out.append(
                Finding(
                    name,
                    "info",
                    "Workers have no event bus: pf.emit routes by type "
                    "to this function's queue, within this Worker only",
                )
            )
        elif isinstance(t, Stream):
            out.append(Finding(name, "unsupported", "Workers have no stream trigger"))
        retry = getattr(t, "retry", None)
        if retry is not None and retry.max_backoff > MAX_DELAY_SECONDS:
            out.append(Finding(name, "warning", "retry delays are capped at 12 hours"))
    consumers = plan.consumers(app)
    # A queue has one consumer; the Worker routes its batches to the last function declared.
    receiver = {c.queue: c.function for c in consumers}
    for c in consumers:
        if receiver[c.queue] != c.function:
            out.append(
                Finding(
                    c.function,
                    "unsupported",
                    f"a Cloudflare queue has one consumer: {c.queue!r} is delivered to "
                    f"{receiver[c.queue]!r} only, and this function never runs",
                )
            )
            continue
        kept = plan.retention(c)
        if kept is not None:
            out.append(Finding(c.function, "info" if kept <= plan.MAX_RETENTION else "warning", (
                f"queue {c.queue!r}: its retries may take {kept // 3600} hours, past the 4 days a "
                "queue keeps a message; deploy.sh raises its retention"
                + (" to the 14-day most: one still failing then is deleted, not dead-lettered "
                   "(lower max_retries or max_backoff)" if kept > plan.MAX_RETENTION else "")
                + " (Workers Paid: Free keeps messages 24 h at most)")))
        declared = getattr(app.function(c.function).trigger, "dead_letter", None)
        named = "" if declared else " (no dead_letter declared: the default name)"
        out.append(
            Finding(
                c.function,
                "info",
                f"queue {c.queue!r}: after "
                f"{c.retry.max_retries} retries Cloudflare moves a message to "
                f"{c.dead_letter!r}{named}; pf.NonRetryable goes there at once, "
                "sent by the Worker, spending no retries",
            )
        )
    out.extend(_run_time_targets(app))
    out.extend(limits.findings(app))
    out.extend(settings.findings(app))
    out.extend(_overlapping_rules(app))
    out.extend(_cron_count(app))
    for topic, count in subscribers.items():
        if count > 1:
            out.append(
                Finding(
                    None,
                    "info",
                    f"topic {topic!r} has {count} subscribers: one "
                    "queue each, and publishing sends to all of them",
                )
            )
    out.extend(idempotency_findings(app, level="warning", note=(
        "Workers have no store portable-fn can reach yet (the Redis and DynamoDB clients do not "
        "run there): records live in the isolate's memory, so only duplicates that reach the "
        "same isolate are caught")))
    return out


def _run_time_targets(app: App) -> list[Finding]:
    """A queue or topic a handler names at run time (a variable, not a literal) gets no producer
    binding in wrangler.toml (``plan.published_queues``), and a send to it fails."""
    from portable_fn._publishes import scan

    out: list[Finding] = []
    for fn in app.functions.values():
        for kind in sorted(scan(fn.handler).unknown):
            out.append(Finding(fn.name, "warning", (
                f"sends to a {kind} named at run time: wrangler.toml gets no producer binding "
                f"for it, and the send fails; add a [[queues.producers]] binding "
                f"Q_<NAME> for the queue, or name it in the call")))
    return out


def _overlapping_rules(app: App) -> list[Finding]:
    """R2 refuses a notification rule that could fire for the same event as another
    (https://developers.cloudflare.com/r2/buckets/event-notifications/, Notes); deploy.sh
    leaves such a rule out, so the function never hears of those objects."""
    return [
        Finding(
            rule.function,
            "unsupported",
            f"R2 refuses overlapping notification rules: this function's {rule.event_type} "
            f"rule on {rule.bucket!r} (prefix {rule.prefix!r}, suffix {rule.suffix!r}) "
            f"overlaps {rule.overlaps!r}'s, so deploy.sh leaves it out and those events reach "
            f"only {rule.overlaps!r} (give the functions disjoint prefixes or suffixes)",
        )
        for rule in plan.notification_rules(app)
        if rule.overlaps is not None
    ]


def _cron_count(app: App) -> list[Finding]:
    """Too many distinct crons for one account (schedules sharing a cron share a trigger)."""
    crons = {cron_for(fn.trigger)[0] for fn in app.functions.values()
             if isinstance(fn.trigger, Schedule)} - {None}
    level: Literal["warning", "unsupported"]
    if len(crons) > CRONS_PAID:
        level, plan_name = "unsupported", "any plan"
    elif len(crons) > CRONS_FREE:
        level, plan_name = "warning", "Workers Free"
    else:
        return []
    return [Finding(
        None, level,
        f"{len(crons)} distinct crons: more Cron Triggers than {plan_name} allows per account "
        f"({CRONS_FREE} Free, {CRONS_PAID} Paid); wrangler deploy fails past the limit",
    )]
