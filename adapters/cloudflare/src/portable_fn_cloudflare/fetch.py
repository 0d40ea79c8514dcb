# SPDX-License-Identifier: Apache-2.0
"""HTTP: a Workers ``fetch`` Request to ``pf.Request``, and ``pf.Response`` back to a Response.

Shapes: the WHATWG Request/Response the Workers runtime hands a ``fetch`` handler
(https://developers.cloudflare.com/workers/runtime-apis/request/,
https://developers.cloudflare.com/workers/runtime-apis/response/) and the Python SDK's wrappers
(https://developers.cloudflare.com/workers/languages/python/ffi/). Bodies travel as raw bytes
both ways, so binary payloads are never re-encoded (no base64 on Workers).

The JS side is duck-typed, so the translation is testable in CPython: ``request_from_parts``
holds all the logic, ``read_request`` only pulls the parts off the JS object.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

from portable_fn.adapter import NO_CONTENT, unsendable
from portable_fn.http import Headers, QueryParams, Request, Response
from portable_fn.log import Logger

# Cloudflare sets the connecting client's address in this header on every request
# (https://developers.cloudflare.com/fundamentals/reference/http-headers/#cf-connecting-ip).
_CLIENT_IP_HEADER = "cf-connecting-ip"

# The answer to a response HTTP cannot carry (``portable_fn.adapter.unsendable``, as on every
# provider). The Workers Response and Headers constructors (the Fetch standard) throw on most
# of them: a header name that is no token (https://fetch.spec.whatwg.org/#concept-header-name),
# a value with NUL, CR or LF (https://fetch.spec.whatwg.org/#concept-header-value), a status
# outside 200-599 (https://fetch.spec.whatwg.org/#dom-response), which inside the Worker is
# error 1101 and an HTML page instead of an answer.
_UNSENDABLE = Response.json(
    {"error": {"status": 500, "message": "internal server error"}}, status=500
)
_log = Logger({"provider": "cloudflare"})


def request_from_parts(
    method: str, url: str, header_pairs: Iterable[tuple[str, str]], body: bytes
) -> Request:
    """A portable Request from what a Workers Request carries."""
    parts = urlsplit(url)
    headers = Headers(list(header_pairs))
    return Request(
        method=method.upper(),
        path=unquote(parts.path) or "/",
        headers=headers,
        query=QueryParams.from_string(parts.query),
        body=body,
        client_ip=headers.get(_CLIENT_IP_HEADER),
    )


async def read_request(request: Any) -> Request:
    """Read a Workers request (the SDK's ``workers.Request`` or the bare JS Request)."""
    js_request = getattr(request, "js_object", request)
    # The Fetch standard's Headers yield lower-cased [name, value] pairs and join a repeated
    # request header with ", " (Set-Cookie never appears on a request).
    pairs = _header_pairs(js_request.headers)
    body = b""
    if js_request.body is not None:
        body = (await js_request.arrayBuffer()).to_bytes()
    return request_from_parts(str(js_request.method), str(js_request.url), pairs, body)


def _header_pairs(headers: Any) -> list[tuple[str, str]]:
    try:
        from js import Array  # type: ignore[import-not-found,unused-ignore]  # Pyodide only
    except ImportError:  # duck-typed headers (CPython): iterate them
        return [(str(name), str(value)) for name, value in headers]
    # One crossing into JS and one conversion back: about 3x faster than iterating the
    # JsProxy pair by pair under Pyodide.
    return [(str(name), str(value)) for name, value in getattr(Array, "from")(headers).to_py()]


def response_parts(response: Response) -> tuple[int, list[tuple[str, str]], bytes | None]:
    """Status, header pairs (every Set-Cookie kept apart) and body of a Workers Response.

    A null-body status (204, 205, 304) must be sent without a body or the JS Response
    constructor throws. An empty body is sent as none too: an empty string body would make the
    constructor add ``content-type: text/plain;charset=UTF-8``
    (https://fetch.spec.whatwg.org/#concept-bodyinit-extract), which the handler never set.
    A response the runtime cannot send becomes the portable JSON 500 (the reason is logged).
    """
    problem = unsendable(response)  # what the JS Response constructor throws on, and more
    headers = response.headers.items()
    if problem is not None:
        _log.error("handler's response cannot be sent by Workers; answering 500", reason=problem)
        response, headers = _UNSENDABLE, _UNSENDABLE.headers.items()
    body: bytes | None = response.body or None
    if response.status in NO_CONTENT:
        body = None
    return response.status, headers, body


def to_workers_response(response: Response) -> Any:
    """The SDK's ``workers.Response`` for a portable Response (Pyodide only).

    The JS Response is built directly (a JS ``Headers`` filled pair by pair, a text body as a
    JS string, a binary body copied once into a ``Uint8Array``) and handed to the SDK's
    ``Response``, which wraps a JS Response as is: several times cheaper per request than
    letting the SDK convert a bytes body and a list of header pairs.
    """
    import js  # type: ignore[import-not-found,unused-ignore]  # Pyodide only
    from pyodide.ffi import to_js  # type: ignore[import-not-found,unused-ignore]
    from workers import (  # type: ignore[import-not-found,unused-ignore]
        Response as WorkersResponse,
    )

    status, headers, body = response_parts(response)
    try:
        return WorkersResponse(_js_response(js, to_js, status, headers, body, response.is_text))
    except Exception as exc:  # a JsException: the runtime refused what response_parts let by
        _log.error("could not build the Workers Response; answering 500", error=str(exc))
        status, headers, body = response_parts(_UNSENDABLE)
        return WorkersResponse(_js_response(js, to_js, status, headers, body, True))


def _js_response(
    js: Any,
    to_js: Any,
    status: int,
    headers: list[tuple[str, str]],
    body: bytes | None,
    is_text: bool,
) -> Any:
    js_headers = js.Headers.new()
    for name, value in headers:  # append, not set: repeated Set-Cookie headers all survive
        js_headers.append(name, value)
    payload: Any = None
    if body is not None:
        text = _utf8(body) if is_text else None
        payload = text if text is not None else to_js(body)
    if any(name.lower() == "content-encoding" for name, _ in headers):
        # The handler's bytes are already encoded (as on every other provider); Workers would
        # otherwise compress them again for this header ("automatic", the default):
        # https://developers.cloudflare.com/workers/runtime-apis/response/#parameters
        return js.Response.new(payload, status=status, headers=js_headers, encodeBody="manual")
    return js.Response.new(payload, status=status, headers=js_headers)


def _utf8(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:  # labelled text but not UTF-8: send the bytes as they are
        return None
