# SPDX-License-Identifier: Apache-2.0
"""HTTP handlers that log (the shop's do not), for the log-line tests on the Worker."""

from __future__ import annotations

import portable_fn as pf

app = pf.App("http-logs")


@app.http("/greet/{name}", methods=["GET"], auth="anonymous")
def greet(req: pf.Request, ctx: pf.Context) -> dict[str, str]:
    pf.logger.info("greeting", who=req.path_params["name"])
    ctx.logger.info("greeted", who=req.path_params["name"])
    return {"hello": req.path_params["name"]}


@app.http("/fail", methods=["GET"], auth="anonymous")
def fail(req: pf.Request) -> None:
    raise RuntimeError("secret internal detail")
