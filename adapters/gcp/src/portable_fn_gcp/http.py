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
``text/html`` content type removed when the handler set none. A response HTTP cannot carry (a
1xx status, a header name that is not a token, a value with a control or non-Latin-1
character) is the portable JSON 500: gunicorn would answer its own HTML page or drop the
connection. So is a body over the 32 MB a 2nd-gen function may answer without streaming
(https://cloud.google.com/functions/quotas, "Max uncompressed HTTP response size"), which the
front end would refuse with no word from the function: the 500 says why, and the log too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from portable_fn.adapter import unsendable
from portable_fn.http import Headers, QueryParams, Request, Response
from portable_fn.log import Logger

__all__ = ["FlaskRequest", "from_response", "to_request"]


# The two headers PEP 3333 keeps out of the HTTP_ namespace.
_CGI_HEADERS = (("CONTENT_TYPE", "content-type"), ("CONTENT_LENGTH", "content-length"))


class FlaskRequest(Protocol):
    """The parts of ``flask.Request`` (a werkzeug ``Request``) this module reads."""

    environ: Mapping[str, Any]
    remote_addr: str | None

    def get_data(self, cache: bool = ...) -> bytes: ...


def to_request(native: FlaskRequest) -> Request:
    """A portable ``Request``; repeated query keys keep every value.

    Read straight from the WSGI environ (PEP 3333): the same pairs werkzeug's ``EnvironHeaders``
    and ``args`` give, without building them (this runs on every request).
    """
    environ = native.environ
    pairs = [
        (key[5:].replace("_", "-").lower(), value)
        for key, value in environ.items()
        if key[:5] == "HTTP_"
    ]
    for cgi, name in _CGI_HEADERS:
        value = environ.get(cgi)
        if value:
            pairs.append((name, value))
    # WSGI strings are latin-1 stand-ins for bytes; the query itself is UTF-8 (RFC 3986).
    query = environ.get("QUERY_STRING", "").encode("latin-1").decode("utf-8", "replace")
    forwarded = environ.get("HTTP_X_FORWARDED_FOR")
    # PATH_INFO is already percent-decoded, as latin-1 stand-ins for the UTF-8 bytes.
    path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
    return Request(
        method=environ.get("REQUEST_METHOD", "GET").upper(),
        path=path if path.startswith("/") else "/" + path,  # as sent: `//a` is not `/a`
        headers=Headers(pairs),
        query=QueryParams.from_string(query),
        body=native.get_data(),
        client_ip=_client_ip(forwarded, native.remote_addr),
    )


_INTERNAL_ERROR = Response.json(
    {"error": {"status": 500, "message": "internal server error"}}, status=500
)
# Cloud Run counts its HTTP/1 limits in MiB (https://cloud.google.com/run/quotas).
_MAX_BODY = 32 * 1024 * 1024
_TOO_LARGE = Response.json(
    {"error": {"status": 500, "message": "response too large: the limit is 32 MiB"}}, status=500
)


def from_response(response: Response, *, head: bool = False) -> Any:
    """The ``werkzeug.wrappers.Response`` the view returns (Flask sends it as is); ``head``:
    the answer to a HEAD request."""
    from werkzeug.wrappers import Response as WerkzeugResponse

    problem = unsendable(response)
    if problem is not None:
        Logger({"provider": "gcp"}).error("the handler's response cannot be sent", reason=problem)
        response = _INTERNAL_ERROR
    elif len(response.body) > _MAX_BODY:
        Logger({"provider": "gcp"}).error(
            "the handler's response is over the response size limit", limit=_MAX_BODY
        )
        response = _TOO_LARGE
    headers = response.headers
    # RFC 9110 section 15.3.6: no content in a 205 (werkzeug drops a 204's and a 304's only).
    body = response.body if response.status != 205 else b""
    native = WerkzeugResponse(body, status=response.status, headers=headers.items())
    if "content-type" not in headers:
        del native.headers["Content-Type"]  # werkzeug's default text/plain, not the handler's
    declared = headers.get("content-length")
    if head and declared is not None:
        # A HEAD answer (the core drops its content) keeps the GET content's length, which
        # werkzeug would reset to 0 for the empty body (RFC 9110 section 8.6: only that value).
        native.headers["Content-Length"] = declared
    return native


def _client_ip(forwarded: str | None, remote_addr: str | None) -> str | None:
    # Behind Google's front end remote_addr is the proxy. The front end appends the address it
    # saw to X-Forwarded-For, so the last hop is the one a client cannot forge; earlier hops
    # are whatever the client sent (https://cloud.google.com/run/docs/container-contract).
    if forwarded and forwarded.strip():
        return forwarded.rsplit(",", 1)[-1].strip()
    return remote_addr
