# SPDX-License-Identifier: Apache-2.0
"""The functions functions-framework serves: one real function per portable handler.

functions-framework looks the target up by name in ``main.py`` and insists on a
``types.FunctionType`` (``_function_registry.get_user_function``); its ``@http`` and
``@cloud_event`` decorators register the signature type under ``func.__name__``. So each entry
here is a fresh function object whose ``__name__`` is the handler's name:
https://cloud.google.com/functions/docs/writing#entry-point and
https://github.com/GoogleCloudPlatform/functions-framework-python#quickstart-http-function .

Failure, per https://cloud.google.com/functions/docs/bestpractices/retries : an event function
that does not answer 2xx is redelivered by Pub/Sub/Eventarc until the subscription's dead-letter
policy moves the message aside. The status says why: 400 malformed delivery, 422 the handler
refused it for good (``NonRetryable``), 500 the handler failed. Bodies are JSON, never a
traceback. A message that can never succeed (malformed, or ``NonRetryable``) is first published
to the function's dead-letter topic directly and acknowledged (``dead_letter``), so it does not
burn Pub/Sub's 5+ attempts; only if that publish fails does the 400/422 stand.
"""

from __future__ import annotations

import os
import time
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from portable_fn._invocation import event_logger
from portable_fn.adapter import Context, dispatch_event, dispatch_http
from portable_fn.errors import ConfigurationError, EventDecodeError
from portable_fn.http import Response
from portable_fn.triggers import Http, Schedule

from portable_fn_gcp import http, tracing
from portable_fn_gcp.names import job_name

if TYPE_CHECKING:
    from portable_fn.app import App, Function

    from portable_fn_gcp.route import Decoded

__all__ = ["cloud_event_function", "http_function", "run_delivery", "undecodable"]

PROVIDER = "gcp"
# What gen2 stops a function at when it declares no timeout: ctx.deadline is worked out from it
# (https://cloud.google.com/functions/docs/configuring/timeout).
DEFAULT_TIMEOUT = 60
# The WSGI environ key of a list the in-process harness puts in its requests: a failed delivery
# adds its handler's exception there, for the harness to raise as the other providers' harnesses
# raise the handler's own exception (a 500 says only that it failed). No deployed request has it.
HANDLER_ERROR = "portable_fn.handler_errors"


def http_function(app: App, name: str) -> Callable[[Any], Any]:
    """An HTTP-signature function for ``name``: an ``@app.http`` route, or an
    ``@app.schedule`` handler run by a Cloud Scheduler HTTP-target job."""
    function = app.function(name)
    trigger = function.trigger
    timeout = _timeout(function)
    if isinstance(trigger, Http):

        def serve(request: Any) -> Any:
            ctx = _context(name, request, request, time.time() + timeout)
            response = dispatch_http(app, http.to_request(request), ctx, function=name)
            return http.from_response(response, head=request.method == "HEAD")

        return _named(serve, name)
    if isinstance(trigger, Schedule):
        expression = trigger.expression
        job = job_name(app.name, name)  # what a manual call (no Scheduler headers) names

        def fire(request: Any) -> Any:
            deadline = time.time() + timeout
            # Codecs load at the first delivery (see cloud_event_function).
            from portable_fn_gcp import native, push, scheduler

            headers = dict(request.headers.items())
            try:
                # An HTTP-target job says so in its headers, whatever body and content type the
                # job was given; only without them is a CloudEvent body an Eventarc delivery.
                if not scheduler.is_http_target(headers):
                    # An unwrapped push is a Pub/Sub message, whatever ce-* headers it carries
                    # (intake).
                    if _is_cloudevent(headers) and not push.is_unwrapped(request):
                        data = request.get_data()
                        event = native.from_request(headers, data, trigger="schedule")
                        return _run(app, name, event, request, request, deadline)
                    # A Pub/Sub-target job's message pushed to the function's URL: the run is
                    # the message's publishTime, as through Eventarc, not the time it arrived.
                    pushed = push.from_request(request)
                    if pushed is not None:
                        return _run(app, name, pushed, request, request, deadline)
                event = scheduler.from_headers(headers, function=name, expression=expression,
                                               job=job)
            except EventDecodeError as exc:
                # No dead-letter topic (Cloud Scheduler has none): an ERROR line and a JSON 400.
                return undecodable(app, name, None, request, request, exc)
            return _run(app, name, event, request, request, deadline, decoded=True)

        return _named(fire, name)
    raise ConfigurationError(
        f"{trigger.kind} functions are CloudEvent functions: use cloud_event_function",
        function=name,
    )


