# SPDX-License-Identifier: Apache-2.0
"""The contract-suite harness (``portable_fn.testing.Harness``) for GCP.

Each call goes through functions-framework's own Flask wiring (``_configure_app``, the code
``create_app`` runs for ``main.py``, and its ``crash_handler``) with real ``flask.Request`` and
``cloudevents`` 1.x objects, in-process through Flask's test client. Events travel as Eventarc
delivers them: binary-mode CloudEvents over HTTP, Pub/Sub messages wrapped in
``messagePublished`` as portable-fn's publisher would have sent them. The tests in
``adapters/gcp/tests`` run the same entries under the real functions-framework server.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from portable_fn.errors import ConfigurationError, MethodNotAllowed, NotFound
from portable_fn.events import CloudEvent
from portable_fn.http import Headers, Request, Response
from portable_fn.testing import harness_function, offline
from portable_fn.triggers import Http, Stream

from portable_fn_gcp.binding import to_message
from portable_fn_gcp.error_pages import install as install_error_pages
from portable_fn_gcp.functions import HANDLER_ERROR, cloud_event_function, http_function
from portable_fn_gcp.intake import install as install_push_intake
from portable_fn_gcp.names import dead_letter_topic, job_name
from portable_fn_gcp.storage import TYPES as STORAGE_TYPES

if TYPE_CHECKING:
    from portable_fn.app import App

__all__ = ["GCPHarness", "published_envelope", "storage_envelope"]

_TOPIC_SOURCE = "//pubsub.googleapis.com/projects/test-project/topics/"


class GCPHarness:
    provider = "gcp"

    def http(self, app: App, request: Request) -> Response:
        client = _client(app, _http_target(app, request))
        headers = request.headers.items()
        if request.client_ip:  # Google's front end appends the address it saw
            headers = [*headers, ("x-forwarded-for", request.client_ip)]
        with offline(app):
            native = client.open(
                quote(request.path),  # as a client sends it: werkzeug decodes PATH_INFO once
                method=request.method,
                query_string=request.query.items(),
                headers=headers,
                data=request.body,
            )
        return Response(
            status=native.status_code,
            headers=Headers(list(native.headers.items())),
            body=native.get_data(),
        )

    def deliver(self, app: App, function: str, events: Sequence[CloudEvent]) -> list[bool]:
        # Pub/Sub push: one message per request, so one HTTP call per event.
        if isinstance(harness_function(app, function, "deliver").trigger, Stream):
            # As deploy.sh deploys none: a test of it here is a mistake, not a failed delivery.
            raise ConfigurationError(f"{function}: stream triggers do not run on gcp")
        client = _client(app, function)
        topic = _topic_of(app, function)
        results = []
        with offline(app):
            for event in events:
                headers, body = published_envelope(event, topic)
                status = client.post("/", headers=headers, data=body).status_code
                results.append(200 <= status < 300)
        return results

    def schedule(self, app: App, function: str, scheduled_time: datetime) -> None:
        harness_function(app, function, "schedule")
        stamp = scheduled_time.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
        headers = {
            "X-CloudScheduler": "true",
            "X-CloudScheduler-JobName": job_name(app.name, function),  # deploy.sh's job
            "X-CloudScheduler-ScheduleTime": stamp,
            "User-Agent": "Google-Cloud-Scheduler",
        }
        with offline(app):
            _check(_client(app, function).post("/", headers=headers, environ_base=_errors()))

    def storage(
        self,
        app: App,
        function: str,
        *,
        bucket: str,
        key: str,
        size: int,
        etag: str,
        action: Literal["created", "deleted"],
    ) -> None:
        harness_function(app, function, "storage")
        headers, body = storage_envelope(
            bucket=bucket, key=key, size=size, etag=etag, action=action
        )
        with offline(app):
            _check(_client(app, function).post(
                "/", headers=headers, data=body, environ_base=_errors()
            ))

    def dead_letters(self, app: App) -> dict[str, str]:
        """Each retried event function's dead-letter topic, as ``deploy.sh`` creates it: one
        per subscription (https://cloud.google.com/pubsub/docs/handling-failures), the
        declared one or ``<app>-<function>-dlq`` (``names.dead_letter_topic``)."""
        named = {name: dead_letter_topic(app, fn) for name, fn in app.functions.items()}
        return {name: topic for name, topic in named.items() if topic is not None}

    def invoke_failure(self, app: App, function: str, result: Any) -> str | None:
        """Why ``GCPAdapter.invoke``'s ``{"status", ...}`` is a failure, else None. Eventarc and
        Pub/Sub push redeliver on any answer outside 2xx
        (https://cloud.google.com/eventarc/docs/retry-events,
        https://cloud.google.com/pubsub/docs/push#receive_push); an HTTP function fails on a 5xx
        (a 4xx is the client's error, as in the portable ``invoke``)."""
        status = result.get("status") if isinstance(result, dict) else None
        if not isinstance(status, int):
            return None
        if isinstance(app.function(function).trigger, Http):
            return f"HTTP {status}" if status >= 500 else None
        if 200 <= status < 300:
            return None
        return f"HTTP {status}: the event is not acknowledged and is delivered again"


def published_envelope(event: CloudEvent, topic: str) -> tuple[dict[str, str], bytes]:
    """The binary-mode HTTP request Eventarc sends for a Pub/Sub message carrying ``event``."""
    data, attributes = to_message(event)
    message_id = str(uuid.uuid4())
    body: dict[str, Any] = {
        "message": {
            "data": base64.b64encode(data).decode("ascii"),
            "attributes": attributes,
            "messageId": message_id,
            "publishTime": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
        },
        "subscription": f"projects/test-project/subscriptions/eventarc-{topic}",
    }
    headers = {
        "ce-specversion": "1.0",
        "ce-id": message_id,
        "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
        "ce-source": _TOPIC_SOURCE + topic,
        "ce-time": body["message"]["publishTime"],
        "content-type": "application/json",
    }
    return headers, json.dumps(body).encode()


def storage_envelope(
    *, bucket: str, key: str, size: int, etag: str, action: Literal["created", "deleted"]
) -> tuple[dict[str, str], bytes]:
    """The binary-mode HTTP request Eventarc sends for a Cloud Storage object event."""
    generation = str(int(datetime.now(timezone.utc).timestamp() * 1_000_000))
    body = {
        "bucket": bucket,
        "name": key,
        "size": str(size),
        "etag": etag,
        "generation": generation,
        "kind": "storage#object",
    }
    headers = {
        "ce-specversion": "1.0",
        "ce-id": generation,
        "ce-type": STORAGE_TYPES[action],
        "ce-source": f"//storage.googleapis.com/projects/_/buckets/{bucket}",
        "ce-subject": f"objects/{key}",
        "ce-time": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
        "content-type": "application/json",
    }
    return headers, json.dumps(body).encode()


def _topic_of(app: App, function: str) -> str:
    trigger: Any = app.function(function).trigger
    name = getattr(trigger, "name", None)
    return name if isinstance(name, str) else f"{app.name}-events"


def _http_target(app: App, request: Request) -> str:
    try:
        return app.match(request.method, request.path)[0].name
    except MethodNotAllowed:
        matching = [f for f in app.functions.values() if f.match_path(request.path) is not None]
        return matching[0].name
    except NotFound:
        return next(f.name for f in app.functions.values() if isinstance(f.trigger, Http))


def _client(app: App, function: str) -> Any:
    import flask
    import functions_framework

    fn = app.function(function)
    http = isinstance(fn.trigger, Http) or fn.trigger.kind == "schedule"
    entry = http_function(app, function) if http else cloud_event_function(app, function)
    native = flask.Flask(function)
    native.register_error_handler(500, functions_framework.crash_handler)
    install_error_pages(native.errorhandler)  # what the generated main.py does
    configure: Any = functions_framework._configure_app  # untyped; the code create_app runs
    configure(native, entry, "http" if http else "cloudevent")
    with native.app_context():  # as create_app imports main.py: the push intake it installs
        install_push_intake(app)
    # use_cookies=False: the request's own Cookie header must reach the function untouched.
    return native.test_client(use_cookies=False)


def _errors() -> dict[str, list[BaseException]]:
    """The environ entry in which the function, run in-process, leaves its handler's exception
    (``functions.HANDLER_ERROR``; the test client copies the environ, the list is shared)."""
    return {HANDLER_ERROR: []}


def _check(response: Any) -> None:
    """Raise when the delivery was not acknowledged: the handler's own exception when it failed,
    as the AWS, Azure and Cloudflare harnesses raise it, so ``pytest.raises`` names the same
    exception on every provider; ``AssertionError`` for an answer no handler exception is
    behind (a 400 for a malformed delivery)."""
    if 200 <= response.status_code < 300:
        return
    errors = response.request.environ.get(HANDLER_ERROR)
    if errors:
        raise errors[-1]
    raise AssertionError(f"delivery failed: {response.status_code} {response.get_data()!r}")
