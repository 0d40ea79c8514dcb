# SPDX-License-Identifier: Apache-2.0
"""GCP adapter overhead, side by side in one run (issue #4, "Done means" 4).

    python benchmarks/bench_gcp.py [--duration 5] [--connections 8] [--rounds 5]

1. Requests/second under the real runtime: functions-framework (its CLI: gunicorn + Flask, one
   process, its defaults) serving (a) a plain ``@functions_framework.http`` hello-world function
   and (b) the same handler written with portable-fn, packaged by ``portable-fn package`` (the
   generated ``main.py``). wrk (Debian ``wrk``; 1 thread, ``--connections``) drives each for
   ``--duration`` seconds, servers in a shuffled order each round after a 1 s warm-up; the
   table gives median req/s and the median per-round ratio to the plain function.
   Goal: portable >= 0.90x plain (our overhead under 10%).
2. The same two functions in process, through functions-framework's own Flask wiring and
   Flask's test client (``benchmarks/_harness.compare``): µs per request, no network noise.
3. Cold start: ``import main`` of the generated packages against ``import
   functions_framework`` (``_harness.import_cost``, fresh interpreters), and what ``import
   main`` adds once functions-framework is loaded (timed in-process). Goal: < +10 ms.

Needs: ``pip install -e . -e adapters/gcp``, ``apt-get install wrk``.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._harness import compare, import_cost  # noqa: E402

PORTABLE_APP = """
import portable_fn as pf

app = pf.App("hello")


@app.http("/hello", methods=["GET"], auth="anonymous")
def hello(req):
    return {"hello": "world"}
"""
PLAIN_MAIN = """
import functions_framework


@functions_framework.http
def hello(request):
    return {"hello": "world"}
"""


def _package(workdir: Path) -> tuple[Path, Path]:
    from portable_fn._local.loader import load_app
    from portable_fn_gcp.adapter import adapter

    src = workdir / "src"
    src.mkdir()
    (src / "hello_app.py").write_text(PORTABLE_APP)
    portable = workdir / "portable"
    ref = f"{src / 'hello_app.py'}:app"
    adapter.package(load_app(ref), ref, portable)
    plain = workdir / "plain"
    plain.mkdir()
    (plain / "main.py").write_text(PLAIN_MAIN)
    return plain, portable


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _serve(source: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "functions_framework",
            "--source",
            str(source / "main.py"),
            "--target",
            "hello",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=source,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/hello"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server for {source} did not start")


def _wrk(url: str, duration: float, connections: int) -> float:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None or "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk run failed:\n{out}")
    return float(match.group(1))


def requests_per_second(plain: Path, portable: Path, args: argparse.Namespace) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is required: apt-get install -y wrk")
    servers = {"functions-framework (plain)": _serve(plain), "portable-fn gcp": _serve(portable)}
    samples: dict[str, list[float]] = {name: [] for name in servers}
    try:
        for _, url in servers.values():
            _wrk(url, 1, args.connections)  # warm-up
        order = list(servers)
        rng = random.Random(0)
        for _ in range(args.rounds):
            rng.shuffle(order)
            for name in order:
                samples[name].append(_wrk(servers[name][1], args.duration, args.connections))
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=10)
    base = samples["functions-framework (plain)"]
    print("\n### HTTP under functions-framework (wrk, req/s)\n")
    print("| variant | req/s (median) | ratio to plain |")
    print("|---|---:|---:|")
    for name, values in samples.items():
        ratio = statistics.median(v / b for v, b in zip(values, base, strict=True))
        print(f"| {name} | {statistics.median(values):,.0f} | {ratio:.3f} |")


def _client(source: Path, module_name: str) -> Any:
    import importlib.util

    import flask
    import functions_framework

    spec = importlib.util.spec_from_file_location(module_name, source / "main.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(source))
    spec.loader.exec_module(module)
    native = flask.Flask(module_name)
    functions_framework._configure_app(native, module.hello, "http")
    return native.test_client()


def in_process(plain: Path, portable: Path, args: argparse.Namespace) -> None:
    clients = {
        "functions-framework (plain)": _client(plain, "plain_main"),
        "portable-fn gcp": _client(portable, "portable_main"),
    }
    for client in clients.values():
        response = client.get("/hello")
        assert response.status_code == 200 and response.get_json() == {"hello": "world"}
    compare(
        {name: (lambda c=client: c.get("/hello")) for name, client in clients.items()},
        "functions-framework (plain)",
        number=args.number,
        title="One request in process (Flask test client through functions-framework's wiring)",
    )


def entry_breakdown(portable: Path, args: argparse.Namespace) -> None:
    """The entry function called directly inside a Flask request context, against what Flask
    does for the plain function's return value (``make_response(dict)``): the adapter's and
    core's own cost per request, with no server or test client around it."""
    import flask

    sys.path.insert(0, str(portable))
    import main  # the generated module

    from portable_fn_gcp import http as codec

    native = flask.Flask("breakdown")
    with native.test_request_context("/hello", headers={"User-Agent": "wrk"}):
        request = flask.request._get_current_object()
        compare(
            {
                "plain: flask make_response(dict)": lambda: native.make_response(
                    {"hello": "world"}
                ),
                "portable: whole entry (request in, response out)": lambda: main.hello(request),
                "portable: to_request only": lambda: codec.to_request(request),
            },
            "plain: flask make_response(dict)",
            number=args.number * 5,
            title="The entry alone, inside a request context (µs per request)",
        )