def cloud_event_function(app: App, name: str) -> Callable[[Any], Any]:
    """A CloudEvent-signature function for ``name`` (topic, queue, storage, schedule, event)."""
    function = app.function(name)
    if isinstance(function.trigger, Http):
        raise ConfigurationError("HTTP routes are HTTP functions: use http_function", function=name)
    kind = function.trigger.kind
    timeout = _timeout(function)

    def receive(cloud_event: Any) -> Any:
        deadline = time.time() + timeout
        # Event codecs load at the first delivery, not when main.py is imported: every function
        # of an app imports the same main.py, and one deployed for HTTP never reads an event.
        from portable_fn_gcp import native, push

        request = _flask_request()
        try:
            if request is not None and _is_cloudevent(dict(request.headers.items())):
                event = native.from_request(
                    dict(request.headers.items()), request.get_data(), trigger=kind
                )
            else:  # legacy/background or raw push bodies functions-framework converted
                event = native.from_native(cloud_event, trigger=kind)
                event = push.restore(event, push.read_body(request))
        except EventDecodeError as exc:
            # No event to forward: undecodable moves the request as it came.
            return undecodable(app, name, None, request, cloud_event, exc)
        return _run(app, name, event, request, cloud_event, deadline)

    return _named(receive, name)


def _run(
    app: App,
    name: str,
    delivered: Any,
    request: Any,
    native_event: Any,
    deadline: float,
    *,
    decoded: bool = False,
) -> Any:
    from portable_fn_gcp import dead_letter, route  # at the first delivery, as the codecs

    try:
        function = app.function(name)
        result = (
            route.Decoded(delivered)
            if decoded
            else route.decode(function, delivered, app=app.name)
        )
    except EventDecodeError as exc:
        return undecodable(app, name, delivered, request, native_event, exc)
    ctx = _context(name, request, native_event, deadline, attempt=result.attempt or 1)
    if result.event is None:
        _not_run(ctx, delivered, result)
        return "OK"  # not for this function: acknowledge, see route
    outcome = dispatch_event(app, name, result.event, ctx)
    if outcome.ok:
        return "OK"
    declared = _attempts(function)
    # Rejected for good, or the last attempt declared (the first with max_retries=0):
    # dead-lettered now, as on every provider, where Pub/Sub would go on to its least of 5.
    if not outcome.retryable or ctx.attempt >= declared:
        why = outcome.reason or (
            f"failed attempt {ctx.attempt} of {declared}" if outcome.retryable else "rejected"
        )
        # The event's own ids (correlation, trace), as the handler's lines had them.
        log = event_logger(app, function, result.event, ctx)
        if dead_letter.forward(app, name, delivered, why, log, request):
            return "OK"
    _keep_error(request, outcome.error)
    if not outcome.retryable:
        _abort(_failure(422, "event rejected by the handler"))
    _abort(_failure(500, "event handler failed"))


def _attempts(function: Function) -> int:
    """The attempts an event function declares (``max_retries + 1``)."""
    retry = getattr(function.trigger, "retry", None)
    return retry.max_attempts if retry is not None else 1


def _keep_error(request: Any, error: BaseException | None) -> None:
    environ = getattr(request, "environ", None)
    errors = environ.get(HANDLER_ERROR) if isinstance(environ, dict) else None
    if isinstance(errors, list) and error is not None:
        errors.append(error)


def _not_run(ctx: Context, delivered: Any, result: Decoded) -> None:
    """Say why a delivery was acknowledged without running the handler: a WARNING when the
    trigger could never have sent it (a misrouted trigger, events lost to the handler), else
    INFO (the function's own filter declined it, as it was declared to)."""
    level = "WARNING" if result.misrouted else "INFO"
    event_type = getattr(delivered, "type", None)
    ctx.logger.log(level, "delivery not for this function: acknowledged, not run",
                   event_type=event_type, event_id=getattr(delivered, "id", None),
                   reason=result.skipped)


