# SPDX-License-Identifier: Apache-2.0
"""Which portable event a delivered CloudEvent is, for the function it was delivered to.

One table keyed by trigger type (STYLE rule 6). Each decoder returns the event to hand to the
function, or None when the delivery is not for it (an event type it did not subscribe to, a key
outside its prefix/suffix, a storage action it did not ask for): such a delivery is
acknowledged without running the handler, since redelivering it could never change that. It
says why (``Decoded.skipped``), and whether the function's own filter declined it (an object
outside the declared prefix, an application event of another type on the shared bus topic:
routine, since Eventarc cannot filter on either) or it is a delivery its trigger never takes
(a Scheduler event sent to a storage function: a misrouted trigger, ``Decoded.misrouted``),
which ``functions`` logs as a WARNING.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from portable_fn.adapter import declined
from portable_fn.errors import ConfigurationError, EventDecodeError
from portable_fn.events import CloudEvent
from portable_fn.triggers import Event, Queue, Schedule, Storage, Topic

from portable_fn_gcp import pubsub, scheduler, storage
from portable_fn_gcp.names import job_name

if TYPE_CHECKING:
    from portable_fn.app import Function

__all__ = ["Decoded", "decode"]


class Decoded(NamedTuple):
    """What a delivery is for the function: its event (None: not for it) and attempt count;
    when not for it, why, and whether its trigger could ever have sent it."""

    event: CloudEvent | None
    attempt: int | None = None
    skipped: str = ""
    misrouted: bool = False


def decode(function: Function, delivered: CloudEvent, *, app: str | None = None) -> Decoded:
    """Decode a delivery for ``function`` (raises ``EventDecodeError`` on a malformed one).
    ``app``, the app's name, names the Cloud Scheduler job ``deploy.sh`` makes for a schedule
    function (``names.job_name``): the job of a run whose message names none."""
    if isinstance(function.trigger, Schedule):
        return _schedule(function, delivered, None if app is None else job_name(app, function.name))
    decoder = _DECODERS.get(type(function.trigger))
    if decoder is None:
        raise ConfigurationError(
            f"{function.trigger.kind} triggers do not run on gcp", function=function.name
        )
    return decoder(function, delivered)


def _message(function: Function, delivered: CloudEvent) -> Decoded:
    kind = function.trigger.kind
    if not pubsub.is_published(delivered):
        return Decoded(delivered)  # a CloudEvent sent straight to the function
    event, message = pubsub.unwrap(delivered, trigger=kind)
    return Decoded(event, message.delivery_attempt)


def _event(function: Function, delivered: CloudEvent) -> Decoded:
    decoded = _message(function, delivered)
    trigger = function.trigger
    event = decoded.event
    if event is None or not isinstance(trigger, Event):
        return Decoded(None, decoded.attempt, "not an event function", True)
    if not trigger.matches(event.type, event.source):
        # On the app's bus topic every application event reaches every @app.event function,
        # which filters by type; a plain message there, or a direct event of another type
        # (Eventarc filters those on the exact type), was never meant for it.
        carried = pubsub.is_published(delivered) and not pubsub.is_published(event)
        skipped = f"type {event.type} is not {trigger.type}"
        return Decoded(None, decoded.attempt, skipped, not carried)
    return decoded


def _storage(function: Function, delivered: CloudEvent) -> Decoded:
    trigger = function.trigger
    attempt = None
    if pubsub.is_published(delivered):
        message = pubsub.parse(delivered, trigger="storage")
        attempt = message.delivery_attempt
        body = _json(message.data)
        event = storage.from_notification(
            body,
            dict(message.attributes),
            message_id=message.message_id or delivered.id,
            fallback_time=message.publish_time,
        )
    elif storage.is_storage(delivered):
        event = storage.to_storage_event(delivered)
    else:
        return Decoded(None, attempt, "not a Cloud Storage object event", True)
    if event is None or not isinstance(trigger, Storage):
        return Decoded(None, attempt, "a storage change with no portable action")
    reason = declined(function, event)  # the core's filter, in the words it logs
    if reason is not None:
        return Decoded(None, attempt, reason)
    return Decoded(storage.declared_bucket(event, trigger.bucket), attempt)


def _json(data: bytes) -> Any:
    if not data:
        return None  # payload format NONE
    try:
        return json.loads(data)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than it recurses
        raise EventDecodeError(
            "storage notification data is not JSON",
            provider="gcp",
            trigger="storage",
            field="data.message.data",
        ) from None


def _schedule(function: Function, delivered: CloudEvent, job: str | None) -> Decoded:
    if not pubsub.is_published(delivered) and delivered.type != scheduler.EXECUTED:
        # Only the three documented forms are a run (scheduler); a storage event is not one.
        return Decoded(None, None, "not a Cloud Scheduler run", True)
    trigger = function.trigger
    expression = trigger.expression if isinstance(trigger, Schedule) else ""
    event = scheduler.from_event(
        delivered, function=function.name, expression=expression, job=job
    )
    # A Pub/Sub-target job's message (Eventarc, or pushed to the function's URL) carries
    # deliveryAttempt when the subscription has a dead-letter policy
    # (https://cloud.google.com/pubsub/docs/push#receive_push): the run's attempt, as for
    # topics. Read again here (a small message) so ``scheduler`` keeps one job: the event.
    attempt = None
    if pubsub.is_published(delivered):
        attempt = pubsub.parse(delivered, trigger="schedule").delivery_attempt
    return Decoded(event, attempt)


_DECODERS: dict[type, Callable[[Function, CloudEvent], Decoded]] = {
    Queue: _message,
    Topic: _message,
    Event: _event,
    Storage: _storage,
}
