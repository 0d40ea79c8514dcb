"""``portable-fn dev``: serve one app on uvicorn with the local runtime in its lifespan.

uvicorn (extra ``local``) is imported here only, so ``import portable_fn`` and the other CLI
commands never load it. The listening socket is bound before the server starts, so
``--port 0`` works and the real port is printed.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any, TextIO, cast

from portable_fn._local.asgi import LocalASGI
from portable_fn._local.inspect import describe
from portable_fn._local.logs import ReadableLogs
from portable_fn._local.protocol import settings
from portable_fn._local.report import Reporter
from portable_fn._local.runtime import GRACE, Options, Runtime
from portable_fn.app import App
from portable_fn.log import set_stream


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio sets TCP_NODELAY only on sockets whose proto is IPPROTO_TCP,
    # and without it Nagle + delayed ACK hold every response ~40 ms.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:  # the errno alone named neither the address nor a way out
        sock.close()
        raise OSError(
            exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}; pick another --port, "
            "or --port 0 for a free one"
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


_LOOPBACK = frozenset(("127.0.0.1", "localhost", "::1"))
_MISDIRECTED = (
    b'{"error":{"status":403,"message":"this portable-fn dev server answers requests for '
    b'localhost only: its Host header names another site (--allow-host NAME adds one)"}}'
)


def loopback_only(asgi: Any, host: str, allowed: tuple[str, ...] = ()) -> Any:
    """On a loopback address, serve only requests whose ``Host`` is this machine (or one of the
    ``allowed`` names, ``--allow-host``: a hosts-file alias).

    A web page can point a name of its own at 127.0.0.1 (DNS rebinding) and read what the dev
    server answers, or post events to its ingress, from the user's browser: the name it used is
    in the ``Host`` header. A server bound beyond loopback (``--host 0.0.0.0``) is reached by
    other names on purpose and is left as it is; a request without ``Host`` (HTTP/1.0) passes.
    """
    if not _is_loopback(host):
        return asgi
    names = _LOOPBACK.union((host.lower(),), (name.strip().lower() for name in allowed))

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            name = _host_name(scope.get("headers") or ())
            if name is not None and name not in names and not name.endswith(".localhost"):
                await send({"type": "http.response.start", "status": 403, "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(_MISDIRECTED)).encode()),
                ]})
                await send({"type": "http.response.body", "body": _MISDIRECTED})
                return
        await asgi(scope, receive, send)

    return app


def _is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address: all of 127.0.0.0/8 (RFC 1122 section 3.2.1.3)
    and every spelling of ``::1``, not only the usual three."""
    import ipaddress

    if host.lower() in _LOOPBACK:  # a name is any case: --host LOCALHOST
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name (the OS resolves it at bind): only "localhost" is known
        return False


def _host_name(headers: Any) -> str | None:
    """The name of the ``Host`` header, lower-cased, without its port or IPv6 brackets."""
    for key, value in headers:
        if key.lower() == b"host":
            text: str = value.decode("latin-1").strip().lower()
            if text.startswith("["):  # [::1]:8080
                return text[1:].split("]", 1)[0]
            return text.rsplit(":", 1)[0] if text.count(":") == 1 else text
    return None


def serve(
    app: App,
    *,
    host: str,
    port: int,
    options: Options,
    reporter: Reporter,
    allowed_hosts: tuple[str, ...] = (),
) -> None:
    uvicorn_module()  # the hint before any state is touched
    runtime = Runtime(app, options, reporter)
    runtime.lock()  # before binding: a second dev on this state exits 2 with one line
    serve_runtime(runtime, bind(host, port), host=host, allowed_hosts=allowed_hosts)


def uvicorn_module() -> Any:
    """uvicorn, or an ImportError that says how to install it."""
    try:
        import uvicorn
    except ImportError as exc:
        if exc.name != "uvicorn":
            raise
        # Not on PyPI yet: from a checkout, the extra of the project itself.
        hint = (
            'portable-fn dev needs uvicorn: pip install -e ".[local]" in the portable-fn '
            'checkout (or pip install "portable-fn[local]" once published)'
        )
        raise ImportError(hint) from exc
    return uvicorn


