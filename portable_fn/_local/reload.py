"""``portable-fn dev --reload``: a fresh worker process serves the app after each change of a
``*.py`` file under its folder, as ``uvicorn --reload`` does
(https://www.uvicorn.org/settings/#reloading).

This process only watches: it binds the socket once and hands it to every worker (the port
stays), and uvicorn's stat-based reloader (``uvicorn.supervisors.statreload``: no extra
dependency) starts and stops the workers. Each worker imports ``APP`` afresh and runs the same
runtime as plain ``dev``: a restart terminates the old worker and waits for it (SIGTERM, the
shutdown of a Ctrl-C: in-flight deliveries go back to the broker, the state directory is
unlocked), then the new one takes the lock, runs again what was in flight and prints "serving".
A worker whose ``APP`` no longer imports prints one error line and answers every request a JSON
503 until the next change.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from portable_fn._local.loader import load_app, split_ref
from portable_fn._local.report import Reporter
from portable_fn._local.runtime import Options, Runtime, lock_state_dir
from portable_fn._local.server import (
    bind,
    loopback_only,
    serve_runtime,
    server_config,
    uvicorn_module,
)
from portable_fn.errors import ConfigurationError, PortableFnError


@dataclass(frozen=True, slots=True, kw_only=True)
class Worker:
    """What every worker needs to serve ``APP`` as ``dev`` was asked to (pickled to it)."""

    ref: str
    host: str
    allowed_hosts: tuple[str, ...]
    options: Options
    json_lines: bool
    quiet_http: bool

    def reporter(self) -> Reporter:
        return Reporter(json_lines=self.json_lines, quiet_http=self.quiet_http, app=self.ref,
                        state_dir=str(self.options.state_dir))


def watch_dirs(ref: str, extra: list[str]) -> list[Path]:
    """The folder of the ``APP`` file, or of the top package of the module it names (a module
    outside any package: its folder), and the ``--reload-dir`` folders. Call after
    ``load_app(ref)``: the package is imported by then."""
    for folder in extra:
        if not Path(folder).is_dir():
            raise ConfigurationError(f"--reload-dir {folder}: no such directory")
    target, _ = split_ref(ref)
    if target.endswith(".py") or Path(target).is_file():
        own = [Path(target).resolve().parent]
    else:
        spec = importlib.util.find_spec(target.split(".")[0])
        if spec is not None and spec.submodule_search_locations:  # a package (or namespace)
            own = [Path(p) for p in spec.submodule_search_locations]
        elif spec is not None and spec.origin:
            own = [Path(spec.origin).parent]
        else:
            own = [Path.cwd()]
    # A namespace package can list one folder twice (the checkout on sys.path as "" and cwd).
    return list(dict.fromkeys([*own, *(Path(folder).resolve() for folder in extra)]))


def supervise(worker: Worker, *, port: int, dirs: list[Path]) -> None:
    """Serve ``worker`` and restart it on every change under ``dirs`` until SIGINT/SIGTERM
    (SIGINT comes back as ``KeyboardInterrupt``, and SIGTERM ends the process, as without
    ``--reload``)."""
    uvicorn = uvicorn_module()
    reporter = worker.reporter()
    # A second dev on this state directory exits 2 now, not in a worker after every save.
    lock_state_dir(worker.options.state_dir).close()
    sock = bind(worker.host, port)
    # The reloader's settings (uvicorn resolves reload_dirs only for an app given by name; the
    # workers load the real one).
    config = uvicorn.Config(
        worker.ref, reload=True, reload_dirs=[str(d) for d in dirs], log_level="warning"
    )
    skip = [worker.options.state_dir.resolve(), worker.options.buckets.resolve()]
    reloader = _watcher()(config, functools.partial(run_worker, worker), [sock], skip=skip)
    reloader.startup()  # spawns the first worker
    stopped_by: list[int] = []

    def stop(sig: int, frame: FrameType | None) -> None:
        stopped_by.append(sig)
        reloader.should_exit.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    for changes in reloader:  # ends once should_exit is set
        if changes:
            reporter.record("reloading", changed=sorted(_shown(path) for path in changes))
            reloader.restart()
    reloader.shutdown()  # terminates the worker, waits for it, closes the socket
    if signal.SIGINT in stopped_by:
        raise KeyboardInterrupt
    if signal.SIGTERM in stopped_by:
        # Ended by the signal itself (status 128 + 15), as uvicorn ends plain dev: a process
        # manager reads the stop it asked for (this returned 0 before).
        reporter.flush()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.raise_signal(signal.SIGTERM)


def _watcher() -> Any:
    """uvicorn's ``StatReload`` with what a dev loop needs (a class made once uvicorn is
    importable: the module imports without it)."""
    from uvicorn.supervisors.basereload import BaseReload
    from uvicorn.supervisors.statreload import StatReload

    class Watcher(StatReload):
        """The files' mtimes are read before each worker starts: uvicorn reads them at the first
        scan after it, 0.25 s on, by when a worker has often imported the app already, so a save
        in between was neither served nor seen. Every file changed, added or removed is
        reported; hidden folders (``.venv``, ``.git``), ``__pycache__``, the state directory and
        the bucket folders are not scanned (a ``.py`` object dropped in a bucket is data)."""

        def __init__(
            self,
            config: Any,
            target: Callable[[list[socket.socket] | None], None],
            sockets: list[socket.socket],
            *,
            skip: list[Path],
        ) -> None:
            super().__init__(config, target, sockets)
            self.skip = set(skip)

        def startup(self) -> None:
            self.mtimes = self._scan()
            super().startup()

        def restart(self) -> None:
            self.mtimes = self._scan()
            BaseReload.restart(self)  # not StatReload's: it forgets the mtimes just read

        def should_restart(self) -> list[Path] | None:
            self.pause()
            now = self._scan()
            seen = now.keys() | self.mtimes.keys()
            return [p for p in seen if now.get(p) != self.mtimes.get(p)] or None

        def _scan(self) -> dict[Path, float]:
            found: dict[Path, float] = {}
            for path in self.iter_py_files():
                try:
                    found[path] = path.stat().st_mtime
                except OSError:  # removed since listed
                    continue
            return found

        def iter_py_files(self) -> Iterator[Path]:
            for root in self.config.reload_dirs:
                for folder, subdirs, files in os.walk(root):
                    here = Path(folder)
                    subdirs[:] = [
                        d
                        for d in subdirs
                        if not d.startswith(".")
                        and d != "__pycache__"
                        and here / d not in self.skip
                    ]
                    for name in files:
                        if name.endswith(".py") and not name.startswith("."):
                            yield here / name

    return Watcher


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def run_worker(worker: Worker, sockets: list[socket.socket]) -> None:
    """One worker process: import ``APP`` and serve it on the supervisor's socket (uvicorn's
    ``subprocess_started`` calls it with ``sockets=``)."""
    reporter = worker.reporter()
    _exit_with_supervisor()
    try:
        runtime = Runtime(load_app(worker.ref), worker.options, reporter)
        runtime.lock()
    except (PortableFnError, ImportError, OSError) as exc:
        # As dev prints a bad APP at start: one line, no traceback; the supervisor keeps
        # watching and the next save starts a new worker.
        message = f"{exc}; fix it and save: dev reloads on the next change"
        reporter.record("error", message=message)
        _serve_unavailable(sockets[0], worker, message)
        return
    serve_runtime(runtime, sockets[0], host=worker.host, allowed_hosts=worker.allowed_hosts)


def _serve_unavailable(sock: socket.socket, worker: Worker, message: str) -> None:
    """Answer every request a JSON 503 naming the error until the next reload: without a
    worker, a client (or a script polling ``/_pf/health``) would wait on the socket's backlog."""
    import json

    uvicorn = uvicorn_module()
    body = json.dumps({"error": {"status": 503, "message": message}}).encode()

    async def unavailable(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 503, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]})
        await send({"type": "http.response.body", "body": body})

    asgi = loopback_only(unavailable, worker.host, worker.allowed_hosts)
    uvicorn.Server(server_config(uvicorn, asgi, lifespan="off")).run(sockets=[sock])


def _exit_with_supervisor() -> None:
    """Stop this worker (as at a reload) if the supervisor dies without stopping it (SIGKILL):
    an orphan would keep the port and the state directory."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="pf-supervisor-watch", daemon=True).start()
