# SPDX-License-Identifier: Apache-2.0
"""Fixtures: a generated Worker running on real Pyodide in Node, with the real ``workers`` SDK.

``PyodideWorker`` starts ``tests/js/driver.mjs`` (Node 20 + npm ``pyodide``, installed by
``npm ci`` in this adapter's folder, done here when missing), hands it the unpacked
workers-runtime-sdk wheel and the packaged ``src/``, and exchanges one JSON line per command.
Each worker is stopped when its fixture ends.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ADAPTER = Path(__file__).resolve().parents[1]
REPO = ADAPTER.parents[1]
# examples/ is not an installed package: import it from the checkout, as the CLI does.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
DRIVER = ADAPTER / "tests" / "js" / "driver.mjs"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SDK_VERSION = "1.9.5"
TIMEOUT = 120.0

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.10
    import tomli as tomllib


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _ensure_node_modules() -> None:
    if (ADAPTER / "node_modules" / "pyodide" / "pyodide.asm.wasm").is_file():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm (Node 20) is required: the Worker runs on npm pyodide")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=ADAPTER, check=True)


def _sdk_files(target: Path) -> None:
    """Copy the workers SDK package out of the installed wheel (or a downloaded one on 3.10,
    where pip will not install it: it requires Python >= 3.11)."""
    try:
        dist = importlib.metadata.distribution("workers-runtime-sdk")
    except importlib.metadata.PackageNotFoundError:
        dist = None
    if dist is not None:
        for file in dist.files or []:
            if file.parts[0] == "workers":
                dest = target / Path(*file.parts)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(Path(str(file.locate())), dest)
        return
    wheels = Path(tempfile.mkdtemp(prefix="cf-sdk-wheel-"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            "3.12",
            "-d",
            str(wheels),
            f"workers-runtime-sdk=={SDK_VERSION}",
        ],
        check=True,
    )
    with zipfile.ZipFile(next(wheels.glob("*.whl"))) as wheel:
        for name in wheel.namelist():
            if name.startswith("workers/"):
                wheel.extract(name, target)


@pytest.fixture(scope="session")
def sdk_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _ensure_node_modules()
    target = tmp_path_factory.mktemp("workers-sdk")
    _sdk_files(target)
    assert (target / "workers" / "entrypoints.py").is_file()
    return target


def producers_of(dist: Path) -> dict[str, str]:
    """Producer bindings as the generated wrangler.toml declares them."""
    cfg = tomllib.loads((dist / "wrangler.toml").read_text())
    return {p["binding"]: p["queue"] for p in cfg.get("queues", {}).get("producers", [])}


class PyodideWorker:
    """One Node process running one generated Worker."""

    def __init__(self, sdk: Path, dist: Path | None, *, entry: str | None = "entry") -> None:
        # A file, not a pipe: Python's log lines go to stderr and must never block the driver.
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115  (closed in close())
        self.proc = subprocess.Popen(
            ["node", str(DRIVER)],
            cwd=ADAPTER,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
        )
        setup = {
            "sdkDir": str(sdk),
            "srcDir": str(dist / "src") if dist else None,
            "entry": entry if dist else None,
            "producers": producers_of(dist) if dist else {},
        }
        self.ready = self._exchange(setup)

    def _exchange(self, message: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(TIMEOUT):
                raise TimeoutError(f"driver did not answer: {self.logs()}")
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"driver exited: {self.logs()}")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def call(self, op: str, **fields: Any) -> dict[str, Any]:
        reply = self._exchange({"op": op, **fields})
        if not reply.get("ok"):
            raise AssertionError(f"driver failed on {op}: {reply.get('error')}\n{self.logs()}")
        return reply

    def logs(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")[-4000:]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()


def package_app(app_ref: str, out: Path) -> Path:
    import importlib

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


os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
