# SPDX-License-Identifier: Apache-2.0
"""Fixtures: generated Workers (examples/shop and a test echo app) running on real Pyodide in
Node with the real ``workers`` SDK (see ``pyodide_worker.py``); each is stopped at the end."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyodide_worker import ADAPTER, PyodideWorker, unpack_sdk

REPO = ADAPTER.parents[1]
# examples/ is not an installed package: import it from the checkout, as the CLI does.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


@pytest.fixture(scope="session")
def sdk_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return unpack_sdk(tmp_path_factory.mktemp("workers-sdk"))


def package_app(app_ref: str, out: Path) -> Path:
    from portable_fn_cloudflare.adapter import adapter

    module, _, attr = app_ref.partition(":")
    app = getattr(importlib.import_module(module), attr)
    adapter.package(app, app_ref, out)
    return out


@pytest.fixture(scope="session")
def shop_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return package_app("examples.shop.app:app", tmp_path_factory.mktemp("shop") / "cloudflare")


@pytest.fixture(scope="session")
def echo_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return package_app("cf_apps.echo:app", tmp_path_factory.mktemp("echo") / "cloudflare")


@pytest.fixture(scope="session")
def shop_worker(sdk_dir: Path, shop_dist: Path) -> Iterator[PyodideWorker]:
    worker = PyodideWorker(sdk_dir, shop_dist)
    yield worker
    worker.close()


@pytest.fixture(scope="session")
def echo_worker(sdk_dir: Path, echo_dist: Path) -> Iterator[PyodideWorker]:
    worker = PyodideWorker(sdk_dir, echo_dist)
    yield worker
    worker.close()
