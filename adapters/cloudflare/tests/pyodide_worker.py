# SPDX-License-Identifier: Apache-2.0
"""Run a generated Worker on real Pyodide in Node, with the real ``workers`` SDK.

``PyodideWorker`` starts ``tests/js/driver.mjs`` (Node 20 + npm ``pyodide``, installed by
``npm ci`` in this adapter's folder, done here when missing), hands it the unpacked
workers-runtime-sdk wheel and the packaged ``src/``, and exchanges one JSON line per command.
Shared by the tests (``conftest.py``) and ``benchmarks/bench_cloudflare.py``.
"""

from __future__ import annotations

import importlib.metadata
import json
import selectors
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

ADAPTER = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
DRIVER = ADAPTER / "tests" / "js" / "driver.mjs"
SDK_VERSION = "1.9.5"
# wrangler is read, not run: only its config-schema.json. Installing it would pull workerd
# binaries for every platform, which this registry mirror does not all carry, so `npm ci`
# could not reproduce the lock file; `npm pack` fetches the one tarball instead.
WRANGLER_VERSION = "4.164.0"
TIMEOUT = 300.0

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.10
    import tomli as tomllib


def load_fixture(name: str) -> Any:
    """A JSON fixture from tests/fixtures."""
    return json.loads((FIXTURES / name).read_text())


class DriverError(AssertionError):
    """The Node driver failed, exited or did not answer; carries its log tail."""


def ensure_node_modules() -> None:
    if (ADAPTER / "node_modules" / "pyodide" / "pyodide.asm.wasm").is_file():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise DriverError("npm (Node 20) is required: the Worker runs on npm pyodide")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=ADAPTER, check=True)


def unpack_sdk(target: Path) -> Path:
    """Copy the ``workers`` package out of the installed workers-runtime-sdk wheel, or out of
    a downloaded one on Python 3.10 (pip will not install it there: it requires >= 3.11)."""
    ensure_node_modules()
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
    else:
        _fetch_sdk(target)
    if not (target / "workers" / "entrypoints.py").is_file():
        raise DriverError(f"workers SDK not found in {target}")
    return target


def _fetch_sdk(target: Path) -> None:
    """Unpack the pinned wheel into ``target`` with uv (nox's venvs have no pip) or pip."""
    staging = Path(tempfile.mkdtemp(prefix="cf-sdk-"))
    requirement = f"workers-runtime-sdk=={SDK_VERSION}"
    uv = shutil.which("uv")
    if uv:
        subprocess.run(
            [
                uv,
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--target",
                str(staging),
                "--python-version",
                "3.12",
                requirement,
            ],
            check=True,
        )
        shutil.copytree(staging / "workers", target / "workers", dirs_exist_ok=True)
        return
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            "3.12",
            "-d",
            str(staging),
            requirement,
        ],
        check=True,
    )
    with zipfile.ZipFile(next(staging.glob("*.whl"))) as wheel:
        for name in wheel.namelist():
            if name.startswith("workers/"):
                wheel.extract(name, target)


def wrangler_schema() -> dict[str, Any]:
    """The JSON schema of wrangler's configuration, from the pinned wrangler npm tarball."""
    cache = ADAPTER / "node_modules" / ".cache" / f"wrangler-{WRANGLER_VERSION}-config-schema.json"
    if not cache.is_file():
        npm = shutil.which("npm")
        if npm is None:
            raise DriverError("npm is required to fetch wrangler's config schema")
        staging = Path(tempfile.mkdtemp(prefix="cf-wrangler-"))
        subprocess.run(
            [
                npm,
                "pack",
                "--silent",
                f"wrangler@{WRANGLER_VERSION}",
                "--pack-destination",
                str(staging),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        import tarfile

        with tarfile.open(next(staging.glob("wrangler-*.tgz"))) as tar:
            member = tar.extractfile("package/config-schema.json")
            if member is None:
                raise DriverError("wrangler tarball has no config-schema.json")
            data = member.read()
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(data)
        shutil.rmtree(staging, ignore_errors=True)
    schema: dict[str, Any] = json.loads(cache.read_text())
    return schema


def producers_of(dist: Path) -> dict[str, str]:
    """Producer bindings as the generated wrangler.toml declares them."""
    cfg = tomllib.loads((dist / "wrangler.toml").read_text())
    return {p["binding"]: p["queue"] for p in cfg.get("queues", {}).get("producers", [])}


class PyodideWorker:
    """One Node process running one generated Worker; ``close()`` stops it."""

    def __init__(
        self,
        sdk: Path,
        dist: Path | None,
        *,
        entry: str | None = "entry",
        preload: tuple[str, ...] = (),
        vars: dict[str, Any] | None = None,
        kv: dict[str, dict[str, str]] | None = None,
    ) -> None:
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
            "preload": list(preload),
            "vars": vars or {},  # wrangler [vars] and secrets: strings, or JSON values
            "kv": kv or {},  # KV namespace bindings and their contents
        }
        try:
            self.ready = self._exchange(setup)
        except BaseException:
            self.close()
            raise

    def _exchange(self, message: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(TIMEOUT):
                raise DriverError(f"driver did not answer in {TIMEOUT}s: {self.logs()}")
        line = self.proc.stdout.readline()
        if not line:
            raise DriverError(f"driver exited: {self.logs()}")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def call(self, op: str, **fields: Any) -> dict[str, Any]:
        reply = self._exchange({"op": op, **fields})
        if not reply.get("ok"):
            raise DriverError(f"driver failed on {op}: {reply.get('error')}\n{self.logs()}")
        return reply

    def logs(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")[-4000:]

    def close(self) -> None:
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self.stderr.close()
