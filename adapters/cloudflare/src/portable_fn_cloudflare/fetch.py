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

from portable_fn.http import Headers, QueryParams, Request, Response

# Cloudflare sets the connecting client's address in this header on every request
# (https://developers.cloudflare.com/fundamentals/reference/http-headers/#cf-connecting-ip).
_CLIENT_IP_HEADER = "cf-connecting-ip"


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
    # The JS Headers iterator yields [name, value] pairs, already lower-cased; it joins repeated
    # headers with ", " as the Fetch standard requires (Set-Cookie never appears on a request).
    pairs = [(str(name), str(value)) for name, value in js_request.headers]
    body = b""
    if js_request.body is not None:
        body = (await js_request.arrayBuffer()).to_bytes()
    return request_from_parts(str(js_request.method), str(js_request.url), pairs, body)


def response_parts(response: Response) -> tuple[int, list[tuple[str, str]], bytes | None]:
    """Status, header pairs (every Set-Cookie kept apart) and body of a Workers Response.

    A null-body status (204, 304, 1xx) must be sent without a body or the JS Response
    constructor throws.
    """
    body: bytes | None = response.body
    if response.status in (204, 205, 304) or response.status < 200:
        body = None
    return response.status, list(response.headers.items()), body


def to_workers_response(response: Response) -> Any:
    """The SDK's ``workers.Response`` for a portable Response (imported here: Pyodide only)."""
    from workers import (  # type: ignore[import-not-found,unused-ignore]  # Pyodide only
        Response as WorkersResponse,
    )

    status, headers, body = response_parts(response)
    # A list of pairs (not a dict) so repeated headers such as Set-Cookie all survive.
    return WorkersResponse(body, status=status, headers=headers)
