"""One raw ASGI 3 application: the app's HTTP routes, the CloudEvents ingress, and lifespan.

Raw ASGI (no framework) keeps the per-request path short: read the body, build the core's
``Request``, call the core's dispatcher, send the ``Response``. ``async def`` handlers run on
the loop; sync handlers run in the runtime's thread pool (the dispatcher's ``offload``) so
the loop never blocks.
The same object is what a container platform (Cloud Run, Knative) would serve.
Spec: https://asgi.readthedocs.io/en/latest/specs/www.html
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from portable_fn._local import ingress
from portable_fn._local.delivery import HandlerExited, HandlerTimeout, within
from portable_fn.adapter import NO_CONTENT, Context, dispatch_http, dispatch_http_async
from portable_fn.errors import HTTPError
from portable_fn.http import Headers, QueryParams, Request, Response

if TYPE_CHECKING:
    from portable_fn._local.runtime import Runtime

HEALTH = "/_pf/health"
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class LocalASGI:
    """ASGI entry: ``http`` and ``lifespan`` scopes (websockets are not a portable trigger)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.app = runtime.app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.runtime.start()
                except Exception as exc:  # reported to the server, which exits
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.runtime.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        path = _route_path(scope)
        method: str = scope["method"]
        headers = Headers([(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]])
        name: str | None = None
        try:
            if path == HEALTH:
                response = Response.json(await asyncio.to_thread(self.runtime.health))
            elif path.startswith(ingress.PREFIX):
                body = await _read_body(
                    receive, headers, ingress.MAX_BODY_BYTES, idle=self.runtime.options.timeout
                )
                response = await asyncio.to_thread(
                    ingress.handle, method, path, headers.items(), body, self.runtime.accept,
                    app_name=self.app.name,
                )
            else:
                name, response = await self._dispatch(scope, method, path, headers, receive)
                if len(response.body) > _LAMBDA_BASE64_FITS:
                    self._warn_past_lambda(method, path, response)
            start = _start(response, head=method == "HEAD")
        except _TooLarge as exc:
            response = ingress.error(413, str(exc))
            start = _start(response)
        except _Short as exc:
            response = ingress.error(400, str(exc))
            start = _start(response)
        except _Stalled as exc:
            self.runtime.reporter.record("warning", message=f"{method} {path}: {exc}; sent 408")
            # RFC 9110 section 15.5.9: a 408 says the server closes the connection (the rest
            # of the body may still come, and would be read as the next request).
            response = Response.json(
                {"error": {"status": 408, "message": str(exc)}},
                status=408,
                headers={"connection": "close"},
            )
            start = _start(response)
        except _Disconnected:
            self.runtime.reporter.record(
                "warning",
                message=f"{method} {path}: the client left before its body ended; "
                "no handler ran",
            )
            return
        except Exception as exc:
            # The dispatcher never raises; this is the runtime's own code (a full disk under
            # the broker, say) or a response HTTP cannot carry (a header value outside
            # Latin-1 or with a line break, a 1xx status). The client still gets JSON without
            # a traceback (DESIGN 2), not the server's plain-text 500 or a dropped connection;
            # the terminal gets the cause.
            self.runtime.reporter.record("error", message=f"{method} {path} failed: {exc!r}")
            response = ingress.error(500, "internal server error")
            start = _start(response)
        status: int | None = response.status
        try:
            await send(start)
            status = response.status
            body = response.body if status >= 200 and status not in NO_CONTENT else b""
            await send({"type": "http.response.body", "body": body})
        except Exception as exc:
            # The server refused the response or lost the client mid-send: the client got no
            # answer (the server closes the connection), so the record must not say it did.
            self.runtime.reporter.record(
                "error", message=f"{method} {path}: the response could not be sent: {exc!r}"
            )
            status = None
        self.runtime.reporter.record(
            "http",
            method=method,
            path=path,
            status=status,
            function=name,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )

    def _warn_past_lambda(self, method: str, path: str, response: Response) -> None:
        """A WARNING when the response would be past Lambda's 6 MB response payload: sent here
        (dev refuses only what it reads), but a Lambda function would fail with it, so the
        developer hears of it before AWS answers an error."""
        size = lambda_payload(response)
        if size > MAX_HTTP_BODY_BYTES:
            self.runtime.reporter.record(
                "warning",
                message=f"{method} {path}: the response is about {size} bytes as AWS Lambda "
                "carries it (a binary body base64-encoded), past Lambda's 6 MB response "
                "payload limit (https://docs.aws.amazon.com/lambda/latest/dg/"
                "gettingstarted-limits.html): sent here, an error on AWS",
            )

    async def _dispatch(
        self, scope: Scope, method: str, path: str, headers: Headers, receive: Receive
    ) -> tuple[str | None, Response]:
        try:
            fn, _ = self.app.match(method, path)
        except HTTPError:
            # 404 / 405: the dispatcher renders the JSON error without calling a handler. The
            # body is never read, so a client waiting on "Expect: 100-continue" gets this
            # answer instead of uploading a body nobody reads (RFC 9110 section 10.1.1).
            ctx = Context(
                provider="local", function_name="", invocation_id=self.runtime.invocation_id()
            )
            request = Request(method=method, path=path, headers=headers)
            return None, dispatch_http(self.app, request, ctx)
        client = scope.get("client")
        max_body = self.runtime.options.max_body
        timeout = self.runtime.options.timeout_for(fn)
        request = Request(
            method=method,
            path=path,
            headers=headers,
            body=await _read_body(
                receive, headers, max_body, _route_limit(max_body), idle=timeout
            ),
            # Raw non-ASCII bytes in a query (curl, Go) are UTF-8 (RFC 3986 section 2.5), as
            # GCP and AWS read them; a byte that is no UTF-8 is U+FFFD, as on GCP.
            query=QueryParams.from_string(scope["query_string"].decode("utf-8", "replace")),
            client_ip=client[0] if client else None,
        )
        ctx = Context(
            provider="local",
            function_name=fn.name,
            invocation_id=self.runtime.invocation_id(),
            deadline=None if timeout is None else time.time() + timeout,
        )
        call = dispatch_http_async(self.app, request, ctx, fn.name, offload=self.runtime.offload)
        try:
            return fn.name, await self._timed(call, method, path, fn.is_async, timeout)
        except SystemExit as exc:
            # The dispatcher lets it through; the client gets the JSON 500 of any failure (API
            # Gateway answers a Lambda whose runtime exited with an error too), the log why.
            self.runtime.reporter.record("error", message=f"{method} {path}: {HandlerExited(exc)}")
            return fn.name, ingress.error(500, "internal server error")

    async def _timed(
        self,
        call: Awaitable[Response],
        method: str,
        path: str,
        is_async: bool,
        timeout: float | None,
    ) -> Response:
        """``call``'s response, or a JSON 504 past the function timeout."""
        if timeout is None:
            return await call
        try:
            return await within(call, timeout)
        except asyncio.TimeoutError:
            # As a cloud answers a request whose function outlived its timeout (API Gateway and
            # Cloud Run say 504), in JSON like every other error here; the client no longer
            # waits for ever on a handler stuck in a call.
            late = HandlerTimeout(timeout, cancelled=is_async)
            self.runtime.reporter.record("error", message=f"{method} {path}: {late}")
            # The client hears the timeout; the log line also says what became of the handler.
            return ingress.error(504, f"the handler ran past the {timeout:g} s function timeout")