def serve_runtime(
    runtime: Runtime, sock: socket.socket, *, host: str, allowed_hosts: tuple[str, ...]
) -> None:
    """Serve ``runtime`` on the bound ``sock`` until a signal stops uvicorn (``dev``, or one
    worker of ``dev --reload``); the state directory is unlocked at the end."""
    uvicorn = uvicorn_module()
    app, options, reporter = runtime.app, runtime.options, runtime.reporter
    runtime.lock()
    bound = sock.getsockname()[1]
    if not reporter.json_lines:
        # JSON log lines -> readable lines (a text stream; TextIO is a nominal type).
        set_stream(cast(TextIO, ReadableLogs(reporter)))
    asgi = loopback_only(LocalASGI(runtime), host, allowed_hosts)
    url = f"http://{host if ':' not in host else f'[{host}]'}:{bound}"

    async def announce() -> None:
        # Printed once the broker, scheduler and watcher are running and the socket listens.
        reporter.record(
            "serving",
            app=app.name,
            url=url,
            port=bound,
            state_dir=str(Path(options.state_dir).resolve()),
            buckets=str(Path(options.buckets).resolve()),
            functions=describe(app, timeouts=not options.no_timeouts),
            timeouts_off=options.no_timeouts,
        )
        unset = [name for name in app.secrets if name not in os.environ]
        if unset:
            reporter.record(
                "warning",
                message=f"secret(s) {', '.join(unset)} not set in this shell: app.secret() "
                "raises SecretNotSet for them until you export them and restart",
            )

    runtime.on_started = announce
    config = server_config(uvicorn, asgi, lifespan="on")
    logging.getLogger("uvicorn.error").addFilter(_cancelled_requests)  # once uvicorn's are set
    try:
        # uvicorn re-raises the signal that stopped it: SIGTERM ends the process here, SIGINT
        # comes back as KeyboardInterrupt.
        _stopping(uvicorn, runtime)(config).run(sockets=[sock])
    finally:
        _abandon_stuck_handlers(runtime, reporter)
        runtime.unlock()


def _stopping(uvicorn: Any, runtime: Runtime) -> Any:
    """uvicorn's ``Server``, the runtime's stop begun with the server's: uvicorn drains the
    connections first (up to its graceful-shutdown timeout), then runs the lifespan shutdown,
    and the deliveries claimed meanwhile got a grace of their own after it (10 s in all)."""

    class Server(uvicorn.Server):  # type: ignore[misc]
        async def shutdown(self, *args: Any, **kwargs: Any) -> None:
            runtime.stop_claiming()  # the signal: nothing new is claimed, one grace for both
            await super().shutdown(*args, **kwargs)

    return Server


def server_config(uvicorn: Any, asgi: Any, *, lifespan: str) -> Any:
    """uvicorn's settings for ``dev``: its own records instead of uvicorn's logs."""
    return uvicorn.Config(
        asgi,
        lifespan=lifespan,
        log_level="warning",
        access_log=False,
        loop="auto",
        timeout_graceful_shutdown=GRACE,
        **settings("httptools" if _has("httptools") else "h11"),
    )


def _cancelled_requests(record: logging.LogRecord) -> bool:
    """A ``logging`` filter for uvicorn's log: not the traceback of a request its shutdown
    cancelled ("Exception in ASGI application" with a ``CancelledError``), which the runtime
    answered (a JSON 503) and printed a line for; every other record passes."""
    import asyncio

    error = record.exc_info[1] if record.exc_info else None
    return not (
        isinstance(error, asyncio.CancelledError)
        and str(record.msg).startswith("Exception in ASGI application")
    )


def _abandon_stuck_handlers(runtime: Runtime, reporter: Reporter) -> None:
    """Exit now if handlers still run after the shutdown grace period.

    A handler stuck in a long call would run on through the interpreter's teardown (pool
    threads are daemons, but the threads and locks of its own are not); its delivery is back
    in SQLite and runs again at the next start.
    """
    if runtime.busy:
        reporter.record(
            "warning",
            message=f"{runtime.busy} handler(s) still running at shutdown; a "
            "delivery cut short runs again at the next start (one past its timeout has "
            "already failed its attempt)",
        )
        sys.stdout.flush()
        os._exit(130 if isinstance(sys.exc_info()[1], KeyboardInterrupt) else 0)


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
