"""Cold start is the product: what ``import portable_fn`` loads, in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
before = set(sys.modules)
import portable_fn
app = portable_fn.App("probe")
@app.http("/orders/{order_id}")
def get(req): return {}
@app.queue("jobs")
def job(event): pass
@app.schedule(cron="0 3 * * *")
def nightly(event): pass
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def loaded_by_import() -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], check=True, capture_output=True, text=True
    ).stdout
    return list(json.loads(out))


def test_import_loads_only_the_standard_library() -> None:
    new = loaded_by_import()
    third_party = [
        m for m in new
        if m.split(".")[0] not in sys.stdlib_module_names and not m.startswith("portable_fn")
    ]
    assert third_party == []


def test_import_avoids_heavy_standard_modules() -> None:
    new = set(loaded_by_import())
    heavy = {"asyncio", "dataclasses", "inspect", "threading", "sqlite3", "subprocess",
             "logging", "uuid", "urllib.parse", "traceback", "random", "http.cookies"}
    assert new & heavy == set()


def test_import_has_no_side_effects() -> None:
    probe = (
        "import os, sys, logging; env = dict(os.environ); out = sys.stdout; "
        "handlers = list(logging.getLogger().handlers); import portable_fn; "
        "assert dict(os.environ) == env and sys.stdout is out; "
        "assert logging.getLogger().handlers == handlers"
    )
    subprocess.run([sys.executable, "-c", probe], check=True)
