# SPDX-License-Identifier: Apache-2.0
"""Start and stop the real functions-framework server (its CLI, gunicorn) on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports. Every socket stays bound until all are picked: a port
    released at once may be handed out again by the next ``bind(0)``, and two servers given
    the same port left one test talking to the other function's server (seen in CI)."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
        return ports


@dataclass
class Server:
    target: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def request(
        self,
        path: str = "/",
        *,
        method: str = "POST",
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, dict[str, list[str]], bytes]:
        req = urllib.request.Request(
            self.url + path, data=body if method != "GET" else None, method=method
        )
        for name, value in (headers or {}).items():
            req.add_header(name, value)
        try:
            with urllib.request.urlopen(req, timeout=20) as resp:
                return resp.status, _headers(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, _headers(err.headers), err.read()


def _headers(raw: object) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in raw.items():  # type: ignore[attr-defined]
        out.setdefault(name.lower(), []).append(value)
    return out


def start(
    source: Path, target: str, env: Mapping[str, str], log_dir: Path, port: int | None = None
) -> Server:
    port = port or free_port()
    log = log_dir / f"{target}.log"
    handle = log.open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "functions_framework",
            "--source",
            str(source / "main.py"),
            "--target",
            target,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=source,
        env={**os.environ, **env},
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    handle.close()
    return Server(target, port, process, log)


def wait_ready(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.target} exited:\n{server.output()}")
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", server.port), timeout=0.5),
        ):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{server.target} did not listen in {timeout}s:\n{server.output()}")


def stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
