# SPDX-License-Identifier: Apache-2.0
"""HTTP functions: the Flask request functions-framework passes in, and the response back.

functions-framework calls an HTTP function with a ``flask.Request`` and sends back whatever
Flask's ``make_response`` accepts:
https://cloud.google.com/functions/docs/writing/write-http-functions and
https://flask.palletsprojects.com/en/stable/api/#flask.Request . The request is duck-typed
(``FlaskRequest``) so this module never imports Flask at import time.

Cloud Run functions hand the function the full path of the request, so routing happens on
``request.path`` exactly as on the other providers.

The response is a werkzeug ``Response`` (werkzeug is loaded already wherever functions-framework
runs, so the import in ``from_response`` costs nothing there), built from the header pairs so that
repeated headers such as several ``Set-Cookie`` stay apart, and with Flask's default
``text/html`` content type removed when the handler set none.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from portable_fn.http import Headers, QueryParams, Request, Response

__all__ = ["FlaskRequest", "from_response", "to_request"]


class _MultiDict(Protocol):
    def items(self, multi: bool = ...) -> Iterable[tuple[str, str]]: ...


class _HeaderMap(Protocol):
    def items(self) -> Iterable[tuple[str, str]]: ...

    def get(self, key: str) -> str | None: ...


class FlaskRequest(Protocol):
    """The parts of ``flask.Request`` (a werkzeug ``Request``) this module reads."""

    method: str
    path: str
    headers: _HeaderMap
    args: _MultiDict
    remote_addr: str | None

    def get_data(self, cache: bool = ...) -> bytes: ...


def to_request(native: FlaskRequest) -> Request:
    """A portable ``Request``; repeated headers and query keys keep every value."""
    return Request(
        method=native.method.upper(),
        path=native.path or "/",
        headers=Headers(list(native.headers.items())),
        query=QueryParams(list(native.args.items(multi=True))),
        body=native.get_data(),
        client_ip=_client_ip(native),
    )


def from_response(response: Response) -> Any:
    """The ``werkzeug.wrappers.Response`` the view returns (Flask sends it as is)."""
    from werkzeug.wrappers import Response as WerkzeugResponse

    headers = response.headers
    native = WerkzeugResponse(response.body, status=response.status, headers=headers.items())
    if "content-type" not in headers:
        del native.headers["Content-Type"]  # werkzeug's default text/plain, not the handler's
    return native


def _client_ip(native: FlaskRequest) -> str | None:
    # Behind Google's front end remote_addr is the proxy. The front end appends the address it
    # saw to X-Forwarded-For, so the last hop is the one a client cannot forge; earlier hops
    # are whatever the client sent (https://cloud.google.com/run/docs/container-contract).
    forwarded = native.headers.get("X-Forwarded-For")
    if forwarded and forwarded.strip():
        return forwarded.rsplit(",", 1)[-1].strip()
    return native.remote_addr
