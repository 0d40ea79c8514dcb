# SPDX-License-Identifier: Apache-2.0
"""The ``gcp`` object of the ``portable_fn.adapters`` entry point group (an ``Adapter``).

Tooling only: the deployed ``main.py`` never imports this module.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from portable_fn.adapter import Finding

if TYPE_CHECKING:
    from portable_fn.app import App
    from portable_fn.testing import Harness

__all__ = ["GCPAdapter", "adapter"]

# What ``invoke`` takes as an HTTP request rather than as an event's JSON body.
_REQUEST_KEYS = frozenset(("method", "path", "headers", "body"))


class GCPAdapter:
    name = "gcp"

    def findings(self, app: App) -> list[Finding]:
        from portable_fn_gcp.plan import build

        return list(build(app, strict=False).findings)

    def package(self, app: App, app_ref: str, out_dir: Path) -> list[Finding]:
        from portable_fn_gcp.target import package

        return package(app, app_ref, out_dir)

    def sample_events(self) -> Mapping[str, Any]:
        from portable_fn_gcp.samples import SAMPLES

        return SAMPLES

    def invoke(self, app: App, function: str, native_event: Any) -> Any:
        """Run ``function`` on a native event through functions-framework's Flask wiring.

        ``native_event`` is a structured-mode CloudEvent dict; for an event function also any
        other JSON body its senders POST (a Pub/Sub push body, a 1st-gen background event), or
        ``{"method", "path", "headers", "body"}`` (an HTTP request: binary mode, for one; the
        method is GET for an HTTP route, else POST, the one method event senders use); the
        result is ``{"status", "headers", "body", "base64"}`` as the function answered (see
        ``_result``). An event the
        deployed function is never sent (``reach``: an HTTP request to a storage function, any
        event to a stream function, which is not deployed) is a ``ConfigurationError``.
        """
        from portable_fn.triggers import Http

        from portable_fn_gcp import reach
        from portable_fn_gcp.harness import _client

        reach.check(app, function, native_event, self.sample_events())

        route = isinstance(app.function(function).trigger, Http)
        client = _client(app, function)
        if "specversion" in native_event:
            response = client.post(
                "/",
                data=json.dumps(native_event),
                headers={"content-type": "application/cloudevents+json; charset=utf-8"},
            )
        elif not route and not _REQUEST_KEYS.intersection(native_event):
            # None of a request's keys: a body that Pub/Sub push (``message``;
            # https://cloud.google.com/pubsub/docs/push#receive_push) or the 1st-gen runtime
            # (``data`` with ``context`` or ``eventId``) sends, POSTed as JSON as they send it.
            response = client.post(
                "/", data=json.dumps(native_event), headers={"content-type": "application/json"}
            )
        else:
            body = native_event.get("body", b"")
            response = client.open(
                native_event.get("path", "/"),
                method=native_event.get("method", "GET" if route else "POST"),
                headers=native_event.get("headers", {}),
                data=body.encode() if isinstance(body, str) else body,
            )
        return _result(response)

    def harness(self) -> Harness:
        from portable_fn_gcp.harness import GCPHarness

        return GCPHarness()


adapter = GCPAdapter()


def _result(response: Any) -> dict[str, Any]:
    """The answer as the portable ``invoke`` prints a response: each header name (lower-case)
    with all of its values, since a response may repeat one (two ``Set-Cookie`` lines,
    https://www.rfc-editor.org/rfc/rfc6265#section-3); the body as text when it is UTF-8,
    else base64 with ``"base64": true`` (a PNG), as AWS's ``isBase64Encoded`` flags it."""
    headers: dict[str, list[str]] = {}
    for name, value in response.headers.items():
        headers.setdefault(name.lower(), []).append(value)
    data = response.get_data()
    try:
        body, binary = data.decode("utf-8"), False
    except UnicodeDecodeError:
        body, binary = base64.b64encode(data).decode("ascii"), True
    return {"status": response.status_code, "headers": headers, "body": body, "base64": binary}
