"""``@app.middleware`` is part of the portability invariant: through every installed adapter's
harness (the provider's native request and events, its own runtime where it runs here), the
same middleware wraps the same handlers and changes their results the same way."""

from __future__ import annotations

from typing import Any

import portable_fn as pf
from portable_fn.events import CloudEvent
from portable_fn.testing import Harness, http_request


def _app() -> tuple[pf.App, list[str]]:
    app = pf.App("wrapped")
    seen: list[str] = []

    @app.http("/orders/{order_id}", methods=["GET"], auth="anonymous")
    def get_order(req: pf.Request) -> dict[str, Any]:
        if req.path_params["order_id"] == "gone":
            raise LookupError("no such order")
        return {"id": req.path_params["order_id"]}

    @app.queue("jobs")
    def job(event: pf.CloudEvent) -> None:
        seen.append(f"job:{event.data['n']}")
        if event.data["n"] < 0:
            raise ValueError("negative")

    # Registered after the functions, as an app's middleware module often is.
    @app.middleware("http")
    def answers(req: pf.Request, ctx: pf.Context, call_next: Any) -> pf.Response:
        try:
            response: pf.Response = call_next(req, ctx)
        except LookupError as exc:
            return pf.Response.json({"error": str(exc)}, status=404)
        return response.with_headers({"x-order-service": "v2"})

    @app.middleware("queue")
    def around(event: pf.CloudEvent, ctx: pf.Context, call_next: Any) -> Any:
        seen.append(f"before:{event.data['n']}")
        result = call_next(event, ctx)
        seen.append(f"after:{event.data['n']}")
        return result

    return app, seen


def test_http_middleware_changes_the_response_the_same_everywhere(harness: Harness) -> None:
    app, _ = _app()
    found = harness.http(app, http_request("GET", "/orders/7"))
    assert (found.status, found.headers.get("x-order-service")) == (200, "v2")
    gone = harness.http(app, http_request("GET", "/orders/gone"))
    assert gone.status == 404 and b"no such order" in gone.body


def test_event_middleware_wraps_each_message_and_its_failure_stays_its_own(
    harness: Harness,
) -> None:
    app, seen = _app()
    events = [
        CloudEvent(id=f"m{n}", source="/test", type="com.example.job", data={"n": n})
        for n in (1, -2, 3)
    ]
    assert harness.deliver(app, "job", events) == [True, False, True]
    assert [s for s in seen if not s.startswith("job")] == [
        "before:1", "after:1", "before:-2", "before:3", "after:3"
    ]
