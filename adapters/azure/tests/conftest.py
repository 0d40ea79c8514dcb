# SPDX-License-Identifier: Apache-2.0
"""Shared fixtures: the JSON invocation documents in ``events/`` and Azurite on loopback."""

from __future__ import annotations

import contextlib
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
                        r"https?://127\.0\.0\.1:(\d+)")


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


@contextlib.contextmanager
def _running_azurite(workdir: Path, *extra: str) -> Iterator[dict[str, str]]:
    """Azurite (npm) on 127.0.0.1 with OS-chosen ports, in memory; yields service -> port.

    Started and stopped here, whatever the tests do."""
    process = subprocess.Popen(
        # --disableTelemetry: Azurite otherwise collects telemetry (sent off the machine, and
        # a /tmp/Microsoft-AzureMonitor-* folder left behind by every run).
        [str(_azurite_binary()), "--inMemoryPersistence", "--skipApiVersionCheck",
         "--loose", "--disableTelemetry",
         "--blobHost", "127.0.0.1", "--blobPort", "0",
         "--queueHost", "127.0.0.1", "--queuePort", "0",
         "--tableHost", "127.0.0.1", "--tablePort", "0", *extra],
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
        yield ports
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


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Azurite over HTTP; yields a connection string (the development account's key)."""
    with _running_azurite(tmp_path_factory.mktemp("azurite")) as ports:
        yield (
            f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{ports['Blob']}/{DEV_ACCOUNT};"
            f"QueueEndpoint=http://127.0.0.1:{ports['Queue']}/{DEV_ACCOUNT};"
        )


class OAuthAzurite:
    """Azurite over HTTPS with ``--oauth basic``: bearer tokens accepted (it checks their
    issuer, audience and lifetime, not their signature), and shared keys still."""

    def __init__(self, queue_url: str, connection: str, cert: Path) -> None:
        self.queue_url = queue_url  # what <connection>__queueServiceUri would hold
        self.connection = connection
        self.cert = cert  # the self-signed certificate to trust (REQUESTS_CA_BUNDLE)


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate (and its key) for 127.0.0.1, made with openssl as
    Azurite's README describes (https://github.com/Azure/Azurite#https-setup)."""
    workdir = tmp_path_factory.mktemp("tls")
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run(
        ["openssl", "req", "-newkey", "rsa:2048", "-x509", "-nodes", "-sha256", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60)
    return cert, key


@pytest.fixture(scope="session")
def azurite_oauth(tmp_path_factory: pytest.TempPathFactory,
                  tls_cert: tuple[Path, Path]) -> Iterator[OAuthAzurite]:
    """Azurite's OAuth needs HTTPS, hence the certificate."""
    workdir = tmp_path_factory.mktemp("azurite-oauth")
    cert, key = tls_cert
    with _running_azurite(workdir, "--cert", str(cert), "--key", str(key),
                          "--oauth", "basic") as ports:
        queue_url = f"https://127.0.0.1:{ports['Queue']}/{DEV_ACCOUNT}"
        yield OAuthAzurite(
            queue_url,
            f"DefaultEndpointsProtocol=https;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
            f"QueueEndpoint={queue_url};",
            cert)


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
