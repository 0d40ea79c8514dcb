# SPDX-License-Identifier: Apache-2.0
"""A request body as an app route or the ingress reads it: whole or not at all.

A body is read to its end before any handler runs, within a size limit (413) and an idle time
(408), and checked against its Content-Length (400), so no handler acts on part of a request.
Spec: https://asgi.readthedocs.io/en/latest/specs/www.html#request-receive-event
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from portable_fn._local.clock import within
from portable_fn.http import Headers, Response

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]


class Disconnected(Exception):
    """The client went away before its body ended (ASGI ``http.disconnect``)."""


class ShortBody(Exception):
    """The body ended before its Content-Length did, or a chunked one came empty: uvicorn's
    httptools parser stops at a request that asks to upgrade the connection (``Upgrade: h2c``,
    what ``curl --http2`` sends over http://) and hands on the request without its body.
    Acting on the part that came would lose the rest without a word, so the client is told (a
    JSON 400)."""

    def __init__(self, announced: int | None, received: int, headers: Headers) -> None:
        hint = (
            "; this server does not upgrade connections (Upgrade: "
            f"{headers.get('upgrade')}): send the request over HTTP/1.1 without Upgrade"
            if "upgrade" in headers
            else ""
        )
        said = "its chunks never arrived" if announced is None else (
            f"its Content-Length says {announced}"
        )
        super().__init__(f"the request body is {received} bytes, {said}{hint}")


class Stalled(Exception):
    """No byte of the body came for ``idle`` seconds: a client that sent less than its
    Content-Length (or fewer chunks) and stopped, a dropped upload or a slowloris. Waiting on
    would hold the connection for ever without an answer; the client gets a JSON 408 (RFC 9110
    section 15.5.9: the request did not arrive within the time the server was prepared to
    wait)."""

    def __init__(self, idle: float, received: int) -> None:
        super().__init__(
            f"the request body stopped after {received} bytes: nothing more came for "
            f"{idle:g} s (the function timeout, dev --timeout)"
        )


class TooLarge(Exception):
    """The body is longer than the endpoint reads (HTTP 413, RFC 9110 section 15.5.14)."""

    def __init__(self, limit: int, why: str = "") -> None:
        super().__init__(f"the request body is larger than {limit} bytes{why}")


MAX_HTTP_BODY_BYTES = 6 * 1024 * 1024
"""The largest request body an app route reads: AWS Lambda's 6 MB request payload, the smallest
of the clouds (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html; Cloud Run
functions take 32 MB, Azure Functions and Cloudflare Workers 100 MB), so an upload that works
here does not fail at the first deploy, and a runaway client cannot fill the memory."""

_ROUTE_LIMIT = (
    " (AWS Lambda's 6 MB request payload, the smallest cloud limit: Cloud Run functions take"
    " 32 MB, Azure Functions and Cloudflare Workers 100 MB; dev --max-body sets another; a"
    " large upload goes to a bucket instead)"
)
_SET_LIMIT = " (dev --max-body; a large upload goes to a bucket instead)"


# The longest body whose Lambda payload cannot be past 6 MiB even base64-encoded (4 bytes per 3):
# a response no longer than this is never weighed, the per-request cost one length comparison.
LAMBDA_BASE64_FITS = MAX_HTTP_BODY_BYTES * 3 // 4 - 4096


def lambda_payload(response: Response) -> int:
    """About how many bytes ``response`` takes in a Lambda function's result: the body, base64
    for a binary one as the adapters send it (``isBase64Encoded``), and the headers. Lambda
    limits a synchronous invocation's response payload to 6 MB
    (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html)."""
    size = len(response.body)
    if not response.is_text:
        size = (size + 2) // 3 * 4
    return size + sum(len(name) + len(value) + 6 for name, value in response.headers.items())


def route_limit(limit: int | None) -> str:
    """What a 413 says of the route limit: why it is the default, or that it was set."""
    return _ROUTE_LIMIT if limit == MAX_HTTP_BODY_BYTES else _SET_LIMIT


async def read_body(
    receive: Receive,
    headers: Headers,
    limit: int | None = None,
    why: str = "",
    *,
    idle: float | None = None,
) -> bytes:
    """The whole body; ``Disconnected`` rather than the part that came, which no handler
    should act on (a truncated upload stored, half an order taken). With ``limit``,
    ``TooLarge`` (saying ``why``) as soon as the announced or received length passes it: the
    rest is not read (the server discards it or closes the connection). With ``idle``,
    ``Stalled`` when no part of an announced body comes for that many seconds: the server
    (uvicorn) waits on a silent client for ever."""
    announced = headers.get("content-length") or ""
    if limit is not None and announced.isdigit() and int(announced) > limit:
        raise TooLarge(limit, why)
    if idle is not None and announced in ("", "0") and "transfer-encoding" not in headers:
        idle = None  # no body announced: nothing to wait for (and no timer on a plain GET)
    message = await _receive(receive, idle, 0)
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        if message["type"] == "http.disconnect" and (
            headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
        ):
            raise Disconnected  # a body was announced; a bodiless request is whole
        if limit is not None and len(body) > limit:  # one chunk, its length unannounced
            raise TooLarge(limit, why)
        _check_length(body, headers)
        return body
    chunks = [body]
    size = len(body)
    while message.get("more_body", False):
        if limit is not None and size > limit:
            raise TooLarge(limit, why)
        message = await _receive(receive, idle, size)
        if message["type"] == "http.disconnect":
            raise Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
    if limit is not None and size > limit:
        raise TooLarge(limit, why)
    whole = b"".join(chunks)
    _check_length(whole, headers)
    return whole


async def _receive(receive: Receive, idle: float | None, received: int) -> Message:
    """The next ASGI message, ``Stalled`` past ``idle`` seconds without one."""
    if idle is None:
        return await receive()
    try:
        return await within(receive(), idle)
    except asyncio.TimeoutError:
        raise Stalled(idle, received) from None


def _check_length(body: bytes, headers: Headers) -> None:
    """``ShortBody`` when the body is not as long as its Content-Length says (a chunked body,
    framed by its chunks, has none to compare: RFC 9112 section 6.3), or when a chunked body
    sent with ``Upgrade`` arrived empty: the parser that drops the body of an upgrade request
    drops its chunks too (``curl --http2 -T FILE``), and a handler would run on nothing."""
    announced = headers.get("content-length")
    if "transfer-encoding" in headers:
        if not body and "upgrade" in headers:
            raise ShortBody(None, 0, headers)
        return
    if announced is None:
        return
    announced = announced.strip()
    if announced.isdigit() and int(announced) != len(body):
        raise ShortBody(int(announced), len(body), headers)