def run_delivery(app: App, name: str, delivered: Any, request: Any, native_event: Any) -> Any:
    """Run ``name`` on a delivery read outside functions-framework's views (``intake``),
    answered as the views answer theirs."""
    deadline = time.time() + _timeout(app.function(name))
    return _run(app, name, delivered, request, native_event, deadline)


def undecodable(
    app: App,
    name: str,
    delivered: Any,
    request: Any,
    native_event: Any,
    exc: EventDecodeError,
    *,
    movable: bool = True,
) -> Any:
    """A delivery that can never be read: moved to the dead-letter topic and acknowledged, so
    Pub/Sub does not spend its attempts on it
    (https://cloud.google.com/pubsub/docs/handling-failures); else (no dead-letter topic, the
    publish failed, ``movable`` False) a JSON 400 leaves it to Pub/Sub. ``delivered`` None (no
    event could be read) moves the request's Pub/Sub message if it holds one, else the request
    as it came (``dead_letter``)."""
    from portable_fn_gcp import dead_letter, push

    if delivered is None and request is not None:
        delivered = push.as_received(request)  # a push body or Eventarc's messagePublished
    log = _context(name, request, native_event).logger
    # ERROR, as the other providers log a delivery that cannot be decoded; the message id
    # finds it on the dead-letter topic or in Pub/Sub's redeliveries.
    fields = dead_letter.about(delivered, request)
    log.error("malformed delivery", error=str(exc), field=exc.field, **fields)
    reason = f"EventDecodeError: {exc}"
    if movable and dead_letter.forward(app, name, delivered, reason, log, request, fields):
        return "OK"
    _abort(_failure(400, f"malformed delivery: {exc}"))


def _timeout(function: Function) -> int:
    """Seconds gen2 gives one invocation of ``function``: functions-framework passes the
    handler no deadline, so ``ctx.deadline`` is its start plus this."""
    timeout = function.limits.timeout
    return DEFAULT_TIMEOUT if timeout is None else timeout


def _context(
    name: str, request: Any, native_event: Any, deadline: float | None = None, attempt: int = 1
) -> Context:
    # functions-framework's execution id header, read from the WSGI environ (cheapest path).
    environ = getattr(request, "environ", None)
    execution = environ.get("HTTP_FUNCTION_EXECUTION_ID") if environ is not None else None
    return Context(
        provider=PROVIDER,
        function_name=name,
        invocation_id=execution or os.urandom(8).hex(),
        attempt=attempt,
        deadline=deadline,
        native=native_event,
        traceparent=tracing.delivery_traceparent(environ),
    )


def _is_cloudevent(headers: dict[str, str]) -> bool:
    lowered = {k.lower(): v for k, v in headers.items()}
    return "ce-specversion" in lowered or lowered.get("content-type", "").lower().startswith(
        "application/cloudevents"
    )


def _flask_request() -> Any:
    """The raw request when running inside functions-framework's Flask app, else None."""
    import sys

    flask = sys.modules.get("flask")  # loaded by functions-framework; never imported here
    if flask is None or not flask.has_request_context():
        return None
    return flask.request


def _failure(status: int, message: str) -> Response:
    return Response.json({"error": {"status": status, "message": message}}, status=status)


def _abort(response: Response) -> NoReturn:
    from werkzeug.exceptions import abort

    # An HTTPException carrying a ready response: Flask sends it untouched, bypassing
    # functions-framework's crash handler (which would answer text/plain with the message).
    abort(http.from_response(response))


def _named(func: Callable[[Any], Any], name: str) -> Callable[[Any], Any]:
    """A copy of ``func`` that is a real function named ``name``."""
    code = func.__code__.replace(co_name=name)
    if hasattr(code, "co_qualname"):  # Python >= 3.11
        code = getattr(code, "replace")(co_qualname=name)  # noqa: B009 - absent on 3.10 stubs
    named = types.FunctionType(code, func.__globals__, name, func.__defaults__, func.__closure__)
    named.__qualname__ = name
    named.__doc__ = f"portable-fn handler {name!r} served by functions-framework."
    named.__module__ = func.__module__
    return named
