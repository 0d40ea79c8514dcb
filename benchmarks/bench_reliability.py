# SPDX-License-Identifier: Apache-2.0
"""What reliability costs per event and at cold start (issue 7), side by side in one run:

1. one event through ``dispatch_event``: a plain handler; the same with a dataclass and with a
   pydantic model parameter (validated ``event.data``); idempotent with the memory store and
   with the SQLite store (first delivery: acquire + complete, two write transactions, fsync'd);
   and a duplicate that the SQLite store acknowledges without running;
2. cold start: ``import portable_fn`` with a small app, against the same app with an idempotent
   function, and with a dataclass-validated handler.

Run: ``python benchmarks/bench_reliability.py`` (pydantic installed).
"""

from __future__ import annotations

import itertools
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pydantic

import portable_fn as pf
from benchmarks._harness import compare, import_cost
from portable_fn.adapter import Context, dispatch_event
from portable_fn.idempotency import MemoryStore, SQLiteStore
from portable_fn.log import set_level

DATA = {"order": "o-1", "sku": "book", "qty": 2, "tags": ["a", "b"]}


@dataclass(frozen=True)
class Order:
    order: str
    sku: str
    qty: int
    tags: list[str]


class OrderModel(pydantic.BaseModel):
    order: str
    sku: str
    qty: int
    tags: list[str]


def build(folder: Path) -> tuple[pf.App, pf.App, pf.App]:
    plain, memory, sqlite = pf.App("plain"), pf.App("memory"), pf.App("sqlite")
    memory.use_idempotency_store(MemoryStore())
    sqlite.use_idempotency_store(SQLiteStore(folder / "idem.sqlite3"))

    @plain.queue("jobs")
    def raw(event: pf.CloudEvent) -> None: ...

    @plain.queue("typed")
    def typed(order: Order) -> None: ...

    @plain.queue("modeled")
    def modeled(order: OrderModel) -> None: ...

    for app in (memory, sqlite):

        @app.queue("jobs", idempotent=True)
        def once(event: pf.CloudEvent) -> None: ...

    return plain, memory, sqlite


def bench_dispatch() -> None:
    set_level("ERROR")
    folder = Path(tempfile.mkdtemp())
    plain, memory, sqlite = build(folder)
    ids = itertools.count()
    ctx = {name: Context(provider="bench", function_name=name, invocation_id="1")
           for name in ("raw", "typed", "modeled", "once")}

    def event() -> pf.CloudEvent:
        return pf.CloudEvent(id=str(next(ids)), source="/bench", type="t", data=DATA)

    duplicate = event()
    dispatch_event(sqlite, "once", duplicate, ctx["once"])
    compare(
        {
            "plain handler": lambda: dispatch_event(plain, "raw", event(), ctx["raw"]),
            "dataclass parameter": lambda: dispatch_event(plain, "typed", event(), ctx["typed"]),
            "pydantic parameter": lambda: dispatch_event(
                plain, "modeled", event(), ctx["modeled"]
            ),
            "idempotent, memory store": lambda: dispatch_event(
                memory, "once", event(), ctx["once"]
            ),
            "idempotent, SQLite store": lambda: dispatch_event(
                sqlite, "once", event(), ctx["once"]
            ),
            "duplicate, SQLite store": lambda: dispatch_event(
                sqlite, "once", duplicate, ctx["once"]
            ),
        },
        "plain handler",
        number=300,
        rounds=11,
        title="One event through dispatch_event (µs per event; ratio to a plain handler)",
    )


APP = (
    "import portable_fn as pf\n"
    "app = pf.App('shop')\n"
    "@app.http('/orders/{order_id}')\n"
    "def get(req): return {}\n"
)


def bench_import() -> None:
    import_cost(
        {
            "app": APP + "@app.queue('jobs')\ndef job(event): pass\n",
            "app + idempotent queue function": APP
            + "@app.queue('jobs', idempotent=True)\ndef job(event): pass\n",
            "app + dataclass-validated function": "from dataclasses import dataclass\n"
            + APP
            + "@dataclass\nclass M:\n    x: int\n@app.queue('jobs')\ndef job(m: M): pass\n",
            "dataclasses alone": "import dataclasses",
        },
        baseline="app",
        runs=20,
        title="Cold start (ms over a bare interpreter; ratio to the plain app)",
    )


if __name__ == "__main__":
    bench_dispatch()
    bench_import()
