# SPDX-License-Identifier: Apache-2.0
"""Cloudflare Workers, side by side under the same Pyodide (npm ``pyodide`` in Node, with the
real ``workers`` SDK): time per ``fetch`` through portable-fn's Worker against a plain
``WorkerEntrypoint.fetch`` doing the same work, and the entry's import time.

    python benchmarks/bench_cloudflare.py [--fetches 200] [--rounds 11] [--imports 5]

Per fetch: both Workers answer ``GET /orders/{order_id}`` with ``{"id": ...}`` as JSON; the
plain one routes by splitting the path. The driver times ``--fetches`` back-to-back fetches
(real JS ``Request`` in, the SDK's ``Response`` out, its body read) per variant call; variants
are interleaved in shuffled rounds by ``benchmarks/_harness.py`` and reported as ratios.
Import: a fresh Node + Pyodide per run; the driver times ``import workers`` (the SDK), then the
generated entry on top of it (core + adapter + app), after Pyodide itself has booted.
Needs: ``npm ci`` in adapters/cloudflare, ``pip install -e . -e "adapters/cloudflare[test]"``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "adapters" / "cloudflare" / "tests")]

from _harness import Result, compare, print_table  # noqa: E402
from pyodide_worker import PyodideWorker, unpack_sdk  # noqa: E402

APP = """
import portable_fn as pf

app = pf.App("bench")


@app.http("/orders/{order_id}", methods=["GET"], auth="anonymous")
def get_order(req):
    return {"id": req.path_params["order_id"]}
"""

PLAIN = """
import json
from urllib.parse import urlsplit

from workers import Response, WorkerEntrypoint


class Plain(WorkerEntrypoint):
    async def fetch(self, request):
        parts = urlsplit(request.url).path.split("/")
        if request.method == "GET" and len(parts) == 3 and parts[1] == "orders":
            return Response(json.dumps({"id": parts[2]}),
                            headers={"content-type": "application/json"})
        return Response('{"error": "not found"}', status=404)


Default = Plain
"""

URL = "https://bench.example.workers.dev/orders/o-123"


def build(workdir: Path) -> Path:
    """Package the bench app with the real target, and add the plain Worker beside it."""
    import importlib

    from portable_fn_cloudflare.adapter import adapter

    (workdir / "bench_app.py").write_text(APP)
    sys.path.insert(0, str(workdir))
    app = importlib.import_module("bench_app").app
    dist = workdir / "dist"
    adapter.package(app, "bench_app:app", dist)
    (dist / "src" / "plain_entry.py").write_text(PLAIN)
    return dist


def per_fetch(worker: PyodideWorker, args: argparse.Namespace) -> None:
    def run(module: str) -> object:
        return worker.call(
            "bench", module=module, className="Default", number=args.fetches, method="GET", url=URL
        )

    results = compare(
        {
            "plain WorkerEntrypoint.fetch": lambda: run("plain_entry"),
            "portable-fn worker_entrypoint": lambda: run("entry"),
        },
        "plain WorkerEntrypoint.fetch",
        number=1,
        rounds=args.rounds,
        title=f"per variant call ({args.fetches} fetches, incl. one driver round trip)",
    )
    print_table(
        [Result(r.name, r.median / args.fetches, r.ratio, "µs/fetch") for r in results],
        "Time per fetch under Pyodide 0.28 (Node 20)",
    )


def imports(sdk: Path, dist: Path, runs: int) -> None:
    """Cold imports, each in a fresh Node + Pyodide: the SDK first (what any Python Worker
    pays), then the generated entry on top of it (core, adapter, app); both timed in the same
    runtime, so the split does not suffer from run-to-run noise."""
    sdk_ms: list[float] = []
    rest_ms: list[float] = []
    boot: list[float] = []
    for _ in range(runs):
        worker = PyodideWorker(sdk, dist, preload=("workers",))
        try:
            sdk_ms.append(float(worker.ready["preload_ms"]["workers"]))
            rest_ms.append(float(worker.ready["entry_import_ms"]))
            boot.append(float(worker.ready["load_ms"]))
        finally:
            worker.close()
    total = [a + b for a, b in zip(sdk_ms, rest_ms, strict=True)]
    rows = [
        Result("Pyodide boot (loadPyodide)", statistics.median(boot), float("nan"), "ms"),
        Result(
            "import workers (the SDK every Python Worker loads)",
            statistics.median(sdk_ms),
            1.0,
            "ms",
        ),
        Result(
            "+ generated entry (core + adapter + app)",
            statistics.median(rest_ms),
            statistics.median(r / s for r, s in zip(rest_ms, sdk_ms, strict=True)),
            "ms",
        ),
        Result(
            "portable-fn entry, total",
            statistics.median(total),
            statistics.median(t / s for t, s in zip(total, sdk_ms, strict=True)),
            "ms",
        ),
    ]
    print_table(rows, f"Entry import under Pyodide, cold, median of {runs} fresh runtimes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fetches", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--imports", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        sdk = unpack_sdk(workdir / "sdk")
        dist = build(workdir)
        worker = PyodideWorker(sdk, dist)
        try:
            answers = [
                worker.call("bench", module=entry, number=1, method="GET", url=URL)["last"]
                for entry in ("entry", "plain_entry")
            ]
            if answers[0]["status"] != 200 or json.loads(answers[0]["body"]) != json.loads(
                answers[1]["body"]
            ):
                raise SystemExit(f"the two Workers answer differently: {answers}")
            per_fetch(worker, args)
        finally:
            worker.close()
        imports(sdk, dist, args.imports)


if __name__ == "__main__":
    main()
