# SPDX-License-Identifier: Apache-2.0
"""What Azure honours of the app's declarations, and how: printed by ``inspect`` and ``package``.

Sources: Storage Queue retries and poison queue
(https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue-trigger#poison-messages),
host.json ``queues`` settings (functions-bindings-storage-queue#host-json: host-wide, not per
queue), Service Bus dead-lettering (service-bus-messaging/service-bus-dead-letter-queues),
Event Grid retry and dead-letter (event-grid/delivery-and-retry: dead letters go to a blob
container), Event Hubs checkpointing (functions-reliable-event-processing).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from portable_fn.adapter import Finding, idempotency_findings
from portable_fn.app import App, Function
from portable_fn.cors import preflight_owners
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

from portable_fn_azure import ncrontab
from portable_fn_azure.app_settings import settings_findings
from portable_fn_azure.limits import limits_findings
from portable_fn_azure.options import (
    DEFAULT_CONSUMER_GROUP,
    FALLBACK,
    AzureOptions,
    consumer_group,
    subscription_name,
)

__all__ = ["findings", "queue_settings", "stream_settings"]

# host.json queues.batchSize accepts at most 32.
MAX_QUEUE_BATCH = 32
# The longest a Storage Queue message can be hidden, which a retry's wait is
# (https://learn.microsoft.com/rest/api/storageservices/update-message): 7 days.
MAX_QUEUE_VISIBILITY = 604_800
# Storage Queue names are 3-63 characters: the poison queue adds "-poison" to the name.
MAX_QUEUE_NAME = 63
# Blob container names: 3-63 lowercase letters, digits and single '-' between them, no '.'
# (learn.microsoft.com/rest/api/storageservices/
# naming-and-referencing-containers--blobs--and-metadata).
_CONTAINER = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}")
# A Service Bus queue or subscription redelivers a raise up to maxDeliveryCount: settling a
# message from Python needs the SDK-type bindings, still in preview, and the adapter moves a
# message that can never succeed itself only to a Storage Queue's poison queue (_invoke.py).
_NON_RETRYABLE = ("pf.NonRetryable cannot dead-letter at once on Service Bus from Python: "
                  "it is retried like any failure")


def queue_settings(app: App, options: AzureOptions) -> tuple[int, float, int] | None:
    """Host-wide ``(maxDequeueCount, visibilityTimeout seconds, batchSize)`` for the app's
    Storage Queue functions, or None when it has none. Azure has one value per host, so the
    most patient queue wins: the largest attempt count and the longest first backoff, so no
    queue gives up sooner or retries sooner than it declared (a retry before what failed the
    message recovers only spends an attempt). ``visibilityTimeout`` is "the time interval
    between retries when processing of a message fails":
    https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue#host-json
    """
    queues = [f.trigger for f in app.functions.values() if isinstance(f.trigger, Queue)]
    if options.queues != "storage" or not queues:
        return None
    return (
        max(q.retry.max_attempts for q in queues),
        # Queues that never retry (max_retries=0) wait for no retry: they do not set the wait.
        min(MAX_QUEUE_VISIBILITY, max(
            (q.retry.initial_backoff for q in queues if q.retry.max_retries > 0), default=1.0
        )),
        min(MAX_QUEUE_BATCH, max(q.batch_size for q in queues)),
    )


# Event Hubs initialOffsetOptions.type for a partition without a checkpoint (host.json, host-wide;
# the host's default is fromStart): https://learn.microsoft.com/azure/azure-functions/
# functions-bindings-event-hubs#host-json
OFFSETS = {"latest": "fromEnd", "trim_horizon": "fromStart"}


def stream_settings(app: App) -> tuple[int, str] | None:
    """Host-wide ``(maxEventBatchSize, initialOffsetOptions.type)`` for the app's Event Hubs
    functions, or None when it has none: the largest batch, and fromStart when any stream asks
    for it (a stream that starts earlier than asked skips nothing)."""
    streams = [f.trigger for f in app.functions.values() if isinstance(f.trigger, Stream)]
    if not streams:
        return None
    start = "trim_horizon" if any(s.start == "trim_horizon" for s in streams) else "latest"
    return max(s.batch_size for s in streams), OFFSETS[start]


# Routes the host keeps for itself: it refuses a function route whose text, lower-cased, begins
# with either ("The specified route conflicts with one or more built in routes", ScriptHost
# .ValidateHttpFunction, https://github.com/Azure/azure-functions-host/issues/1781).
RESERVED_ROUTES = ("admin", "runtime")


def _route(function: Function, trigger: Http) -> list[Finding]:
    route = trigger.path.strip("/").lower()
    if route.startswith(RESERVED_ROUTES):
        return [Finding(function.name, "unsupported",
                        f"{trigger.path}: the Functions host keeps routes beginning with 'admin' "
                        "or 'runtime' for its built in APIs and refuses this function")]
    if not route:  # the host gives an empty route the function's name (ValidateHttpFunction)
        return [Finding(function.name, "unsupported",
                        f"the Functions host serves an empty route at /{function.name}, not at "
                        "/ (Azure/Azure-Functions#2473): / reaches the catch-all instead")]
    return []


def _http(function: Function, trigger: Http, app: App, options: AzureOptions) -> list[Finding]:
    out = _route(function, trigger)
    if trigger.auth != "anonymous":
        out.append(Finding(function.name, "info", "needs a function key (x-functions-key header "
                                                  "or ?code=): AuthLevel.FUNCTION"))
    first_http = next(f for f in app.functions.values() if isinstance(f.trigger, Http))
    if function is first_http and not options.http_fallback:
        out.append(Finding(None, "warning", "http_fallback=False: unmatched routes get the "
                                            "host's empty 404, not the portable JSON error"))
    elif function is first_http:
        out.append(Finding(None, "info", "the anonymous catch-all function portable_fn_fallback "
                                         "({*path}) answers unmatched routes with JSON 404/405; "
                                         "AzureOptions(http_fallback=False) removes it"))
    return out + _cors(function, trigger, app, options)


def _cors(function: Function, trigger: Http, app: App, options: AzureOptions) -> list[Finding]:
    """App Service CORS (``az functionapp cors``, portal "CORS", ``Host.CORS`` in
    local.settings.json) answers preflight before any function runs and sets its own headers
    (https://learn.microsoft.com/cli/azure/functionapp/cors): it would shadow ``pf.CORS``."""
    if trigger.cors is None:
        return []
    owners = preflight_owners(app.functions.values())
    out = []
    if function.name == next(iter(owners.values()), None):  # once per app
        out.append(Finding(None, "info", "CORS is answered by the app (pf.CORS): leave the "
                                         "function app's own CORS settings (az functionapp cors, "
                                         "Host.CORS locally) empty, or they answer preflight "
                                         "first with their headers"))
    if owners.get(trigger.path) != function.name or trigger.auth == "anonymous":
        return out
    # A browser's preflight carries no x-functions-key header (_register_http.takes_preflight).
    if options.http_fallback:
        out.append(Finding(function.name, "info", f"the CORS preflight of {trigger.path} goes "
                                                  "to the anonymous portable_fn_fallback (a "
                                                  "preflight carries no function key)"))
    else:
        out.append(Finding(function.name, "info", f"takes the CORS preflight of {trigger.path} "
                                                  "under AuthLevel.FUNCTION: a preflight carries "
                                                  "no x-functions-key header, so browsers must "
                                                  "pass the key as ?code= in the URL"))
    return out


def _queue(function: Function, trigger: Queue, app: App, options: AzureOptions) -> list[Finding]:
    name, out = function.name, []
    first = next(f for f in app.functions.values()
                 if isinstance(f.trigger, Queue) and f.trigger.name == trigger.name)
    if first is not function:
        out.append(Finding(name, "warning",
                           f"queue {trigger.name!r} also feeds {first.name!r}: competing "
                           "consumers, each message reaches only one of them"))
    if options.queues == "servicebus":
        out.append(Finding(name, "info",
                           f"Service Bus queue {trigger.name!r}: set maxDeliveryCount "
                           f"{trigger.retry.max_attempts} on the queue; redelivery has no backoff"))
        out.append(Finding(name, "info", _NON_RETRYABLE))
        if trigger.dead_letter:
            out.append(Finding(name, "info",
                               f"dead letters go to {trigger.name}/$deadletterqueue; set "
                               f"ForwardDeadLetteredMessagesTo={trigger.dead_letter!r} to honour "
                               "the named queue"))
        if trigger.fifo:
            out.append(Finding(name, "warning", "FIFO: the trigger receives with sessions, so "
                                                "create the queue session-enabled "
                                                "(requiresSession)"))
        return out
    settings = queue_settings(app, options)
    attempts, visibility, batch = settings or (trigger.retry.max_attempts, 1.0, 16)
    poison = f"{trigger.name}-poison"
    if len(poison) > MAX_QUEUE_NAME:
        out.append(Finding(name, "unsupported",
                           f"the poison queue {poison!r} is longer than the {MAX_QUEUE_NAME} "
                           "characters Storage Queues allow: failed messages cannot be moved "
                           "there; shorten the queue name"))
    if trigger.dead_letter and trigger.dead_letter != poison:
        out.append(Finding(name, "unsupported",
                           f"Storage Queues have no named dead-letter queue: messages that fail "
                           f"{attempts} times go to {poison!r}, not {trigger.dead_letter!r}"))
    if attempts != trigger.retry.max_attempts:
        out.append(Finding(name, "warning",
                           f"host.json maxDequeueCount is host-wide: {attempts} attempts, not "
                           f"{trigger.retry.max_attempts}"))
    if attempts > 1:  # one attempt host-wide: no retry to wait for
        declared = trigger.retry.initial_backoff
        if visibility == declared:
            host_wide = ""
        elif declared > MAX_QUEUE_VISIBILITY:
            host_wide = f", the longest Storage Queues allow (7 days), not {declared:g}s"
        else:
            host_wide = (f", host-wide: the longest first backoff of the app's queues, not "
                         f"{declared:g}s")
        out.append(Finding(name, "warning",
                           f"retries wait a fixed visibilityTimeout of {visibility:g}s (host.json"
                           f"{host_wide}), not exponential backoff with jitter"))
    if trigger.fifo:
        out.append(Finding(name, "unsupported",
                           "Storage Queues do not keep order: use AzureOptions(queues="
                           "'servicebus') with a session-enabled queue"))
    if trigger.batch_size != batch:
        out.append(Finding(name, "info", f"host.json queues.batchSize is host-wide: {batch}"))
    return out


# Event Grid's retry policy: 1-30 delivery attempts, its own backoff; without a dead-letter
# destination (a blob container) an event that fails them all is dropped
# (https://learn.microsoft.com/azure/event-grid/delivery-and-retry).
MAX_EVENTGRID_ATTEMPTS = 30


def _eventgrid_retry(name: str, retry: Retry) -> list[Finding]:
    """What an Event Grid subscription's retry policy must say to honour ``retry``, and what
    it cannot: the subscription is the operator's (the app only receives), so these are the
    settings to give it."""
    attempts = min(retry.max_attempts, MAX_EVENTGRID_ATTEMPTS)
    out = [Finding(name, "info", (
        f"set the Event Grid subscription's retry policy to maxDeliveryAttempts {attempts} and "
        "a dead-letter destination (a blob container): without one, Event Grid drops an event "
        "that fails every attempt; it retries on its own schedule, not the declared backoff"))]
    if retry.max_attempts > MAX_EVENTGRID_ATTEMPTS:
        out.append(Finding(name, "warning", (
            f"max_retries={retry.max_retries}: Event Grid delivers an event at most "
            f"{MAX_EVENTGRID_ATTEMPTS} times")))
    return out


def _topic(function: Function, trigger: Topic, _: App, options: AzureOptions) -> list[Finding]:
    name = function.name
    if options.topics == "eventgrid":
        out = [Finding(name, "info", f"Event Grid subscription on topic {trigger.name!r}"),
               *_eventgrid_retry(name, trigger.retry)]
        if trigger.dead_letter:
            out.append(Finding(name, "unsupported",
                               "Event Grid dead-letters to a blob container, not a queue"))
        return out
    subscription = subscription_name(name)
    out = [Finding(name, "info",
                   f"Service Bus subscription {subscription!r} on topic {trigger.name!r}: set "
                   f"maxDeliveryCount {trigger.retry.max_attempts}; redelivery has no backoff")]
    if trigger.dead_letter:
        out.append(Finding(name, "info",
                           f"dead letters go to the subscription's $deadletterqueue; set "
                           f"ForwardDeadLetteredMessagesTo={trigger.dead_letter!r}"))
    out.append(Finding(name, "info", _NON_RETRYABLE))
    return out


def _storage(function: Function, trigger: Storage, _: App, options: AzureOptions) -> list[Finding]:
    name, out = function.name, []
    if not _CONTAINER.fullmatch(trigger.bucket):
        out.append(Finding(name, "unsupported",
                           f"{trigger.bucket!r} cannot be a blob container name (lowercase "
                           "letters, digits and single '-', no '.')"))
    if options.storage_events == "blob":
        out.append(Finding(name, "warning", "the blob trigger polls: events can lag by minutes"))
        if "deleted" in trigger.on:
            out.append(Finding(name, "unsupported",
                               "the blob trigger never fires on deletion: use "
                               "AzureOptions(storage_events='eventgrid')"))
        return out
    types = ", ".join(f"Microsoft.Storage.Blob{a.capitalize()}" for a in trigger.on)
    if "created" in trigger.on:  # Data Lake renames raise only BlobRenamed (blob_events)
        types += ", Microsoft.Storage.BlobRenamed"
    return [*out, Finding(name, "info",
                          f"needs an Event Grid subscription on the storage account for "
                          f"{types}, subject beginning /blobServices/default/containers/"
                          f"{trigger.bucket}/blobs/{trigger.prefix}"),
            *_eventgrid_retry(name, trigger.retry)]


def _schedule(function: Function, trigger: Schedule, _: App, __: AzureOptions) -> list[Finding]:
    result = (ncrontab.from_rate(trigger.rate) if trigger.rate is not None
              else ncrontab.from_cron(trigger.expression))
    out = [Finding(function.name, "info", f"NCRONTAB {result.expression!r} (UTC)")]
    if result.warning:
        out.append(Finding(function.name, "warning", result.warning))
    # The timer's retry policy reruns a failed run; past it nothing holds the run
    # (functions-bindings-error-pages#retries): the failure is only logged.
    out.append(Finding(function.name, "warning", (
        f"a failed run is retried {SCHEDULE_RETRY.max_retries} times by the timer's retry "
        "policy and then has no dead-letter: it shows as a failed invocation in Application "
        "Insights and the function's logs")))
    return out


def _event(function: Function, trigger: Event, _: App, __: AzureOptions) -> list[Finding]:
    return [Finding(function.name, "info",
                    f"Event Grid subscription (CloudEvents schema) filtered on type "
                    f"{trigger.type!r}; events emitted with pf.emit go to EVENTGRID_BUS_ENDPOINT"),
            *_eventgrid_retry(function.name, trigger.retry)]


def _stream(function: Function, trigger: Stream, app: App, __: AzureOptions) -> list[Finding]:
    name = function.name
    out = [Finding(name, "warning",
                   f"Event Hubs has no per-event failure or dead-letter: a failing batch is "
                   f"retried {trigger.retry.max_retries} times, then the checkpoint moves on")]
    group = consumer_group(app, name)
    if group != DEFAULT_CONSUMER_GROUP:
        out.append(Finding(name, "warning",
                           f"reads event hub {trigger.name!r} through consumer group {group!r}, "
                           f"so that it gets every event rather than competing for them with "
                           f"the hub's other functions: create it on the hub (az eventhubs "
                           f"eventhub consumer-group create --eventhub-name {trigger.name} "
                           f"--name {group})"))
    batch, offset = stream_settings(app) or (trigger.batch_size, OFFSETS[trigger.start])
    if offset != OFFSETS[trigger.start]:
        out.append(Finding(name, "warning",
                           f"host.json initialOffsetOptions is host-wide: {offset}, so a new "
                           f"consumer reads the hub's retained events, not only new ones"))
    if batch != trigger.batch_size:
        out.append(Finding(name, "info", f"host.json eventHubs.maxEventBatchSize is host-wide: "
                                         f"batches of up to {batch}"))
    return out


_RULES: dict[type[object], Callable[..., list[Finding]]] = {
    Http: _http, Queue: _queue, Topic: _topic, Storage: _storage, Schedule: _schedule,
    Event: _event, Stream: _stream,
}


def _names(app: App, options: AzureOptions) -> list[Finding]:
    """Function names the host cannot tell apart: it finds functions by name ignoring case
    (FunctionMetadataManager, StringComparer.OrdinalIgnoreCase), and the catch-all takes
    FALLBACK (azure.functions refuses a second function of one name when indexing)."""
    fallback = options.http_fallback and any(
        isinstance(f.trigger, Http) for f in app.functions.values())
    taken: dict[str, str] = {}
    out = []
    for name in app.functions:
        if fallback and name.lower() == FALLBACK:
            out.append(Finding(name, "unsupported",
                               f"{name!r} is the catch-all HTTP function's name to the host; "
                               "rename it (name=...) or use AzureOptions(http_fallback=False)"))
            continue
        other = taken.setdefault(name.lower(), name)
        if other != name:
            out.append(Finding(name, "unsupported",
                               f"Azure function names ignore case: {name!r} and {other!r} are "
                               "one function to the host; rename one (name=...)"))
    return out


def findings(app: App, options: AzureOptions | None = None) -> list[Finding]:
    opts = options or AzureOptions()
    out: list[Finding] = []
    out.extend(_names(app, opts))
    for function in app.functions.values():
        out.extend(_RULES[type(function.trigger)](function, function.trigger, app, opts))
    out.extend(limits_findings(app))
    out.extend(settings_findings(app, opts))
    out.extend(idempotency_findings(app, level="warning", note=IDEMPOTENCY_NOTE))
    return out


IDEMPOTENCY_NOTE = (
    "set PORTABLE_FN_IDEMPOTENCY in the app settings to a store every instance reaches "
    "(redis://HOST:PORT/0 for Azure Cache for Redis); without it each instance keeps its own "
    "memory store and duplicates across instances are not caught"
)
