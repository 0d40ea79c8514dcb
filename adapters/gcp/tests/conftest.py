# SPDX-License-Identifier: Apache-2.0
"""Fixtures: Google's sample payloads, the packaged apps, the Pub/Sub gRPC endpoint, and the real
functions-framework servers (one per target, as Cloud Run functions runs them), all on loopback
and all stopped at the end of the session."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
EVENTS = HERE / "events"
REPO = HERE.parents[2]
sys.path.insert(0, str(HERE))

from pubsub_endpoint import PublishEndpoint  # noqa: E402
from servers import Server, free_ports, start, stop, wait_ready  # noqa: E402


def load(name: str) -> Any:
    return json.loads((EVENTS / name).read_text())


def raw(name: str) -> bytes:
    return (EVENTS / name).read_bytes()


def binary_headers(name: str) -> dict[str, str]:
    headers: dict[str, str] = load("binary_headers.json")[name]
    return headers


@pytest.fixture(scope="session")
def pubsub_endpoint() -> Iterator[PublishEndpoint]:
    endpoint = PublishEndpoint()
    endpoint.start()
    yield endpoint
    endpoint.stop()


def _package(ref: str, out: Path) -> Path:
    from portable_fn._local.loader import load_app

    from portable_fn_gcp.adapter import adapter

    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    adapter.package(load_app(ref), ref, out)
    return out


@pytest.fixture(scope="session")
def shop_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _package("examples.shop.app:app", tmp_path_factory.mktemp("shop") / "dist" / "gcp")


@pytest.fixture(scope="session")
def probe_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ref = str(HERE / "probe" / "probe_app.py") + ":app"
    return _package(ref, tmp_path_factory.mktemp("probe") / "dist" / "gcp")


class Servers:
    """Every target of one packaged app, each under its own functions-framework process."""

    def __init__(self, source: Path, targets: list[str], env: dict[str, str], logs: Path):
        ports = free_ports(len(targets))
        self.servers = {
            t: start(source, t, env, logs, port) for t, port in zip(targets, ports, strict=True)
        }
        try:
            for server in self.servers.values():
                wait_ready(server)
        except Exception:
            self.close()
            raise

    def __getitem__(self, target: str) -> Server:
        return self.servers[target]

    def close(self) -> None:
        for server in self.servers.values():
            stop(server)


def _targets(dist: Path) -> list[str]:
    lines = (dist / "main.py").read_text().splitlines()
    return [line.split(" = ", 1)[0] for line in lines if " = functions_framework." in line]


@pytest.fixture(scope="session")
def shop(
    shop_dist: Path, pubsub_endpoint: PublishEndpoint, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Servers]:
    env = {"PUBSUB_EMULATOR_HOST": pubsub_endpoint.host, "GOOGLE_CLOUD_PROJECT": "test-project"}
    servers = Servers(shop_dist, _targets(shop_dist), env, tmp_path_factory.mktemp("shop-logs"))
    yield servers
    servers.close()


@pytest.fixture(scope="session")
def probe_record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("probe-record") / "record.jsonl"


@pytest.fixture(scope="session")
def probe(
    probe_dist: Path,
    probe_record: Path,
    pubsub_endpoint: PublishEndpoint,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Servers]:
    env = {
        "PROBE_RECORD": str(probe_record),
        "GOOGLE_CLOUD_PROJECT": "test-project",
        "PUBSUB_EMULATOR_HOST": pubsub_endpoint.host,
    }
    servers = Servers(probe_dist, _targets(probe_dist), env, tmp_path_factory.mktemp("probe-logs"))
    yield servers
    servers.close()


class Recorder:
    """Reads what the probe handlers wrote, from a position (one test's records only)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0

    def records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            return [json.loads(line) for line in fh.read().splitlines() if line.strip()]


@pytest.fixture
def recorder(probe_record: Path) -> Recorder:
    return Recorder(probe_record)
