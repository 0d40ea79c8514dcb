# SPDX-License-Identifier: Apache-2.0
"""HTTP trigger: ``azure.functions.HttpRequest`` -> ``Request``; ``Response`` -> ``HttpResponse``.

Payload: https://learn.microsoft.com/azure/azure-functions/functions-bindings-http-webhook-trigger
(the worker builds ``HttpRequest(method, url, headers, params, route_params, body)`` from the
host's RpcHttp message). The host joins repeated request headers with ", " and keeps only the
last value of a repeated query parameter in ``params``, so the query is re-read from the URL to
keep every value. ``X-Forwarded-For`` carries ``ip:port`` on Azure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from portable_fn.http import Headers, QueryParams, Request, Response

if TYPE_CHECKING:
    import azure.functions as func

__all__ = ["client_ip", "to_native", "to_request"]


def to_request(req: func.HttpRequest) -> Request:
    """The portable request for one HTTP invocation (path params come from the route match)."""
    url = urlsplit(req.url)
    query = QueryParams.from_string(url.query) if url.query else QueryParams(dict(req.params))
    headers = Headers(list(req.headers.items()))
    return Request(
        method=req.method.upper(),
        path=url.path or "/",
        headers=headers,
        query=query,
        body=req.get_body() or b"",
        path_params=dict(req.route_params),
        client_ip=client_ip(headers),
    )


def client_ip(headers: Headers) -> str | None:
    """The caller's address from ``X-Forwarded-For`` (first hop; Azure appends ``:port``)."""
    forwarded = headers.get("x-forwarded-for")
    if not forwarded:
        return None
    first = forwarded.split(",")[0].strip()
    if first.startswith("["):  # [v6]:port
        return first[1 : first.find("]")] or None
    if first.count(":") == 1:  # v4:port; a bare IPv6 address has several colons
        first = first.split(":")[0]
    return first or None


def to_native(resp: Response) -> func.HttpResponse:
    """The ``HttpResponse`` the worker turns into the host's RpcHttp reply.

    Every header is kept, repeated ``Set-Cookie`` too (the worker sends each as a cookie).
    ``mimetype`` mirrors the content type because the library would otherwise stamp
    ``text/plain`` on a response that has none.
    """
    import azure.functions as func

    content_type = resp.headers.get("content-type")
    native = func.HttpResponse(
        body=resp.body,
        status_code=resp.status,
        mimetype=(content_type or "application/octet-stream").split(";")[0].strip(),
    )
    for name, value in resp.headers.items():
        native.headers.add_header(name, value)
    return native
