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
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from portable_fn._local import ingress
from portable_fn.adapter import Context, dispatch_http, dispatch_http_async
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
        body = await _read_body(receive)
        path: str = scope["path"]
        method: str = scope["method"]
        headers = Headers([(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]])
        name: str | None = None
        try:
            if path == HEALTH:
                response = Response.json(await asyncio.to_thread(self.runtime.health))
            elif path.startswith(ingress.PREFIX):
                response = await asyncio.to_thread(
                    ingress.handle, method, path, headers.items(), body, self.runtime.accept
                )
            else:
                client = scope.get("client")
                request = Request(
                    method=method,
                    path=path,
                    headers=headers,
                    body=body,
                    query=QueryParams.from_string(scope["query_string"].decode("latin-1")),
                    client_ip=client[0] if client else None,
                )
                name, response = await self._dispatch(request)
        except Exception as exc:
            # The dispatcher never raises; this is the runtime's own code (a full disk under
            # the broker, say). The client still gets JSON without a traceback (DESIGN 2),
            # not the server's plain-text 500; the terminal gets the cause.
            self.runtime.reporter.record("error", message=f"{method} {path} failed: {exc!r}")
            response = ingress.error(500, "internal server error")
        await _send_response(send, response)
        self.runtime.reporter.record(
            "http",
            method=method,
            path=path,
            status=response.status,
            function=name,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )

    async def _dispatch(self, request: Request) -> tuple[str | None, Response]:
        try:
            fn, _ = self.app.match(request.method, request.path)
        except HTTPError:
            # 404 / 405: the dispatcher renders the JSON error without calling a handler.
            ctx = Context(
                provider="local", function_name="", invocation_id=self.runtime.invocation_id()
            )
            return None, dispatch_http(self.app, request, ctx)
        ctx = Context(
            provider="local", function_name=fn.name, invocation_id=self.runtime.invocation_id()
        )
        response = await dispatch_http_async(
            self.app, request, ctx, fn.name, offload=self.runtime.offload
        )
        return fn.name, response


async def _read_body(receive: Receive) -> bytes:
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body
    chunks = [body]
    while message.get("more_body", False):
        message = await receive()
        chunks.append(message.get("body", b""))
    return b"".join(chunks)


async def _send_response(send: Send, response: Response) -> None:
    raw = [
        (k.encode("latin-1"), v.encode("latin-1"))
        for k, v in response.headers.items()
        if k != "content-length"
    ]
    raw.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": raw})
    await send({"type": "http.response.body", "body": response.body})
