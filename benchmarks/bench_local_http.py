# SPDX-License-Identifier: Apache-2.0
"""Local HTTP serving, side by side in one run: ``portable-fn dev`` against functions-framework
(its default: gunicorn + Flask) and Starlette under uvicorn, on a hello-world JSON route.

    python benchmarks/bench_local_http.py [--duration 5] [--connections 8] [--rounds 3]

Each server runs on 127.0.0.1 (a free port), one process, its default settings (uvicorn picks
httptools and uvloop when installed, for portable-fn dev and Starlette alike), output to
/dev/null (portable-fn dev still prints its buffered per-request lines, as by default).
wrk (Debian package ``wrk``) drives it with 1 thread and ``--connections`` for ``--duration``
seconds per run. Servers are measured in a shuffled order each round after a 1 s warm-up; the
table reports each server's median req/s, p50 and p99, and the median over rounds of its req/s
divided by functions-framework's in the same round.
Goal (issue #2): ``portable-fn dev`` >= 3x functions-framework.
Sync handlers run in a thread pool in both portable-fn dev and Starlette, so compare sync
with sync and async with async.
Needs: ``pip install -e ".[local]" functions-framework starlette``, ``apt-get install wrk``.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PORTABLE_APP = """
import portable_fn as pf
app = pf.App("hello")

@app.http("/hello", methods=["GET"], auth="anonymous")
def hello(req):
    return {"hello": "world"}

@app.http("/hello-async", methods=["GET"], auth="anonymous")
async def hello_async(req):
    return {"hello": "world"}
"""
FF_APP = """
def hello(request):
    return {"hello": "world"}
"""
STARLETTE_APP = """
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def hello(request):
    return JSONResponse({"hello": "world"})

def hello_sync(request):  # Starlette runs it in its thread pool, as we do
    return JSONResponse({"hello": "world"})

app = Starlette(routes=[Route("/hello", hello), Route("/hello-sync", hello_sync)])
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def servers(work: Path) -> dict[str, tuple[list[str], str]]:
    """name -> (command with {port}, path to hit)."""
    (work / "pf_app.py").write_text(PORTABLE_APP)
    (work / "main.py").write_text(FF_APP)
    (work / "star_app.py").write_text(STARLETTE_APP)
    py = sys.executable
    dev = [
        py,
        "-m",
        "portable_fn.cli",
        "dev",
        "pf_app.py",
        "--port",
        "{port}",
        "--state-dir",
        str(work / "state"),
    ]
    star = [
        py,
        "-m",
        "uvicorn",
        "star_app:app",
        "--port",
        "{port}",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    return {
        "functions-framework (gunicorn+Flask)": (
            [
                py,
                "-m",
                "functions_framework",
                "--target",
                "hello",
                "--source",
                "main.py",
                "--port",
                "{port}",
                "--host",
                "127.0.0.1",
            ],
            "/",
        ),
        "starlette + uvicorn (async def)": (star, "/hello"),
        "starlette + uvicorn (sync def)": (star, "/hello-sync"),
        "portable-fn dev (sync def)": (dev, "/hello"),
        "portable-fn dev (async def)": (dev, "/hello-async"),
    }


def start(cmd: list[str], path: str, work: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(work)])}
    log = (work / "server.log").open("wb")  # stdout to a file: as cheap as /dev/null
    proc = subprocess.Popen(
        [c.replace("{port}", str(port)) for c in cmd],
        cwd=work,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    url = f"http://127.0.0.1:{port}{path}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.1)
    stop(proc)
    tail = (work / "server.log").read_text(errors="replace")[-3000:]
    raise RuntimeError(f"server did not answer: {' '.join(cmd)}\n{tail}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(url: str, duration: int, connections: int) -> tuple[float, float, float]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", url],
        capture_output=True,
        text=True,
        timeout=duration + 30,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors against {url}:\n{out}")
    return rps, p50, p99


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk", file=sys.stderr)
        return 2
    results: dict[str, list[tuple[float, float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        table = servers(work)
        rng = random.Random(0)
        for round_no in range(args.rounds):
            order = list(table)
            rng.shuffle(order)
            for name in order:
                cmd, path = table[name]
                proc, url = start(cmd, path, work)
                try:
                    wrk(url, 1, args.connections)  # warm-up
                    results.setdefault(name, []).append(wrk(url, args.duration, args.connections))
                finally:
                    stop(proc)
            print(f"round {round_no + 1}/{args.rounds} done", file=sys.stderr)
    base = "functions-framework (gunicorn+Flask)"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"\nwrk -t1 -c{args.connections} -d{args.duration}s, {args.rounds} rounds, medians, "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {load:.1f}\n"
    )
    print("| server | req/s | p50 ms | p99 ms | req/s vs functions-framework |")
    print("|---|---:|---:|---:|---:|")
    for name in sorted(results, key=lambda n: statistics.median(r[0] for r in results[n])):
        runs = results[name]
        rps = statistics.median(r[0] for r in runs)
        p50 = statistics.median(r[1] for r in runs)
        p99 = statistics.median(r[2] for r in runs)
        # Ratio within each round, then the median: drift between rounds cancels out.
        ratio = statistics.median(r[0] / b[0] for r, b in zip(runs, results[base], strict=True))
        print(f"| {name} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {ratio:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
