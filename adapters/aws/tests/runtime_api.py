# SPDX-License-Identifier: Apache-2.0
"""A Lambda Runtime API emulator on 127.0.0.1, for running packaged functions under the real
runtime interface client (awslambdaric) in tests.

Implements the four endpoints a runtime uses
(https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html):
``GET /2018-06-01/runtime/invocation/next`` (blocks until an event is queued),
``POST .../invocation/{id}/response``, ``POST .../invocation/{id}/error`` and
``POST /2018-06-01/runtime/init/error``.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PREFIX = "/2018-06-01/runtime"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:test"


@dataclass
class Result:
    ok: bool
    body: Any
    error_type: str | None = None


class RuntimeAPI:
    def __init__(self) -> None:
        self.pending: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.results: dict[str, queue.Queue[Result]] = {}
        self.init_errors: queue.Queue[Any] = queue.Queue()
        self.closed = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _reply(
                self, status: int, body: bytes = b"", headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path != f"{PREFIX}/invocation/next":
                    self._reply(404)
                    return
                while True:  # wait for an invocation, but let the emulator shut down
                    try:
                        request_id, payload = api.pending.get(timeout=0.2)
                        break
                    except queue.Empty:
                        if api.closed.is_set():
                            self.close_connection = True
                            return
                deadline = int((time.time() + 30) * 1000)
                self._reply(
                    200,
                    payload,
                    {
                        "Content-Type": "application/json",
                        "Lambda-Runtime-Aws-Request-Id": request_id,
                        "Lambda-Runtime-Deadline-Ms": str(deadline),
                        "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN,
                        "Lambda-Runtime-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793",
                    },
                )

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                parts = self.path[len(PREFIX) :].strip("/").split("/")
                if parts == ["init", "error"]:
                    api.init_errors.put(json.loads(body or b"null"))
                elif (
                    len(parts) == 3
                    and parts[0] == "invocation"
                    and parts[2] in ("response", "error")
                ):
                    ok = parts[2] == "response"
                    api.results.setdefault(parts[1], queue.Queue()).put(
                        Result(
                            ok,
                            json.loads(body) if body else None,
                            self.headers.get("Lambda-Runtime-Function-Error-Type"),
                        )
                    )
                else:
                    self._reply(404)
                    return
                self._reply(202, b'{"status":"OK"}', {"Content-Type": "application/json"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> RuntimeAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed.set()
        self.server.shutdown()
        self.server.server_close()

    def invoke(self, event: Any, timeout: float = 20) -> Result:
        request_id = str(uuid.uuid4())
        inbox = self.results.setdefault(request_id, queue.Queue())
        self.pending.put((request_id, json.dumps(event).encode()))
        return inbox.get(timeout=timeout)


class RuntimeProcess:
    """``python -m awslambdaric HANDLER`` in ``task_root``, as the Lambda Python runtime runs it."""

    def __init__(
        self, api: RuntimeAPI, task_root: Path, handler: str, env: dict[str, str] | None = None
    ) -> None:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        environ.update(
            {
                "AWS_REGION": "us-east-1",
                "AWS_DEFAULT_REGION": "us-east-1",
                **(env or {}),
            }
        )
        environ.update(
            AWS_LAMBDA_RUNTIME_API=api.address,
            AWS_LAMBDA_FUNCTION_NAME=handler.rpartition(".")[2],
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256",
            LAMBDA_TASK_ROOT=str(task_root),
            # The task root first, as in Lambda: the zip's copies win over anything installed.
            PYTHONPATH=str(task_root),
            PYTHONDONTWRITEBYTECODE="1",
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "awslambdaric", handler],
            cwd=task_root,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> str:
        self.process.kill()
        out, _ = self.process.communicate(timeout=10)
        return out.decode("utf-8", "replace")
