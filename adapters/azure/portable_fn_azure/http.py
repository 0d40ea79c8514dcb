# SPDX-License-Identifier: Apache-2.0
"""HTTP trigger: ``azure.functions.HttpRequest`` -> ``Request``; ``Response`` -> ``HttpResponse``.

Payload: https://learn.microsoft.com/azure/azure-functions/functions-bindings-http-webhook-trigger
(the worker builds ``HttpRequest(method, url, headers, params, route_params, body)`` from the
host's RpcHttp message). The host joins repeated request headers with ", " and keeps only the
last value of a repeated query parameter in ``params``, so the query is re-read from the URL to
keep every value. The URL's path is percent-encoded (the host prints ASP.NET Core's ``PathString``
into it: azure-functions-host ``GrpcMessageConversionExtensions.ToRpcHttp``), so it is decoded
here, as the core contract and the other adapters do. ``X-Forwarded-For`` carries ``ip:port``
on Azure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from portable_fn._memo import LastConverted
from portable_fn.adapter import NO_CONTENT, unsendable
from portable_fn.http import Headers, QueryParams, Request, Response
from portable_fn.log import Logger

if TYPE_CHECKING:
    import azure.functions as func

__all__ = ["client_ip", "to_native", "to_request"]


def to_request(req: func.HttpRequest) -> Request:
    """The portable request for one HTTP invocation (path params come from the route match)."""
    # The library keeps request headers in a plain dict with lower-cased names; reading it
    # directly skips a Mapping-protocol walk per header (this runs on every request).
    raw = getattr(req.headers, "__http_headers__", None)
    pairs: Any = raw if isinstance(raw, dict) else list(req.headers.items())
    path, _, query_string = _split_url(req.url)
    if query_string:
        query = QueryParams.from_string(query_string)
    elif req.params:
        query = QueryParams(dict(req.params))
    else:
        query = _NO_QUERY
    forwarded = raw.get("x-forwarded-for") if isinstance(raw, dict) else None
    headers = Headers(pairs)
    return Request(
        method=req.method.upper(),
        path=path,
        headers=headers,
        query=query,
        body=req.get_body() or b"",
        path_params=req.route_params,
        client_ip=_last_hop(forwarded) if forwarded else client_ip(headers),
    )


_NO_QUERY = QueryParams()


def _split_url(url: str) -> tuple[str, str, str]:
    """``(path, "?", query)`` of an absolute URL, without urlsplit's generality (and cost)."""
    scheme_end = url.find("://")
    start = url.find("/", scheme_end + 3) if scheme_end >= 0 else 0
    if start < 0:
        return "/", "", url.partition("?")[2]
    path, sep, query = url[start:].partition("?")
    if "%" in path:  # rare: most paths are plain ASCII, and unquote is not free
        path = _unquote(path)
    return path or "/", sep, query.partition("#")[0]


def _unquote(path: str) -> str:
    from urllib.parse import unquote  # on first use: urllib.parse is not loaded at cold start

    return unquote(path)


def client_ip(headers: Headers) -> str | None:
    """The caller's address: the last ``X-Forwarded-For`` entry, the one App Service's front
    end appended (the address it saw, with ``:port``). The entries before it are whatever the
    client sent in its own header, which anyone can write: read first, a forged entry became
    ``client_ip`` (as ALB's and Google's front ends append theirs: every adapter reads the
    entry the platform wrote)."""
    forwarded = headers.get("x-forwarded-for")
    return _last_hop(forwarded) if forwarded else None


def _last_hop(forwarded: str) -> str | None:
    first = forwarded.rpartition(",")[2].strip()
    if first.startswith("["):  # [v6]:port
        return first[1 : first.find("]")] or None
    if first.count(":") == 1:  # v4:port; a bare IPv6 address has several colons
        first = first.split(":")[0]
    return first or None


