"""Fixtures for the reliability suite: real servers on 127.0.0.1, each started and stopped here.

- ``redis_url``: Debian's ``redis-server`` (apt-get install -y redis-server) on a free port,
  no persistence, stopped at the end of the session.
- ``moto_endpoint``: moto's server (``moto[server]``) on a free port, DynamoDB among others.
- ``store_url``: a fresh idempotency store URL for each test, one per backend (parametrized).
- ``dev``: real ``portable-fn dev`` processes (tests/local's helper), always stopped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ..local.devserver import DevServer

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "tests" / "reliability" / "apps" / "reliable.py")
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: apt-get install -y redis-server")
    port = free_port()
    work = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
         "--appendonly", "no", "--dir", str(work)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail(f"redis-server did not start on port {port}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import DomainDispatcherApplication, ThreadedMotoServer, create_backend_app
    from werkzeug.serving import make_server

    class SerialMotoServer(ThreadedMotoServer):  # type: ignore[misc]
        """moto's server answering one request at a time. DynamoDB applies a conditional
        PutItem atomically; moto's backend does not lock, so its threaded server can let two
        racing conditional writes both succeed (seen here: the race test's side effect twice
        in one runtime). Serialising requests gives the emulator the atomicity the real
        service guarantees, which is what the idempotency store relies on."""

        def _server_entry(self) -> None:
            app = DomainDispatcherApplication(create_backend_app)
            self._server = make_server(self._ip_address, self._port, app, threaded=False)
            self._server_ready_event.set()
            self._server.serve_forever()

    for key, value in AWS_ENV.items():
        os.environ.setdefault(key, value)
    port = free_port()
    server = SerialMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def dynamodb_url(endpoint: str) -> str:
    from portable_fn.idempotency import DynamoDBStore

    table = f"idem-{uuid.uuid4().hex[:12]}"
    DynamoDBStore(table, region="us-east-1", endpoint_url=endpoint).create_table()
    return f"dynamodb://{table}?region=us-east-1&endpoint_url={endpoint}"


BACKENDS = ["sqlite", "dynamodb", "redis"]


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store of each shared backend (what many processes can use at once)."""
    backend = request.param
    if backend == "sqlite":
        return f"sqlite://{tmp_path}/idempotency.sqlite3"
    if backend == "dynamodb":
        return dynamodb_url(request.getfixturevalue("moto_endpoint"))
    return str(request.getfixturevalue("redis_url"))


@pytest.fixture
def effects(tmp_path: Path) -> dict[str, str]:
    """The environment the test app records its side effects through."""
    markers = tmp_path / "markers"
    markers.mkdir()
    return {
        "PF_EFFECTS": str(tmp_path / "effects.log"),
        "PF_MARKERS": str(markers),
        **AWS_ENV,
    }


def effect_lines(env: dict[str, str], kind: str) -> list[list[str]]:
    path = Path(env["PF_EFFECTS"])
    if not path.exists():
        return []
    rows = [line.split() for line in path.read_text().splitlines()]
    return [row for row in rows if row and row[0] == kind]


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[Callable[..., DevServer]]:
    """``dev(*args, env=..., state=...)`` starts ``portable-fn dev`` on the reliability app."""
    started: list[DevServer] = []

    def start(*args: str, env: dict[str, str] | None = None, state: Path | None = None,
              app: str = APP) -> DevServer:
        server = DevServer(app, state or tmp_path / f"state-{len(started)}", *args, env=env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
