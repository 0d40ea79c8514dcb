"""The one portable app of the contract suite: every handler records what it saw."""

from __future__ import annotations

from typing import Any

import portable_fn as pf

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\xff\xfe"


def build() -> tuple[pf.App, list[dict[str, Any]]]:
    """A fresh app and the list its handlers append observations to."""
    app = pf.App("contract")
    seen: list[dict[str, Any]] = []

    @app.http("/items/{item_id}", methods=["GET", "POST"], auth="anonymous")
    def item(req: pf.Request) -> pf.Response:
        seen.append(
            {
                "method": req.method,
                "path": req.path,
                "item_id": req.path_params["item_id"],
                "query_q": req.query.getall("q"),
                "header": req.headers.get("X-Custom-Header"),
                "cookies": req.cookies,
                "body": req.body,
            }
        )
        return pf.Response.json(
            {"id": req.path_params["item_id"], "ok": True},
            status=201,
            headers=[("X-Reply", "yes"), ("Set-Cookie", "a=1; Path=/"),
                     ("Set-Cookie", "b=2; HttpOnly")],
        )

    @app.http("/image", auth="anonymous")
    def image(req: pf.Request) -> pf.Response:
        return pf.Response.binary(PNG, content_type="image/png")

    @app.http("/boom", auth="anonymous")
    def boom(req: pf.Request) -> None:
        raise RuntimeError("secret detail")

    @app.topic("orders")
    def on_order(event: pf.CloudEvent, ctx: pf.Context) -> None:
        seen.append({"fn": "on_order", "event": event, "provider": ctx.provider})

    @app.queue("jobs", max_retries=4)
    def on_job(event: pf.CloudEvent) -> None:
        if isinstance(event.data, dict) and event.data.get("fail"):
            raise RuntimeError("job failed")
        seen.append({"fn": "on_job", "event": event})

    @app.schedule("rate(5 minutes)")
    def tick(event: pf.CloudEvent) -> None:
        seen.append({"fn": "tick", "event": event})

    @app.storage("uploads", on=("created", "deleted"))
    def stored(event: pf.CloudEvent) -> None:
        seen.append({"fn": "stored", "event": event})

    return app, seen
