# SPDX-License-Identifier: Apache-2.0
"""A test app with CORS routes, for the preflight on the real Worker runtime."""

from __future__ import annotations

import portable_fn as pf

SITE = "https://app.example.com"
app = pf.App("corscf", cors=pf.CORS(allow_origins=(SITE,), expose_headers=("X-Order-Id",)))


@app.http("/orders/{order_id}", methods=["GET", "PUT"], auth="anonymous")
def order(req: pf.Request) -> pf.Response:
    if req.path_params["order_id"] == "missing":
        raise pf.NotFound("no such order")
    return pf.Response.json({"id": req.path_params["order_id"]},
                            headers={"X-Order-Id": req.path_params["order_id"]})
