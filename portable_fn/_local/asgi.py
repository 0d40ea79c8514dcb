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
from portable_fn._local.body import (
    LAMBDA_BASE64_FITS,
    MAX_HTTP_BODY_BYTES,
    Disconnected,
    Message,
    Receive,
    ShortBody,
    Stalled,
    TooLarge,
    lambda_payload,
    read_body,
    route_limit,
)
from portable_fn._local.clock import Clock, RanOn, timed, within
from portable_fn._local.delivery import HandlerExited, HandlerNotStarted, HandlerTimeout
from portable_fn._loop import tracking
from portable_fn.adapter import NO_CONTENT, Context, dispatch_http, dispatch_http_async
from portable_fn.errors import HTTPError
from portable_fn.http import Headers, QueryParams, Request, Response

if TYPE_CHECKING:
    from portable_fn._local.runtime import Runtime

HEALTH = "/_pf/health"
Scope = MutableMapping[str, Any]
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
                body = await read_body(
                    receive, headers, ingress.MAX_BODY_BYTES, idle=self.runtime.options.timeout
                )
                response = await asyncio.to_thread(
                    ingress.handle, method, path, headers.items(), body, self.runtime.accept,
                    app_name=self.app.name,
                )
            else:
                name, response = await self._dispatch(scope, method, path, headers, receive)
                if len(response.body) > LAMBDA_BASE64_FITS:
                    self._warn_past_lambda(method, path, response)
            start = _start(response, head=method == "HEAD")
        except TooLarge as exc:
            response = ingress.error(413, str(exc))
            start = _start(response)
        except ShortBody as exc:
            response = ingress.error(400, str(exc))
            start = _start(response)
        except Stalled as exc:
            self.runtime.reporter.record("warning", message=f"{method} {path}: {exc}; sent 408")
            # RFC 9110 section 15.5.9: a 408 says the server closes the connection (the rest
            # of the body may still come, and would be read as the next request).
            response = ingress.error(408, str(exc)).with_headers({"connection": "close"})
            start = _start(response)
        except Disconnected:
            self.runtime.reporter.record(
                "warning",
                message=f"{method} {path}: the client left before its body ended; "
                "no handler ran",
            )
            return
        except asyncio.CancelledError:
            # The server cancels what still runs when its shutdown grace ends (uvicorn: "Cancel N
            # running task(s)"). Answered in JSON, as every other error here, not the server's
            # plain-text 500; the cancellation goes on to the server.
            await self._cut_short(send, method, path, started)
            raise
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
        except asyncio.CancelledError:
            # Cut off mid-send at shutdown: the server closes the connection.
            self._record(method, path, None, name, started)
            raise
        self._record(method, path, status, name, started)

    def _record(
        self, method: str, path: str, status: int | None, name: str | None, started: float
    ) -> None:
        self.runtime.reporter.record(
            "http",
            method=method,
            path=path,
            status=status,
            function=name,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )

    async def _cut_short(self, send: Send, method: str, path: str, started: float) -> None:
        """A request the server cancelled before its response started (its shutdown grace
        ended): a JSON 503 that closes the connection, and the terminal says which one."""
        try:
            name: str | None = self.app.match(method, path)[0].name
        except HTTPError:
            name = None
        self.runtime.reporter.record(
            "warning",
            message=f"{method} {path}: the server stopped the request at shutdown, before "
            "its handler answered; sent 503",
        )
        response = ingress.error(
            503, "the server is shutting down; the request was stopped before its handler answered"
        ).with_headers({"connection": "close"})
        status: int | None = 503
        try:
            await send(_start(response, head=method == "HEAD"))
            await send({"type": "http.response.body", "body": b"" if method == "HEAD"
                        else response.body})
        except Exception:  # the connection is gone as well: nobody got an answer
            status = None
        self._record(method, path, status, name, started)

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
            body=await read_body(
                receive, headers, max_body, route_limit(max_body), idle=timeout
            ),
            # Raw non-ASCII bytes in a query (curl, Go) are UTF-8 (RFC 3986 section 2.5), as
            # GCP and AWS read them; a byte that is no UTF-8 is U+FFFD, as on GCP.
            query=QueryParams.from_string(scope["query_string"].decode("utf-8", "replace")),
            client_ip=client[0] if client else None,
        )
        clock = Clock(timeout)
        ctx = timed(clock, function_name=fn.name, invocation_id=self.runtime.invocation_id())
        if fn.is_async:
            clock.begin()  # on the loop, now; a sync handler's when a pool thread takes it
        offload = self.runtime.http_pool.offload(clock)
        call = dispatch_http_async(self.app, request, ctx, fn.name, offload=offload)
        try:
            # The tasks an async handler starts are waited for before the answer, up to its
            # deadline, as the sync adapters do on every cloud (``_loop``).
            async with tracking():
                return fn.name, await self._timed(call, method, path, fn.is_async, clock)
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
        clock: Clock,
    ) -> Response:
        """``call``'s response, or a JSON 504 past the function timeout (from the handler's
        start); a JSON 503 when no pool thread took the handler within that time."""
        timeout = clock.timeout
        if timeout is None:
            return await call
        try:
            return await within(call, clock)
        except asyncio.TimeoutError as exc:
            if not clock.started:
                # The handler did not run: no timeout of its own to blame (a 504), but a server
                # out of capacity for now (RFC 9110 section 15.6.4), which the client may retry.
                busy = HandlerNotStarted(timeout)
                self.runtime.reporter.record("error", message=f"{method} {path}: {busy}")
                return ingress.error(503, str(busy)).with_headers({"retry-after": "1"})
            # As a cloud answers a request whose function outlived its timeout (API Gateway and
            # Cloud Run say 504), in JSON like every other error here; the client no longer
            # waits for ever on a handler stuck in a call.
            late = HandlerTimeout(timeout, cancelled=is_async, ran_on=isinstance(exc, RanOn))
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
