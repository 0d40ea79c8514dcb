# SPDX-License-Identifier: Apache-2.0
"""Pub/Sub push requests taken before functions-framework's CloudEvent view refuses them.

functions-framework's CloudEvent view reads a request as a CloudEvent, else as a legacy event,
else answers 400 (415 for a body that is not JSON) without calling the function. Two documented
Pub/Sub push forms fall there (``push`` has the shapes): a wrapped body whose message has no
``data`` (an attribute-only message), and an unwrapped push (``--push-no-wrapper``). The
generated ``main.py`` installs ``take`` as a Flask ``before_request`` hook
(https://flask.palletsprojects.com/en/stable/api/#flask.Flask.before_request): a hook that
returns a response ends the request there. ``create_app`` imports ``main.py`` inside the app
context of the app it builds (https://github.com/GoogleCloudPlatform/functions-framework-python,
``functions_framework.create_app``), and names that app after the target, which is how the hook
knows its function.

Every wrapped push body goes this way, not only the ones the framework refuses, so one reading
serves them all (the framework's conversion drops ``orderingKey``, ``deliveryAttempt`` and
``subscription``). A CloudEvent (``ce-specversion`` header, or a structured content type) is
left to the framework at the cost of two dict lookups (binary mode) or a look at the body's first
byte and a UTF-8 check (structured mode), and two byte counts: that is every Eventarc delivery.
An unwrapped push with write metadata (``x-goog-pubsub-message-id``) is a Pub/Sub message even
when its attributes, now headers, are a CloudEvent's (``ce-*``, or a structured ``content-type``):
they follow the Pub/Sub binding, values as published
(https://github.com/googleapis/google-cloudevents/blob/main/docs/spec/pubsub.md), where the HTTP
binding's reader would percent-decode them and strip quoted strings. It is read as a wrapped push.

Except two CloudEvents the framework cannot take: a batch (``application/cloudevents-batch+json``,
HTTP binding section 3.3, https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md#33-batched-content-mode)
and a structured body that is not a JSON object. Its CloudEvents SDK refuses them and its
legacy-event conversion then crashes on the array (a 500, so the sender retries what can never
succeed). One delivery is one event here, so they are malformed deliveries, answered as any other.
Its SDK's ``json.loads`` crashes too (500) on a structured body that is not UTF-8, and on JSON
nested deeper than the parser recurses in either mode: such a request is read here instead, as
the function reads every CloudEvent, so its event runs or it is a malformed delivery.

The same conversion crashes on a JSON body that is an array or a string, which is what an
unwrapped push without write metadata (README: refused, no message id) sends for such a message
(https://cloud.google.com/pubsub/docs/payload-unwrapping): a malformed delivery too, not a 500
and a traceback on every redelivery.
"""

from __future__ import annotations

import sys
from functools import partial
from typing import TYPE_CHECKING, Any

from portable_fn._json import too_deep
from portable_fn.errors import EventDecodeError, FunctionNotFoundError
from portable_fn.triggers import Http, Schedule

if TYPE_CHECKING:
    from portable_fn.app import App

__all__ = ["install", "take"]

_STRUCTURED = "application/cloudevents"


def install(app: App) -> None:
    """Hook ``take`` into the functions-framework app importing ``main.py`` (else do nothing)."""
    flask = sys.modules.get("flask")  # loaded by functions-framework; never imported here
    if flask is None or not flask.has_app_context():
        return  # main.py imported outside create_app: a test, a benchmark, a tool
    flask_app = flask.current_app._get_current_object()  # the app itself, not the proxy
    target = flask_app.name
    try:
        function = app.function(target)
    except FunctionNotFoundError:
        return
    if isinstance(function.trigger, Http | Schedule):
        return  # HTTP-signature functions get every request as it is
    flask_app.before_request(partial(take, app, target))


