# SPDX-License-Identifier: Apache-2.0
"""Handlers that report ``ctx.deadline`` and ``ctx.remaining_time``, for the limits tests."""

from __future__ import annotations

import portable_fn as pf

app = pf.App("limits-app")


def _report(ctx: pf.Context) -> None:
    pf.send("deadlines", {"deadline": ctx.deadline, "remaining": ctx.remaining_time})


@app.schedule("0 3 * * *", timeout=120)
def nightly(event: pf.CloudEvent, ctx: pf.Context) -> None:
    _report(ctx)


@app.queue("work", timeout=60)
def work(event: pf.CloudEvent, ctx: pf.Context) -> None:
    _report(ctx)


@app.queue("deadlines")
def deadlines(event: pf.CloudEvent) -> None:
    """Declares the ``deadlines`` queue, so the Worker has a producer binding for it."""


@app.http("/left", methods=["GET"], auth="anonymous", timeout=30)
def left(req: pf.Request, ctx: pf.Context) -> dict[str, float | None]:
    return {"deadline": ctx.deadline, "remaining": ctx.remaining_time}
