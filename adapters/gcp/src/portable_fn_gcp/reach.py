# SPDX-License-Identifier: Apache-2.0
"""Which native events a deployed function can be sent, so ``portable-fn invoke --provider gcp``
refuses one it never could (a usage error, exit 2, naming the samples that fit) instead of
answering for a delivery that cannot happen.

A function receives only what ``deploy.sh`` wires to it (``plan``): an HTTP function, requests
to its own URL; a topic or queue function, the messages of its topic (Eventarc
``messagePublished``); a storage function, its bucket's Eventarc object events
(https://cloud.google.com/functions/docs/calling/storage) or, wired by hand, that bucket's
Pub/Sub notifications (https://cloud.google.com/storage/docs/pubsub-notifications#attributes);
a schedule function, Cloud Scheduler's HTTP request, a Pub/Sub-target job's message or an
``executed`` event (``scheduler``); an ``@app.event`` function, the messages of the app's bus
topic (an application type) or Eventarc's events of its ``google.*`` type. Streams are not
deployed at all. A request whose method and path are another function's route is refused too,
as the Cloudflare adapter refuses it: it is that function's URL that would be called. A body
whose kind cannot be told here (a 1st-gen background event) is left to the function, which
answers as deployed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from portable_fn.adapter import sample_refused
from portable_fn.errors import ConfigurationError, PortableFnError
from portable_fn.triggers import Event, Http, Queue, Schedule, Storage, Topic

from portable_fn_gcp.names import bucket_var
from portable_fn_gcp.pubsub import PUBLISHED
from portable_fn_gcp.scheduler import EXECUTED

if TYPE_CHECKING:
    from portable_fn.app import App
    from portable_fn.triggers import Trigger

__all__ = ["check"]

_REQUEST_KEYS = frozenset(("method", "path", "headers", "body"))
_NOTIFICATION = frozenset(("eventtype", "bucketid", "objectid"))


class Delivery(NamedTuple):
    """What a native event is to a function: an HTTP ``request``, a Pub/Sub ``message`` (with
    its attributes) or a direct ``event`` of a CloudEvent type."""

    kind: str
    type: str = ""
    source: str = ""
    attributes: Mapping[str, Any] = {}


def check(app: App, function: str, native: Any, samples: Mapping[str, Any]) -> None:
    """Raise ``ConfigurationError`` when ``native`` could never be sent to ``function``."""
    trigger = app.function(function).trigger
    if not isinstance(trigger, Http | Queue | Topic | Storage | Schedule | Event):
        raise ConfigurationError(
            f"function {function!r} is a {trigger.kind} function: {trigger.kind} triggers do "
            "not run on gcp (not deployed; see portable-fn inspect)"
        )
    delivery = read(native, route=isinstance(trigger, Http))
    if delivery is None:
        return
    fitting = [name for name, sample in samples.items() if _fits_sample(app, function, sample)]
    if fits(trigger, delivery):
        routed = _routed(app, native) if isinstance(trigger, Http) else None
        if routed is None or routed[2] == function:
            return
        method, path, other = routed
        raise sample_refused(
            f"the sample's {method} {path} routes to {other!r}, not {function!r}: give an "
            "event whose method and path reach it",
            fitting,
        )
    raise sample_refused(
        f"function {function!r} ({trigger.kind}) is never sent {_describe(trigger, delivery)} on "
        "gcp",
        fitting,
    )


def read(native: Any, *, route: bool = False) -> Delivery | None:
    """The delivery ``native`` is, as ``GCPAdapter.invoke`` sends it; None when unknown. For an
    HTTP ``route``, a request is a request whatever its body holds (an API may well take
    ``{"message": ...}``)."""
    if not isinstance(native, dict):
        return None
    if "specversion" in native:  # a structured-mode CloudEvent
        return _cloudevent(native.get("type"), native.get("source"), native.get("data"))
    if "message" in native:  # a Pub/Sub push body
        return _message(native)
    if not _REQUEST_KEYS.intersection(native):
        return None  # a 1st-gen background event, or something else the function will judge
    if route:  # a webhook that takes binary-mode CloudEvents is still sent requests
        return Delivery("request")
    headers = {str(k).lower(): v for k, v in (native.get("headers") or {}).items()}
    if "ce-type" in headers:  # a binary-mode CloudEvent
        return _cloudevent(headers["ce-type"], headers.get("ce-source"), _json(native))
    body = _json(native)
    if isinstance(body, dict) and "specversion" in body:
        return read(body)
    if "x-goog-pubsub-message-id" in headers:  # unwrapped with metadata: attributes as headers
        return Delivery("message", PUBLISHED, "", headers)
    if isinstance(body, dict) and "message" in body:
        return _message(body)  # a push body
    if isinstance(body, dict) and ("context" in body or "eventId" in body):
        return None  # a 1st-gen background event
    return Delivery("request")


def fits(trigger: Trigger, delivery: Delivery) -> bool:
    """Whether what ``deploy.sh`` wires to a function of ``trigger`` includes ``delivery``."""
    kind = delivery.kind
    if isinstance(trigger, Http):
        return kind == "request"
    if isinstance(trigger, Schedule):
        return kind in ("request", "message") or delivery.type == EXECUTED
    if isinstance(trigger, Queue | Topic):
        return kind == "message"
    if isinstance(trigger, Storage):
        if kind == "message":
            # The attributes Cloud Storage sets; an unwrapped push lower-cases their names.
            names = {k.lower(): v for k, v in delivery.attributes.items()}
            return names.keys() >= _NOTIFICATION and names["bucketid"] in _buckets(trigger)
        return (
            kind == "event"
            and delivery.type.startswith("google.cloud.storage.object.")
            and _bucket_of(delivery) in _buckets(trigger)
        )
    if isinstance(trigger, Event):
        if not trigger.type.startswith("google."):
            return kind == "message"  # the app's bus topic
        return kind != "request" and trigger.matches(delivery.type, delivery.source)
    return False


def _fits_sample(app: App, function: str, sample: Any) -> bool:
    trigger = app.function(function).trigger
    delivery = read(sample, route=isinstance(trigger, Http))
    if delivery is None or not fits(trigger, delivery):
        return False
    routed = _routed(app, sample) if isinstance(trigger, Http) else None
    return routed is None or routed[2] == function


def _routed(app: App, request: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """``(method, path, function)`` when the request's method and path are a route of the app
    (the path as the function reads it: no query, percent-decoded once); None when none takes
    them, which the function itself answers (404, 405, a CORS preflight)."""
    from urllib.parse import unquote, urlsplit

    method = str(request.get("method") or "GET").upper()  # GET: what invoke sends a route
    path = unquote(urlsplit(str(request.get("path") or "/")).path) or "/"
    try:
        return method, path, app.match(method, path)[0].name
    except PortableFnError:
        return None


def _buckets(trigger: Storage) -> frozenset[str]:
    """The bucket names a storage function is sent events of: the declared one, or the real
    one ``deploy.sh`` subscribes it to in its place (``$BUCKET_<NAME>``, ``storage``)."""
    return frozenset((trigger.bucket, os.environ.get(bucket_var(trigger.bucket)) or trigger.bucket))


def _bucket_of(delivery: Delivery) -> str:
    """The bucket an Eventarc storage event is of: its source names it
    (``//storage.googleapis.com/projects/_/buckets/BUCKET``,
    https://cloud.google.com/eventarc/docs/cloudevents)."""
    return delivery.source.rpartition("/buckets/")[2]


def _cloudevent(event_type: Any, source: Any, data: Any) -> Delivery:
    if event_type == PUBLISHED:
        return _message(data)
    return Delivery("event", str(event_type or ""), str(source or ""))


def _message(body: Any) -> Delivery:
    message = body.get("message") if isinstance(body, dict) else None
    attributes = message.get("attributes") if isinstance(message, dict) else None
    return Delivery("message", PUBLISHED, "", attributes if isinstance(attributes, dict) else {})


def _json(native: dict[str, Any]) -> Any:
    body = native.get("body")
    try:
        return json.loads(body) if isinstance(body, str | bytes) and body else None
    except ValueError:
        return None


def _describe(trigger: Trigger, delivery: Delivery) -> str:
    if delivery.kind == "request":
        return "an HTTP request"
    if delivery.kind == "message" and isinstance(trigger, Storage):
        names = {k.lower(): v for k, v in delivery.attributes.items()}
        if names.keys() >= _NOTIFICATION:
            return f"Cloud Storage notifications of bucket {names['bucketid']}"
        return "a Pub/Sub message other than a Cloud Storage notification"
    if isinstance(trigger, Storage) and delivery.type.startswith("google.cloud.storage.object."):
        return f"events of bucket {_bucket_of(delivery)}"
    if delivery.kind == "message":
        return "a Pub/Sub message"
    return f"a {delivery.type} event"