def to_native(resp: Response) -> func.HttpResponse:
    """The ``HttpResponse`` the worker turns into the host's RpcHttp reply.

    Every header is kept. The reply's headers are a map of one string per name (the library
    builds it with a dict: a repeated name keeps its last value), so repeated fields travel
    combined into one comma-separated value, which RFC 9110 section 5.3 makes equivalent;
    ``Set-Cookie``, which cannot be combined, goes as one cookie each, in order (``_cookies``);
    one the library's SimpleCookie cannot read as one cookie is left out and named in a warning
    rather than dropped silently (or, for a name with a separator, failing the invocation).
    ``mimetype`` mirrors the content type because the library would otherwise stamp
    ``text/plain`` on a response that has none. The library's encoder writes a content type
    whenever the response has none (``HttpResponseConverter.encode``): a response with a body
    gets ``application/octet-stream``; one without a body, an empty value, which the host sets
    as the reply's ``ContentType`` (azure-functions-host ``RawScriptResult``) and ASP.NET Core
    then removes, so a 204 (a CORS preflight) or a bare redirect carries no content type the
    handler did not set, as on the other providers.

    The host writes the reply with ASP.NET Core's Kestrel, which throws on a body for a 204,
    205 or 304 (RFC 9110 sections 15.3.5, 15.3.6, 15.4.5: they have no content), so the body
    is dropped; and on a header value outside ASCII or with a control character, or a name
    that is not a token (dotnet/aspnetcore#4727): the client would get a bare 500, so such a
    response, like a 1xx (interim, RFC 9110 section 15.2), is the portable JSON 500.
    """
    import azure.functions as func

    problem = unsendable(resp, ascii_only=True)
    if problem is not None:
        Logger({"provider": "azure"}).error("the handler's response cannot be sent",
                                            reason=problem)
        resp = _INTERNAL_ERROR
    mimetype, extra = _parts(resp.headers, resp.headers)
    body = resp.body if resp.status not in NO_CONTENT else b""
    if not body and "content-type" not in resp.headers:
        mimetype = _NO_TYPE
    native = func.HttpResponse(body=body, status_code=resp.status, mimetype=mimetype)
    for name, value in extra:
        native.headers.add_header(name, value)
    return native


def _convert(headers: Headers) -> tuple[str, list[tuple[str, str]]]:
    """``(mimetype, headers to add)``: the worker writes ``mimetype`` as the content type when
    the header is absent, so a bare non-text type needs no header of its own (text/* would gain
    "; charset=utf-8")."""
    content_type = headers.get("content-type")
    mimetype = (content_type or "application/octet-stream").split(";")[0].strip()
    implied = content_type == mimetype and not mimetype.startswith("text/")
    extra: list[tuple[str, str]] = []
    for name, values in headers.to_multi().items():
        if implied and name == "content-type":
            continue
        if name == "set-cookie":
            from portable_fn_azure._cookies import for_worker  # only responses setting cookies

            cookies = [(value, for_worker(value)) for value in values]
            extra.extend((name, cookie) for _, cookie in cookies if cookie is not None)
            dropped = [v.partition("=")[0].strip() for v, cookie in cookies if cookie is None]
            if dropped:
                Logger({"provider": "azure"}).warning(
                    "a Set-Cookie the Azure Functions Python worker cannot carry is not sent "
                    "(azure.functions parses each with http.cookies.SimpleCookie); use a token "
                    "name and a value of RFC 6265 cookie-octets",
                    dropped=dropped,
                )
        else:
            extra.append((name, values[0] if len(values) == 1 else ", ".join(values)))
    return mimetype, extra


# The worker's content type for a response with neither a body nor a type: none reaches the client.
_NO_TYPE = ""

# Handlers mostly return the core's shared JSON header map: converted once, not per call.
_parts: LastConverted[Headers, tuple[str, list[tuple[str, str]]]] = LastConverted(_convert)


_INTERNAL_ERROR = Response.json(
    {"error": {"status": 500, "message": "internal server error"}}, status=500
)
