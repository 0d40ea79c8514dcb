# SPDX-License-Identifier: Apache-2.0
"""Shared fixtures: the JSON invocation documents in ``events/`` and Azurite on loopback."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
ADAPTER = HERE.parent
REPO = ADAPTER.parent.parent
# Azurite's documented development account (learn.microsoft.com/azure/storage/common/
# storage-use-azurite#well-known-storage-account-and-key): public, fixed, loopback only.
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
if str(REPO) not in sys.path:  # examples/ is importable from a checkout, as uvicorn would do
    sys.path.insert(0, str(REPO))
_LISTENING = re.compile(r"Azurite (Blob|Queue|Table) service is successfully listening at "
                        r"http://127\.0\.0\.1:(\d+)")


def load_event(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((HERE / "events" / f"{name}.json").read_text())
    return data


@pytest.fixture
def event() -> Any:
    return load_event


def _azurite_binary() -> Path:
    binary = ADAPTER / "node_modules" / ".bin" / "azurite"
    if not binary.exists():
        # Install the pinned Azurite from package-lock.json (npm registry).
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=ADAPTER, check=True,
                       capture_output=True, timeout=300)
    return binary


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Azurite (npm) on 127.0.0.1 with OS-chosen ports, in memory; yields a connection string.

    Started and stopped here, whatever the tests do."""
    workdir = tmp_path_factory.mktemp("azurite")
    process = subprocess.Popen(
        # --disableTelemetry: Azurite otherwise collects telemetry (sent off the machine, and
        # a /tmp/Microsoft-AzureMonitor-* folder left behind by every run).
        [str(_azurite_binary()), "--inMemoryPersistence", "--skipApiVersionCheck",
         "--loose", "--disableTelemetry",
         "--blobHost", "127.0.0.1", "--blobPort", "0",
         "--queueHost", "127.0.0.1", "--queuePort", "0",
         "--tableHost", "127.0.0.1", "--tablePort", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        cwd=workdir,
    )
    output: list[str] = []
    ports: dict[str, str] = {}
    try:
        deadline = time.monotonic() + 60
        assert process.stdout is not None
        while len(ports) < 3 and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                if process.poll() is not None:
                    break
                continue
            output.append(line)
            found = _LISTENING.search(line)
            if found:
                ports[found.group(1)] = found.group(2)
        if "Queue" not in ports or "Blob" not in ports:
            raise RuntimeError("Azurite did not start (exit "
                               f"{process.poll()}): {''.join(output)[-2000:]}")
        # Keep reading its output so a chatty Azurite never blocks on a full pipe.
        threading.Thread(target=process.stdout.read, daemon=True).start()
        yield (
            f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{ports['Blob']}/{DEV_ACCOUNT};"
            f"QueueEndpoint=http://127.0.0.1:{ports['Queue']}/{DEV_ACCOUNT};"
        )
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=3)  # open keep-alive sockets can hold a graceful close
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture
def shop() -> Iterator[Any]:
    """The shop example with a recording publisher, restored afterwards."""
    from examples.shop.app import app
    from portable_fn.testing import RecordingPublisher

    previous = app.publisher
    recorder = RecordingPublisher()
    app.use_publisher(recorder)
    try:
        yield app, recorder
    finally:
        app.use_publisher(previous)
