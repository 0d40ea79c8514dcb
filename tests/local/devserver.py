"""Run the real ``portable-fn dev`` as a subprocess on 127.0.0.1 and read its --json lines.

Every server is started on port 0 (the runtime binds and prints the real port) with its own
state directory, and is always stopped (SIGKILL as a last resort) when the test ends.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SHOP = str(ROOT / "examples" / "shop" / "app.py")
SLOW = str(ROOT / "tests" / "local" / "apps" / "slow.py")
Record = dict[str, Any]


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # The checkout first, so the subprocess runs this tree even without `pip install -e`.
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra or {})
    return env


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "portable_fn.cli", *args],
        cwd=ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class DevServer:
    """One ``portable-fn dev --json`` process and everything it printed."""

    def __init__(self, app: str, state: Path, *args: str, env: dict[str, str] | None = None):
        self.app, self.state = app, state
        cmd = [
            sys.executable,
            "-m",
            "portable_fn.cli",
            "dev",
            app,
            "--port",
            "0",
            "--json",
            "--state-dir",
            str(state),
            "--time-scale",
            "0.05",
            "--poll-interval",
            "0.05",
            *args,
        ]
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=cli_env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.records: list[Record] = []
        self.lines: list[str] = []
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        serving = self.wait_for(lambda r: r.get("event") == "serving", timeout=30)
        self.port = int(serving["port"])

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                if line.startswith("{"):
                    record = json.loads(line)
                    if "event" in record and "ts" in record:  # runtime records, not app logs
                        self.records.append(record)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, pred: Callable[[Record], bool], *, timeout: float = 15) -> Record:
        return self.wait_all(pred, 1, timeout=timeout)[0]

    def wait_all(
        self, pred: Callable[[Record], bool], count: int, *, timeout: float = 15
    ) -> list[Record]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [r for r in self.records if pred(r)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not found):
                    tail = "\n".join(self.lines[-40:])
                    raise AssertionError(f"wanted {count}, saw {len(found)}; output:\n{tail}")
                self._cond.wait(min(left, 0.2))

    def invocations(self, function: str, outcome: str | None = None) -> list[Record]:
        with self._cond:
            return [
                r
                for r in self.records
                if r.get("event") == "invocation"
                and r["function"] == function
                and (outcome is None or r["outcome"] == outcome)
            ]

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=body, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, hdrs, raw = resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            status, hdrs, raw = err.code, dict(err.headers), err.read()
        return status, {k.lower(): v for k, v in hdrs.items()}, json.loads(raw) if raw else None

    def post_json(self, path: str, value: Any) -> tuple[int, Any]:
        status, _, body = self.request(
            "POST", path, json.dumps(value).encode(), {"content-type": "application/json"}
        )
        return status, body

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
