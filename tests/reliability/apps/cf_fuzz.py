"""The app adapters/cloudflare/tests/test_fuzz.py packages into a Python Worker.

Every message the queue handler processes is reported by sending one message to ``processed``,
which the Pyodide driver records: from outside the Worker, that is how the test knows which
messages ran. Only ``portable_fn`` is imported: the module runs inside Pyodide.
"""

from __future__ import annotations

from typing import Any

import portable_fn as pf

app = pf.App("cffuzz")


@app.queue("jobs", max_retries=3, dead_letter="jobs-dlq")
def job(event: pf.CloudEvent) -> None:
    pf.send("processed", {"id": event.id})


@app.queue("processed")
def processed(event: pf.CloudEvent) -> None:
    """Declares the ``processed`` queue (and so the Worker's producer binding for it)."""


@app.http("/{path+}", methods=["GET", "POST", "PUT"], auth="anonymous")
def web(req: pf.Request) -> dict[str, Any]:
    return {"path": req.path, "json": req.json() if req.body else None}
