# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import socket
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from aws_fixtures import FakeLambdaContext

DUMMY_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's server (SQS, SNS, EventBridge...) on loopback for the whole session."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Dummy credentials and AWS_ENDPOINT_URL pointing every boto3 client at moto, reset."""
    urllib.request.urlopen(
        urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST"), timeout=10
    ).close()
    env = {**DUMMY_AWS, "AWS_ENDPOINT_URL": moto_endpoint}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture(scope="session")
def shop_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``examples/shop`` packaged by the aws target: the folder holding app.zip and template."""
    from examples.shop.app import app

    from portable_fn_aws.adapter import adapter

    out = tmp_path_factory.mktemp("dist") / "aws"
    adapter.package(app, "examples.shop.app:app", out)
    return out


@pytest.fixture(scope="session")
def task_root(shop_package: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """app.zip unzipped, as Lambda lays it out in /var/task."""
    root = tmp_path_factory.mktemp("task")
    with zipfile.ZipFile(shop_package / "app.zip") as archive:
        archive.extractall(root)
    return root