def take(app: App, name: str) -> Any:
    """Run ``name`` on a bare Pub/Sub push or a CloudEvent the framework's SDK would crash on;
    None (the framework's view runs) for anything else."""
    import flask

    from portable_fn_gcp import functions, push

    request = flask.request
    environ = request.environ
    if environ.get("REQUEST_METHOD") != "POST":
        return None
    # An unwrapped push carrying a CloudEvent has its ce-* attributes (and content-type) as
    # headers: they are the Pub/Sub binding's, values as published, not the HTTP binding's
    # (percent-encoded, quoted strings), so it is read as the message it is, as a wrapped push.
    unwrapped = push.is_unwrapped(request)
    if "HTTP_CE_SPECVERSION" in environ and not unwrapped:  # binary mode
        return _read_here(app, name, request) if _too_deep(request.get_data()) else None
    content_type = environ.get("CONTENT_TYPE", "").lower()
    if content_type.startswith(_STRUCTURED) and not unwrapped:
        body = request.get_data()
        problem = _unreadable(content_type, body)
        if problem is not None:
            return _refuse(app, name, request, problem, "datacontenttype")
        return _read_here(app, name, request) if _crashes_framework(body) else None
    try:
        event = push.from_request(request)
    except EventDecodeError as exc:
        # Malformed like a message whose data cannot be read: dead-lettered at once where the
        # function has a dead-letter topic, as an Eventarc delivery is (functions._run).
        delivered = push.as_received(request)
        return functions.undecodable(app, name, delivered, request, delivered, exc)
    if event is None:
        if not isinstance(push.read_body(request), list | str):
            return None  # the framework's view reads it, or refuses it itself
        problem = "a JSON array or string is neither a CloudEvent nor a Pub/Sub push body"
        return _refuse(app, name, request, problem, "data")
    return functions.run_delivery(app, name, event, request, event)


def _refuse(app: App, name: str, request: Any, problem: str, field: str) -> Any:
    """A request that carries no event ``name`` can run: answered as a malformed delivery."""
    from portable_fn_gcp import functions

    kind = app.function(name).trigger.kind
    error = EventDecodeError(problem, provider="gcp", trigger=kind, field=field)
    # Refused, not moved to the dead-letter topic: neither Pub/Sub nor Eventarc sends a batch or
    # a structured body that is no object, and an unwrapped push without write metadata has no
    # message id (README).
    return functions.undecodable(app, name, None, request, None, error, movable=False)


def _unreadable(content_type: str, body: bytes) -> str | None:
    """Why a ``application/cloudevents...`` request cannot be one event, else None: a batch, or
    a body that is no JSON object (JSON format section 3: an event is one object)."""
    if content_type.startswith("application/cloudevents-batch"):
        return "batched content mode carries many events; send one event per request"
    start = next((byte for byte in body if byte not in _WHITESPACE), None)
    if start != ord("{"):
        return "a structured-mode event must be a JSON object"
    return None


def _read_here(app: App, name: str, request: Any) -> Any:
    """Run ``name`` on a CloudEvent the framework's SDK would crash on, read as the function
    reads every CloudEvent request (``native.from_request``): a malformed one is undecodable."""
    from portable_fn_gcp import functions, native

    kind = app.function(name).trigger.kind
    headers = dict(request.headers.items())
    try:
        event = native.from_request(headers, request.get_data(), trigger=kind)
    except EventDecodeError as exc:
        return functions.undecodable(app, name, None, request, None, exc)
    return functions.run_delivery(app, name, event, request, event)


def _crashes_framework(body: bytes) -> bool:
    """Whether the framework's SDK crashes on this structured-mode body rather than refusing it
    (its ``json.loads`` raises ``UnicodeDecodeError``, which its view does not catch: a 500 and
    a traceback on every redelivery). JSON between systems is UTF-8 (RFC 8259 section 8.1),
    whatever charset the content type names."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return _too_deep(body)


def _too_deep(body: bytes) -> bool:
    """Whether ``body`` is JSON nested deeper than ``json.loads`` recurses, which the SDK parses
    every body as (binary mode: whatever its content type) and crashes on (``RecursionError``).
    Two byte counts settle any body with few brackets (``too_deep``)."""
    return too_deep(body, _SHALLOW)


_WHITESPACE = b" \t\r\n"  # JSON's (RFC 8259 section 2)
# The nesting read as too deep: json.loads recurses once a level and crashes past Python's
# recursion limit (1000) less the server's own stack, which this leaves room for.
_SHALLOW = 500
