# SPDX-License-Identifier: Apache-2.0
"""A test app that sends to a queue and publishes to a topic another app consumes, and sends
to one it names at run time: it consumes none of them."""

from __future__ import annotations

from typing import Any

import portable_fn as pf

app = pf.App("sender")


@app.http("/go", methods=["POST"], auth="anonymous")
def go(req: pf.Request) -> dict[str, Any]:
    pf.send("billing", {"amount": 5})
    pf.publish("audit", {"what": "go"})
    return {"ok": True}


@app.http("/route", methods=["POST"], auth="anonymous")
def route(req: pf.Request) -> dict[str, Any]:
    pf.send(req.json()["queue"], {"routed": True})
    return {"ok": True}
