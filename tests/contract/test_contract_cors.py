"""CORS through every adapter (and the core as reference): the same preflight answer and the
same headers on actual and error responses, whatever the provider's native shapes.

Protocol: https://fetch.spec.whatwg.org/#http-cors-protocol (preflight: OPTIONS with Origin and
Access-Control-Request-Method; section 3.2.5 for Vary).
"""

from __future__ import annotations

import json

import portable_fn as pf
from portable_fn.testing import Harness, http_request

SITE = "https://app.example.com"


def build() -> pf.App:
    app = pf.App("corsapp", cors=pf.CORS(allow_origins=(SITE,), allow_credentials=True,
                                         expose_headers=("X-Reply",), max_age=60))

    @app.http("/items/{item_id}", methods=["GET", "PUT"], auth="anonymous")
    def item(req: pf.Request) -> pf.Response:
        if req.path_params["item_id"] == "boom":
            raise RuntimeError("secret detail")
        return pf.Response.json({"id": req.path_params["item_id"]}, headers={"X-Reply": "yes"})

    @app.http("/plain", auth="anonymous", cors=False)
    def plain(req: pf.Request) -> str:
        return "plain"

    return app


def test_preflight_is_answered_the_same_everywhere(harness: Harness) -> None:
    response = harness.http(build(), http_request("OPTIONS", "/items/1", headers={
        "Origin": SITE, "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "content-type"}))
    assert response.status == 204
    headers = response.headers
    assert headers["access-control-allow-origin"] == SITE
    assert headers["access-control-allow-credentials"] == "true"
    assert headers["access-control-allow-methods"] == "GET, PUT"
    assert headers["access-control-max-age"] == "60"
    assert "content-type" in headers["access-control-allow-headers"].lower()
    assert headers["vary"] == "Origin"


def test_actual_and_error_responses_carry_cors_headers(harness: Harness) -> None:
    app = build()
    ok = harness.http(app, http_request("GET", "/items/1", headers={"Origin": SITE}))
    assert ok.status == 200 and json.loads(ok.body) == {"id": "1"}
    assert ok.headers["access-control-allow-origin"] == SITE
    assert ok.headers["access-control-expose-headers"] == "X-Reply"
    failed = harness.http(app, http_request("GET", "/items/boom", headers={"Origin": SITE}))
    assert failed.status == 500 and b"secret detail" not in failed.body
    assert failed.headers["access-control-allow-origin"] == SITE


def test_routes_without_cors_and_plain_options_are_unchanged(harness: Harness) -> None:
    app = build()
    other = harness.http(app, http_request("GET", "/plain", headers={"Origin": SITE}))
    assert other.status == 200
    assert "access-control-allow-origin" not in other.headers
    refused = harness.http(app, http_request("OPTIONS", "/plain", headers={
        "Origin": SITE, "Access-Control-Request-Method": "GET"}))
    assert refused.status == 405
    assert "access-control-allow-origin" not in refused.headers
