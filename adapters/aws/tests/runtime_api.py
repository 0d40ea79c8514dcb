# SPDX-License-Identifier: Apache-2.0
"""A Lambda Runtime API emulator on 127.0.0.1, for running packaged functions under the real
runtime interface client (awslambdaric) in tests.

Implements the four endpoints a runtime uses
(https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html):
``GET /2018-06-01/runtime/invocation/next`` (blocks until an event is queued),
``POST .../invocation/{id}/response``, ``POST .../invocation/{id}/error`` and
``POST /2018-06-01/runtime/init/error``.

A function's limits reach the runtime as in Lambda: its timeout as each invocation's deadline,
the ``Lambda-Runtime-Deadline-Ms`` header of ``.../invocation/next`` ("the date that the
function times out in Unix time milliseconds", same page), which awslambdaric's
``context.get_remaining_time_in_millis()`` counts down to (``RuntimeAPI(timeout=...)``); its
memory as the reserved environment variable ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``, "the amount of
memory available to the function in MB"
(https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime),
which awslambdaric gives as ``context.memory_limit_in_mb`` (``RuntimeProcess(memory=...)``).
Lambda sets no environment variable for the timeout. ``template_limits`` reads both from the
SAM template the aws target writes; ``template_environment`` its variables (the app's ``env``,
its secrets' references resolved from a stand-in for Secrets Manager).
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

PREFIX = "/2018-06-01/runtime"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:test"


@dataclass
class Result:
    ok: bool
    body: Any
    error_type: str | None = None


@dataclass(frozen=True)
class Limits:
    """What Lambda gives one function: ``timeout`` seconds per invocation, ``memory`` MB."""

    timeout: int
    memory: int


# Lambda's own defaults, for a template that sets neither (SAM's Globals usually do):
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html (3 s) and
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html (128 MB).
LAMBDA_DEFAULTS = Limits(timeout=3, memory=128)


def template_limits(template: Path, function: str) -> Limits:
    """The ``Timeout`` and ``MemorySize`` the generated SAM ``template`` gives ``function``:
    its ``AWS::Serverless::Function`` resource's own (``<Name>Function``, found by its
    ``Handler: pf_entry.<function>``), else the template's ``Globals -> Function``, else
    Lambda's defaults."""
    doc = yaml.safe_load(template.read_text())
    defaults = (doc.get("Globals") or {}).get("Function") or {}
    own = _own(doc, function)
    return Limits(
        timeout=int(own.get("Timeout", defaults.get("Timeout", LAMBDA_DEFAULTS.timeout))),
        memory=int(own.get("MemorySize", defaults.get("MemorySize", LAMBDA_DEFAULTS.memory))),
    )


# A whole value that is a Secrets Manager dynamic reference, as the aws target writes them:
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references-secretsmanager.html
_SECRET_REFERENCE = re.compile(r"\{\{resolve:secretsmanager:([^:}]+)\}\}")


def template_environment(
    template: Path, function: str, secrets: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment variables the generated SAM ``template`` gives ``function``: the
    Globals' merged with its own (its own win, as SAM merges them). A
    ``{{resolve:secretsmanager:ID}}`` value becomes ``secrets[ID]``: a stand-in for what
    CloudFormation does at deploy, reading the secret from Secrets Manager (a missing ID fails
    as a deploy would). Values that are intrinsic functions (``Ref``/``Fn::GetAtt`` of the
    stack's queues and topics) exist only in a deployed stack and are left out: a test passes
    its own (moto's) in ``RuntimeProcess(env=...)``."""
    doc = yaml.safe_load(template.read_text())
    defaults = (doc.get("Globals") or {}).get("Function") or {}
    merged = {
        **((defaults.get("Environment") or {}).get("Variables") or {}),
        **((_own(doc, function).get("Environment") or {}).get("Variables") or {}),
    }
    out: dict[str, str] = {}
    for name, value in merged.items():
        if not isinstance(value, str):
            continue
        reference = _SECRET_REFERENCE.fullmatch(value)
        if reference is not None:
            try:
                value = (secrets or {})[reference.group(1)]
            except KeyError:
                raise LookupError(f"{name}: no secret {reference.group(1)!r} to resolve") from None
        out[name] = value
    return out


def _own(doc: dict[str, Any], function: str) -> dict[str, Any]:
    """The properties of ``function``'s ``AWS::Serverless::Function`` (``Handler:
    pf_entry.<function>``)."""
    found: list[dict[str, Any]] = [
        resource.get("Properties") or {}
        for resource in doc["Resources"].values()
        if resource.get("Type") == "AWS::Serverless::Function"
        and (resource.get("Properties") or {}).get("Handler") == f"pf_entry.{function}"
    ]
    (own,) = found
    return own


class RuntimeAPI:
    """The Runtime API of one function whose invocations may run ``timeout`` seconds: each
    ``next`` hands out a ``Lambda-Runtime-Deadline-Ms`` that far away (30, the template's
    Globals, unless told; the invocation is not stopped at its deadline)."""

    def __init__(self, timeout: float = 30) -> None:
        self.timeout = timeout
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
                deadline = int((time.time() + api.timeout) * 1000)
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
    """``python -m awslambdaric HANDLER`` in ``task_root``, as the Lambda Python runtime runs it,
    for a function of ``memory`` MB (``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``; 256, the template's
    Globals, unless told)."""

    def __init__(
        self,
        api: RuntimeAPI,
        task_root: Path,
        handler: str,
        env: dict[str, str] | None = None,
        memory: int = 256,
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
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(memory),
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