def cold_start(workdir: Path) -> None:
    from portable_fn._local.loader import load_app
    from portable_fn_gcp.adapter import adapter

    shop = workdir / "shop"
    sys.path.insert(0, str(ROOT))
    adapter.package(load_app("examples.shop.app:app"), "examples.shop.app:app", shop)
    hello = workdir / "portable"
    import_cost(
        {
            "import functions_framework": "import functions_framework",
            "import main (hello, generated)": _import_main(hello),
            "import main (shop, generated)": _import_main(shop),
        },
        runs=30,
        title="Cold start: importing the generated main.py (ms over a bare interpreter)",
    )


def _import_main(folder: Path) -> str:
    return f"import sys; sys.path.insert(0, {str(folder)!r}); import main"


def own_import_time(workdir: Path, runs: int = 30) -> None:
    """What ``import main`` adds once functions-framework is loaded (its loader imports main.py
    into a process that has imported the framework already): timed inside fresh interpreters
    around that one statement, interleaved. The wall-clock table above carries the noise of two
    whole interpreters (~130-190 ms each here) for a difference of ~10 ms; ``-X importtime``,
    used before, adds its own cost to every module it reports."""
    print("\n### Cold start, isolated: `import main` after `import functions_framework`\n")
    print("| package | ms, median of runs | 25th percentile | fastest |")
    print("|---|---:|---:|---:|")
    timed = (
        "import time, functions_framework; started = time.perf_counter(); import main; "
        "print((time.perf_counter() - started) * 1e3)"
    )
    samples: dict[str, list[float]] = {"portable": [], "shop": []}
    for _ in range(runs):
        for name, values in samples.items():
            out = subprocess.run(
                [sys.executable, "-c", timed],
                cwd=workdir / name,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            values.append(float(out.split()[-1]))
    for name, values in samples.items():
        label = "hello (generated)" if name == "portable" else "shop (generated)"
        quartile = sorted(values)[len(values) // 4]
        print(f"| {label} | {statistics.median(values):.1f} | {quartile:.1f} | {min(values):.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--number", type=int, default=2000)
    parser.add_argument(
        "--parts", default="rps,inproc,cold", help="comma-separated subset of rps,inproc,cold"
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        plain, portable = _package(workdir)
        if "rps" in parts:
            requests_per_second(plain, portable, args)
        if "inproc" in parts:
            in_process(plain, portable, args)
            entry_breakdown(portable, args)
        if "cold" in parts:
            cold_start(workdir)
            own_import_time(workdir)


if __name__ == "__main__":
    main()
