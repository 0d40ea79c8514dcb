# SPDX-License-Identifier: Apache-2.0
"""Azure adapter against a plain v2 function (``../shared/reference/performance-anchors.md``).

- HTTP per invocation: a plain ``azure.functions`` v2 HTTP function (parse the JSON body, return
  a JSON ``HttpResponse``) vs the function portable-fn generates for the same handler, both
  called as the worker calls them, on the same ``HttpRequest`` built by the library's converter
  (the worker builds that object for either, so it is outside the timing);
- cold start: importing the generated ``function_app.py`` of ``examples/shop`` (package on
  ``sys.path`` as the worker puts it) vs ``import azure.functions`` (target: under +10 ms), and
  the entry point object the CLI loads; then the same delta timed inside each interpreter.

Run: ``python -m benchmarks.bench_azure`` from the repository root.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import azure.functions as func

import portable_fn as pf
from benchmarks._harness import compare, import_cost
from portable_fn_azure import function_app, worker

BODY = json.dumps({"sku": "book", "n": 2}).encode()
INVOCATION = {"binding": "httpTrigger", "data": {"type": "http", "value": {
    "method": "POST", "url": "https://bench.azurewebsites.net/orders",
    "headers": {"accept": "application/json", "content-type": "application/json",
                "content-length": str(len(BODY)), "host": "bench.azurewebsites.net",
                "user-agent": "curl/8.4.0", "x-forwarded-for": "203.0.113.7:50123",
                "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
    "query": {}, "params": {},
    "body": {"type": "bytes", "value": BODY}}}}


def plain_v2() -> Any:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

    @app.route(route="orders", methods=["POST"])
    def create(req: func.HttpRequest) -> func.HttpResponse:
        order = req.get_json()
        return func.HttpResponse(json.dumps({"ok": True, "n": order["n"]}),
                                 mimetype="application/json")

    return app


def portable() -> pf.App:
    app = pf.App("bench")

    @app.http("/orders", methods=["POST"])
    def create(req: pf.Request) -> dict[str, Any]:
        return {"ok": True, "n": req.json()["n"]}

    return app


def main() -> None:
    request = worker.decode(INVOCATION)
    context = worker.InvocationContext("create")
    plain = worker.index(plain_v2())["create"].get_user_function()
    generated = worker.index(function_app(portable()))["create"].get_user_function()
    assert json.loads(plain(request).get_body()) == json.loads(
        generated(req=request, context=context).get_body())

    compare({"plain v2 function": lambda: plain(request),
             "portable-fn generated function": lambda: generated(req=request, context=context)},
            "plain v2 function", number=20_000,
            title="HTTP per invocation: parse JSON body, return JSON (function call, µs)")

    from examples.shop.app import app as shop
    from portable_fn_azure.adapter import adapter

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "azure"
        with contextlib.redirect_stdout(sys.stderr):
            adapter.package(shop, "examples/shop/app.py", out)
        path = f"import sys; sys.path.insert(0, {str(out)!r}); "
        entry = path + "import function_app"
        # The same package minus this adapter: what the core and the app cost on their own
        # (the entry loads portable_fn.adapter, the dispatch API, on a first invocation only).
        without_adapter = path + "import azure.functions, app"
        import_cost({"import azure.functions": "import azure.functions",
                     "generated function_app.py (examples/shop)": entry,
                     "azure.functions + core + shop module (no adapter)": without_adapter,
                     "import portable_fn_azure.adapter (CLI entry point)":
                         "import portable_fn_azure.adapter"},
                    baseline="import azure.functions", runs=30,
                    title="Cold start: import cost (ms over a bare interpreter)")
        _entry_delta(path)


def _entry_delta(path: str, runs: int = 30) -> None:
    """The delta itself, timed inside each interpreter: ``import function_app`` once
    ``azure.functions`` is loaded. Differencing two whole-interpreter timings (above) leaves
    the noise of both on a busy machine; this leaves only the entry's own (wall and CPU time)."""
    code = path + ("import azure.functions, time; wall, cpu = time.perf_counter(), "
                   "time.process_time(); import function_app; print((time.perf_counter() - "
                   "wall) * 1e3, (time.process_time() - cpu) * 1e3)")
    runs_out = [
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                       text=True).stdout.split()
        for _ in range(runs)]
    print("\n### Cold start: import function_app.py after azure.functions, in-process (ms, "
          f"{runs} interpreters)\n")
    print("| clock | median | 25th percentile | min |")
    print("|---|---:|---:|---:|")
    for index, clock in enumerate(("wall", "CPU")):
        samples = sorted(float(fields[index]) for fields in runs_out)
        print(f"| {clock} | {statistics.median(samples):.2f} | "
              f"{samples[len(samples) // 4]:.2f} | {samples[0]:.2f} |")


if __name__ == "__main__":
    main()