def _route_path(scope: Scope) -> str:
    """The path to route: without the ``root_path`` a mount or ``--root-path`` put in front
    (ASGI puts it in ``path`` too; Starlette's ``get_route_path`` strips it the same way)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :] or "/"
    return path


class _Disconnected(Exception):
    """The client went away before its body ended (ASGI ``http.disconnect``)."""


class _Short(Exception):
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


class _Stalled(Exception):
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


class _TooLarge(Exception):
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
_LAMBDA_BASE64_FITS = MAX_HTTP_BODY_BYTES * 3 // 4 - 4096


def lambda_payload(response: Response) -> int:
    """About how many bytes ``response`` takes in a Lambda function's result: the body, base64
    for a binary one as the adapters send it (``isBase64Encoded``), and the headers. Lambda
    limits a synchronous invocation's response payload to 6 MB
    (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html)."""
    size = len(response.body)
    if not response.is_text:
        size = (size + 2) // 3 * 4
    return size + sum(len(name) + len(value) + 6 for name, value in response.headers.items())


def _route_limit(limit: int | None) -> str:
    """What a 413 says of the route limit: why it is the default, or that it was set."""
    return _ROUTE_LIMIT if limit == MAX_HTTP_BODY_BYTES else _SET_LIMIT


async def _read_body(
    receive: Receive,
    headers: Headers,
    limit: int | None = None,
    why: str = "",
    *,
    idle: float | None = None,
) -> bytes:
    """The whole body; ``_Disconnected`` rather than the part that came, which no handler
    should act on (a truncated upload stored, half an order taken). With ``limit``,
    ``_TooLarge`` (saying ``why``) as soon as the announced or received length passes it: the
    rest is not read (the server discards it or closes the connection). With ``idle``,
    ``_Stalled`` when no part of an announced body comes for that many seconds: the server
    (uvicorn) waits on a silent client for ever."""
    announced = headers.get("content-length") or ""
    if limit is not None and announced.isdigit() and int(announced) > limit:
        raise _TooLarge(limit, why)
    if idle is not None and announced in ("", "0") and "transfer-encoding" not in headers:
        idle = None  # no body announced: nothing to wait for (and no timer on a plain GET)
    message = await _receive(receive, idle, 0)
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        if message["type"] == "http.disconnect" and (
            headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
        ):
            raise _Disconnected  # a body was announced; a bodiless request is whole
        if limit is not None and len(body) > limit:  # one chunk, its length unannounced
            raise _TooLarge(limit, why)
        _check_length(body, headers)
        return body
    chunks = [body]
    size = len(body)
    while message.get("more_body", False):
        if limit is not None and size > limit:
            raise _TooLarge(limit, why)
        message = await _receive(receive, idle, size)
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
    if limit is not None and size > limit:
        raise _TooLarge(limit, why)
    whole = b"".join(chunks)
    _check_length(whole, headers)
    return whole


async def _receive(receive: Receive, idle: float | None, received: int) -> Message:
    """The next ASGI message, ``_Stalled`` past ``idle`` seconds without one."""
    if idle is None:
        return await receive()
    try:
        return await within(receive(), idle)
    except asyncio.TimeoutError:
        raise _Stalled(idle, received) from None


def _check_length(body: bytes, headers: Headers) -> None:
    """``_Short`` when the body is not as long as its Content-Length says (a chunked body,
    framed by its chunks, has none to compare: RFC 9112 section 6.3), or when a chunked body
    sent with ``Upgrade`` arrived empty: the parser that drops the body of an upgrade request
    drops its chunks too (``curl --http2 -T FILE``), and a handler would run on nothing."""
    announced = headers.get("content-length")
    if "transfer-encoding" in headers:
        if not body and "upgrade" in headers:
            raise _Short(None, 0, headers)
        return
    if announced is None:
        return
    announced = announced.strip()
    if announced.isdigit() and int(announced) != len(body):
        raise _Short(int(announced), len(body), headers)


# The server frames the body, which is complete bytes: a handler's own Content-Length or
# Transfer-Encoding (copied from an upstream response, say) would contradict it.
_FRAMING = frozenset({"content-length", "transfer-encoding"})
# RFC 9110 section 5: a field name is a token; a value is Latin-1 without control characters
# but tab. CR, LF or NUL would end the header early (injection); servers refuse them mid-send.
_FIELD_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Section 5.5 also keeps whitespace off both ends of a value; h11 (uvicorn without httptools)
# refuses such a value mid-send and drops the connection, so it is stripped first: clients
# strip it anyway (optional whitespace is not part of the value).
_VCHAR = r"[\x21-\x7e\x80-\xff]"
_FIELD_VALUE = re.compile(rf"(?:{_VCHAR}(?:[\t\x20-\x7e\x80-\xff]*{_VCHAR})?)?")


def _has_content(status: int) -> bool:
    """RFC 9110 sections 15.2, 15.3.5, 15.4.5: a 1xx, 204 or 304 response has no content, and
    bytes sent after one would be read as the start of the next response."""
    return status >= 200 and status != 204 and status != 304


def _start(response: Response, *, head: bool = False) -> Message:
    """The ``http.response.start`` message; ``ValueError`` for a header HTTP cannot carry or
    a 1xx status, which is interim (RFC 9110 section 15.2): sent as the answer, the client reads
    it as a preamble and waits for a final response that never comes.

    The answer to a ``head`` request keeps a handler's own Content-Length when it has no body:
    a handler answering HEAD from metadata (a file's size) sets the length the GET response
    has, which is what the header means there (RFC 9110 sections 8.6 and 9.3.2)."""
    if response.status < 200:
        raise ValueError(
            f"a handler answered {response.status}: a 1xx status is interim and cannot be the "
            "response (RFC 9110 section 15.2)"
        )
    raw: list[tuple[bytes, bytes]] = []
    length = str(len(response.body))
    for name, value in response.headers.items():
        if name in _FRAMING:
            if head and name == "content-length" and not response.body:
                declared = value.strip()
                length = declared if declared.isascii() and declared.isdigit() else length
            continue
        if not _FIELD_VALUE.fullmatch(value):
            value = value.strip(" \t")  # only when needed: no cost to an ordinary header
            valid = _FIELD_NAME.fullmatch(name) and _FIELD_VALUE.fullmatch(value)
        else:
            valid = _FIELD_NAME.fullmatch(name)
        if not valid:
            raise ValueError(
                f"response header {name!r} cannot be sent: {value!r} (a header is Latin-1 "
                "text without line breaks or control characters)"
            )
        raw.append((name.encode("latin-1"), value.encode("latin-1")))
    if response.status == 205:  # RFC 9110 section 15.3.6: no content, framed as length 0
        length = "0"
    if _has_content(response.status):
        raw.append((b"content-length", length.encode()))
    return {"type": "http.response.start", "status": response.status, "headers": raw}
